"""Warm-up: load the versions behind the `production` aliases before traffic needs them.

``Runtime.warm()`` (serving.predict.runtime) runs ``warm_production_aliases`` from
gunicorn's ``post_worker_init`` hook (each worker loads its own copy), or on the first
prediction of a worker started without the hook. Nothing here ever raises: a database
or artifact problem is logged and serving goes on. Each function is given the process's
runtime (``rt``): its predictors and resolver.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connections

from models_registry import selectors
from models_registry.errors import RegistryError
from serving.errors import ModelUnavailable
from serving.served import ServedVersion

logger = logging.getLogger(__name__)

_threads_limited = False  # the pools are the process's: capped once


def limit_threads() -> None:
    """Cap BLAS and OpenMP pools (scikit-learn, numpy) to SERVING_PREDICT_THREADS.

    XGBoost and LightGBM get their thread count per model (serving.predict.predictors); this
    covers what the libraries start on their own. Once per process.
    """
    global _threads_limited
    if _threads_limited:
        return
    _threads_limited = True
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=settings.SERVING_PREDICT_THREADS)
    except Exception as exc:  # a missing or odd BLAS must not stop serving
        logger.warning("could not cap library thread pools", extra={"error": str(exc)[:200]})


def _import_frameworks() -> None:
    """Import XGBoost and LightGBM now: the first import takes a second or two, which
    would otherwise land on the first model's load time and on its request."""
    for module in ("xgboost", "lightgbm"):
        try:
            __import__(module)
        except ImportError:
            logger.warning("framework not importable", extra={"framework": module})


def warm_production_aliases(rt, aliases: list[str] | None = None) -> list[dict]:
    """Load every model's version behind ``aliases`` (SERVING_WARM_ALIASES by default).

    Returns one dict per version: model, alias, version, and ``loaded`` or ``error``.
    """
    limit_threads()
    _import_frameworks()
    names = aliases if aliases is not None else list(settings.SERVING_WARM_ALIASES)
    try:
        pairs = selectors.aliased_versions(aliases=names)
    except DatabaseError as exc:
        logger.warning("warm-up skipped: database unavailable", extra={"error": str(exc)[:200]})
        return []
    report = []
    for alias, version in pairs:
        served = ServedVersion.of(version)
        row = {"model": served.model, "alias": alias, "version": served.version}
        try:
            loaded = rt.predictors.get(served, count_hit=False)
            row.update(
                loaded=True,
                load_ms=loaded.load_ms,
                predictor="compiled" if loaded.compiled else "booster",
                compiled_refused=loaded.compiled_refused,
            )
        except ModelUnavailable as exc:
            row.update(loaded=False, error=str(exc))
        report.append(row)
    logger.info(
        "warm-up done",
        extra={"aliases": names, "loaded": sum(r["loaded"] for r in report), "total": len(report)},
    )
    return report


def warm_one(rt, *, model: str, alias: str | None, version: int | None) -> dict:
    """Load one model's version (by alias or number) into this process."""
    served = rt.resolver.resolve(model=model, alias=alias, version=version)
    loaded = rt.predictors.get(served, count_hit=False)
    return {
        "model": served.model,
        "version": served.version,
        "loaded": True,
        "load_ms": loaded.load_ms,
        "predictor": "compiled" if loaded.compiled else "booster",
    }


def warm_from_stamp(rt, stamp: dict) -> None:
    """Another process asked every worker to warm: do it off the request path."""

    def run():
        try:
            if stamp.get("model"):
                warm_one(
                    rt, model=stamp["model"], alias=stamp.get("alias"), version=stamp.get("version")
                )
            else:
                warm_production_aliases(rt, stamp.get("aliases"))
        except (RegistryError, ModelUnavailable, DatabaseError) as exc:
            logger.warning("warm-up on request failed", extra={"error": str(exc)[:300]})
        finally:
            connections.close_all()  # this thread's own database connection

    threading.Thread(target=run, name="serving-warm", daemon=True).start()
