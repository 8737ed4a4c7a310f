"""Metrics for operators: a Prometheus endpoint at /metrics, across gunicorn's workers.

Every figure is defined here, once; the apps call the ``observe_*`` functions and
register their scrape-time figures (gauges read when Prometheus asks: the spool's
backlog, the approval queue) with ``register_gauge`` from their AppConfig.ready.

Under gunicorn each worker is a process of its own, so counters live in
prometheus_client's multiprocess mode: every process writes its values to memory-mapped
files in PROMETHEUS_MULTIPROC_DIR, and a scrape, answered by any worker, sums them.
backoffice/gunicorn.conf.py sets that directory (under BACKOFFICE_VAR_DIR unless given),
empties it when the server starts and marks a worker's files dead when it exits. Without
the variable (runserver, tests), the figures are the process's own.

/metrics is not public: it answers ``Authorization: Bearer <token>`` with
PROMETHEUS_SCRAPE_TOKEN (a secret), or a staff session whose user holds
``backoffice.view_metrics`` (the Operator group; superusers): the figures name models,
routes and volumes that a reviewer has no business reading.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from backoffice.core.api.errors import error_response

logger = logging.getLogger(__name__)

# Seconds: a cached prediction takes about a millisecond, a trade page tens of them.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

REQUEST_SECONDS = Histogram(
    "backoffice_http_request_duration_seconds",
    "Time from the request's arrival in Django to its answer, by URL route and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "serving_predictions",
    "Prediction requests answered, by model, version and cache hit or miss.",
    ["model", "version", "cache"],
)
PREDICTION_ROWS = Counter(
    "serving_prediction_rows", "Rows predicted, by model and version.", ["model", "version"]
)
MODEL_LOADS = Counter(
    "serving_model_loads",
    "Model versions loaded into a worker (outcome loaded) or failing to (outcome failed).",
    ["model", "version", "outcome"],
)
PREDICTION_RECORDS = Counter(
    "serving_prediction_records",
    "Prediction records by outcome: written, dropped_full (the worker's queue was full), "
    "dropped_unavailable (the database did not take them), refused (the database refused "
    "the record), not_sampled (left out by SERVING_RECORD_SAMPLE_RATE).",
    ["outcome"],
)
COMPILED_FALLBACKS = Counter(
    "serving_compiled_fallbacks",
    "Loads that refused a version's compiled predictor and served its booster instead, "
    "by reason (artifact: missing or changed; platform: built elsewhere; load: fails).",
    ["model", "version", "reason"],
)
RISK_VERDICTS = Counter(
    "desk_risk_verdicts", "Trade ideas judged by the risk gate, by verdict.", ["status"]
)

# name -> (help, function giving the value); read at every scrape (register_gauge).
_gauges: dict[str, tuple[str, Callable[[], float | None]]] = {}


def prepare_multiprocess_directory() -> None:
    """Make the folder PROMETHEUS_MULTIPROC_DIR names, if it is set and missing: every
    process that starts Django (gunicorn's workers, manage.py commands, Celery) writes
    its figures there from its first one. Raises ImproperlyConfigured, naming the
    variable, when it cannot be made (a file in the way, no permission)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if not directory:
        return
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR={directory} cannot be used: {exc.strerror or exc}"
        ) from None


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def observe_prediction(served, *, cached: bool, rows: int) -> None:
    version = str(served.version)
    PREDICTIONS.labels(served.model, version, "hit" if cached else "miss").inc()
    PREDICTION_ROWS.labels(served.model, version).inc(rows)


def observe_records(deltas: dict[str, int]) -> None:
    """Counts of prediction records since the last call, by outcome (serving.live.recorder)."""
    for outcome, count in deltas.items():
        if count > 0:
            PREDICTION_RECORDS.labels(outcome).inc(count)


def observe_model_load(served, *, ok: bool) -> None:
    MODEL_LOADS.labels(served.model, str(served.version), "loaded" if ok else "failed").inc()


def observe_compiled_fallback(served, *, reason: str) -> None:
    COMPILED_FALLBACKS.labels(served.model, str(served.version), reason).inc()


def observe_verdict(status: str) -> None:
    RISK_VERDICTS.labels(status).inc()


def register_gauge(name: str, help_text: str, read: Callable[[], float | None]) -> None:
    """A figure read when Prometheus scrapes (None: not known now, left out)."""
    _gauges[name] = (help_text, read)


class _ScrapeTimeCollector:
    """The registered gauges, each read now; one failing leaves out only itself."""

    def collect(self):
        for name, (help_text, read) in _gauges.items():
            try:
                value = read()
            except Exception as exc:  # a database outage must not break the scrape
                logger.warning(
                    "metric unavailable", extra={"metric": name, "error": str(exc)[:200]}
                )
                value = None
            if value is not None:
                yield GaugeMetricFamily(name, help_text, value=float(value))
            yield GaugeMetricFamily(
                f"{name}_up",
                f"1 when {name} could be read at this scrape.",
                value=float(value is not None),
            )


def exposition() -> bytes:
    """Every figure in Prometheus' text format: all workers' counters, and the gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_ScrapeTimeCollector())
    return generate_latest(registry) + generate_latest(gauges)


def _may_read(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(METRICS_PERMISSION)
    )


def _error(status: int, detail: str, code: str) -> JsonResponse:
    response = error_response(status, detail, code)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


METRICS_PERMISSION = "backoffice.view_metrics"


@never_cache
@require_GET
def metrics_view(request):
    """GET /metrics: the scrape token as a bearer token, or a staff session with
    METRICS_PERMISSION."""
    token = settings.PROMETHEUS_SCRAPE_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer":
        if not token or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _error(401, "invalid scrape token", "authentication_failed")
    elif not _may_read(request.user):
        if request.user.is_authenticated:
            return _error(
                403,
                f"the metrics need a staff session with the permission {METRICS_PERMISSION!r} "
                "(the Operator group), or the scrape token",
                "permission_denied",
            )
        return _error(
            401,
            "send Authorization: Bearer <PROMETHEUS_SCRAPE_TOKEN>, or log in as staff",
            "not_authenticated",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
