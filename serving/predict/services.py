"""The prediction service: resolve the version, validate the rows, answer from the cache
or the model, and log the outcome."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings

from backoffice.core.api.parsers import JSONBody
from backoffice.core.ops.logconf import log_after_response, request_context
from backoffice.core.ops.prometheus import observe_prediction
from serving.errors import ModelUnavailable
from serving.inputs import parse_rows
from serving.live import challenger_routing
from serving.live.recorder import Entry, new_record_id, prediction_ids
from serving.models import Protocol
from serving.predict import bounds
from serving.predict.hotswap import STAMP_KEYS
from serving.predict.runtime import current
from serving.served import ServedVersion

logger = logging.getLogger("serving.predictions")


@dataclass(frozen=True)
class Prediction:
    served: ServedVersion
    alias: str | None
    predictions: list[float | None]
    cached: bool
    duration_ms: float
    # Milliseconds spent parsing the rows, in the shared cache and in the model (the
    # answer's Server-Timing header).
    timings: dict[str, float] = field(default_factory=dict)
    # The id of this request's record (a UUID v7 as an integer); recorded or not, it
    # names the answer's predictions (serving.live.recorder).
    record_id: int = 0
    # "challenger" when the alias's canary answered (serving.live.challenger_routing), "champion"
    # when its version did beside a challenger, "" without one.
    role: str = ""

    @property
    def record_hex(self) -> str:
        return f"{self.record_id:032x}"

    @property
    def prediction_ids(self) -> list[str]:
        """One id a row, in row order: ``<record id>-<row>``."""
        return prediction_ids(self.record_id, len(self.predictions))

    def server_timing(self, *, render_started: float) -> str:
        """The Server-Timing header: parse, cache, predict, and the answer's rendering
        since ``render_started`` (a time.perf_counter() reading)."""
        render = (time.perf_counter() - render_started) * 1000
        stages = {**self.timings, "render": render}
        return ", ".join(f"{name};dur={ms:.3f}" for name, ms in stages.items())


RowsFrom = Callable[[ServedVersion], np.ndarray]


def prediction_make(
    *,
    model: str,
    alias: str | None,
    version: int | None,
    body: object = None,
    rows_from: RowsFrom | None = None,
    protocol: str = Protocol.PREDICT,
    caller: tuple[str, str] = ("", ""),
    requested_at: datetime | None = None,
    routing_key: str | None = None,
) -> Prediction:
    """Predict for the rows in ``body`` with ``model`` at ``version`` or ``alias``.

    ``body`` is the parsed JSON or a backoffice.core.api.parsers.JSONBody of the project's own
    forms; the other protocols (V2 tensors, MLflow's bodies) pass ``rows_from``
    instead: a function of the served version that gives its float64 rows in schema
    order or raises InvalidInput. Raises models_registry.errors.NotFound (404),
    serving.errors.InvalidInput or DRF's ParseError (400), or ModelUnavailable (503);
    nothing else reaches the caller.

    The answer carries its record id; ``protocol`` (serving.models.Protocol) and
    ``caller`` (the API key's name, the staff user's name) go into its record, which
    the worker's recorder writes later, if the sampling takes it. ``requested_at``
    dates the record (and the ids) other than now: the demo's past days.

    An alias with a challenger (serving.live.challenger_routing): a canary answers the requests
    whose ``routing_key`` falls in its share; whichever side did not answer scores a
    recorded request's rows later, off the request path (a shadow). The answer is the
    same with or without a shadow.
    """
    rt = current()
    started = time.perf_counter()
    rt.ensure_warm()
    timings = {"parse": 0.0, "cache": 0.0, "predict": 0.0}
    route, role, target = None, "", version
    if version is None:
        route = rt.resolver.route(model=model, alias=alias or "production")
        if route is not None:
            role = challenger_routing.answers(
                route, model=model, alias=alias or "production", key=routing_key
            )
            if role == "challenger":
                target = route.challenger.version
    served, rows, keys, values = _lookup(
        model=model, alias=alias, version=target, body=body, rows_from=rows_from, timings=timings
    )
    cached = values is not None
    if values is None:
        predict_started = time.perf_counter()
        values = _predict(served, rows)
        timings["predict"] = (time.perf_counter() - predict_started) * 1000
        rt.prediction_cache.observe(served, len(values), timings["predict"])
        for key in keys:
            rt.prediction_cache.put(key, values)
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    observe_prediction(served, cached=cached, rows=len(values))
    served_alias = None if version is not None else (alias or "production")
    record_id = new_record_id(requested_at)
    recorder = rt.recorder
    if recorder.sampled():
        context = request_context.get()
        entry = Entry(
            record_id,
            served,
            served_alias,
            protocol,
            rows,
            body if rows is None else None,
            values,
            cached,
            duration_ms,
            context.get("request_id", "") if context else "",
            caller[0],
            caller[1],
            settings.SERVING_RECORD_SAMPLE_RATE,
            role,
        )
        recorder.submit(entry)
        if route is not None:
            other = route.champion if role == "challenger" else route.challenger
            if other.id != served.id:
                rt.shadows.submit(challenger_routing.Shadow(entry, served, other))
    else:
        recorder.skip()
    log_after_response(
        logger,
        logging.INFO,
        "prediction",
        {
            "model": served.model,
            "version": served.version,
            "alias": served_alias,
            "rows": len(values),
            "cache": "hit" if cached else "miss",
            "duration_ms": duration_ms,
            "worker_pid": os.getpid(),
        },
    )
    return Prediction(
        served=served,
        alias=served_alias,
        predictions=values,
        cached=cached,
        duration_ms=duration_ms,
        timings=timings,
        record_id=record_id,
        role=role,
    )


class _Timer:
    """Adds the milliseconds of a ``with`` block to ``timings[name]``."""

    __slots__ = ("name", "started", "timings")

    def __init__(self, timings: dict[str, float], name: str):
        self.timings, self.name = timings, name

    def __enter__(self):
        self.started = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.name] += (time.perf_counter() - self.started) * 1000


def _lookup(*, model, alias, version, body, rows_from, timings):
    """(version, rows or None, keys to store under, cached predictions or None).

    At most one round trip in the common case: the alias stamps travel with the lookup,
    and a prediction too cheap to be worth a lookup (PredictionCache.worth_reading)
    makes none unless the stamps are due. A large
    body is first looked up by the hash of its bytes, before it is parsed; on a miss the
    rows are parsed and looked up by their canonical hash (a second round trip, cheap
    next to parsing and predicting a large body). When the stamps say the alias moved,
    the lookup starts again with the new version (once per move and worker).
    """
    rt = current()
    raw = body.raw if isinstance(body, JSONBody) else None
    served = rt.resolver.resolve(model=model, alias=alias, version=version, check=False)
    for _ in range(2):
        stamps = STAMP_KEYS if rt.resolver.stamps_due() else []
        raw_key = rt.prediction_cache.raw_key(served, raw) if raw is not None else None
        rows = key = None
        if raw_key is None:
            with _Timer(timings, "parse"):
                rows = _rows(body, served, rows_from)
                if rt.prediction_cache.worth_reading(served, len(rows)):
                    key = rt.prediction_cache.key(served, rows)
        first = raw_key or key
        if first is None and not stamps:
            # Nothing to read: what is queued (the throttle's counts) rides with the next
            # round trip, at the latest the stamps' (SERVING_ALIAS_CHECK_MS).
            found = {}
            break
        with _Timer(timings, "cache"):
            found = rt.exchange.run(([first] if first else []) + stamps)
        if stamps:
            rt.resolver.apply_stamps(
                None if found is None else {k: found[k] for k in STAMP_KEYS if k in found}
            )
            now_served = rt.resolver.resolve(model=model, alias=alias, version=version, check=False)
            if now_served.id != served.id:
                served = now_served
                continue
        break
    values = found.get(first) if found and first else None
    if values is None and raw_key is not None:
        with _Timer(timings, "parse"):
            rows = _rows(body, served, rows_from)
            key = rt.prediction_cache.key(served, rows)
        with _Timer(timings, "cache"):
            found = rt.exchange.run([key])
        values = found.get(key) if found else None
        if values is not None:
            rt.prediction_cache.put(raw_key, values)  # the next identical body skips parsing
    if first is not None:
        rt.prediction_cache.record(hit=values is not None)
    return served, rows, [k for k in (key, raw_key) if k], values


def _rows(body, served: ServedVersion, rows_from: RowsFrom | None):
    if rows_from is not None:
        return rows_from(served)
    max_rows = settings.SERVING_MAX_ROWS
    if isinstance(body, JSONBody):
        # Counted before it is parsed: a body of far more values than max_rows rows
        # would hold the worker for seconds in orjson's objects alone (serving.predict.bounds).
        bounds.check_json(
            body.raw,
            max_rows=max_rows,
            features=len(served.feature_names),
            max_values=settings.SERVING_MAX_VALUES,
        )
        body = body.parsed()
    return parse_rows(body, served.feature_names, max_rows=max_rows)


def _predict(served: ServedVersion, rows) -> list[float | None]:
    rt = current()
    loaded = rt.predictors.get(served)
    try:
        values = loaded.predictor.predict(rows)
    except Exception as exc:  # the model's own failure is this model's 503, not a 500
        logger.exception(
            "prediction failed", extra={"model": served.model, "version": served.version}
        )
        raise ModelUnavailable(
            f"model {served.label} failed to predict ({type(exc).__name__})"
        ) from None
    if not all(map(math.isfinite, values)):
        # JSON has no NaN: a non-finite output is reported as null.
        values = [v if math.isfinite(v) else None for v in values]
    return values
