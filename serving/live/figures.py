"""A model version judged live: the trades its predictions caused, its calibration, its
traffic, and the drift of its inputs from its training data.

Attribution: a closed trade names its idea (``idea_id``), the idea the prediction it
came from (``prediction_id``, ``<record id>-<row>``); the trade belongs to the version
that made that recorded prediction, and the prediction's output is its predicted
probability. An idea whose prediction was not recorded (left out by the sampling, past
the retention) is attributed by the idea's own ``model_version`` label, and stays out
of the calibration (its probability is unknown). Trades count in the period they
closed in; traffic and drift in the period the predictions were made in.

The maths: serving.live.judging (trades, R, calibration), models_registry.domain.profiles (PSI).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.apps import apps
from django.conf import settings
from django.db.models import Case, Count, F, FloatField, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from models_registry.domain.profiles import feature_psi
from models_registry.models import ModelVersion, OutputKind
from serving.live.judging import Calibration, LiveTrade, TradeFigures, calibration, trade_figures
from serving.live.recorder import parse_prediction_id, record_time
from serving.models import PredictionRecord

# The most closed trades and latencies one judgement reads (the newest).
MAX_TRADES = 50_000
MAX_LATENCIES = 50_000


@dataclass(frozen=True)
class Volume:
    recorded: int = 0  # records in the period
    requests: float = 0.0  # the requests they stand for (each 1 / its sampling rate)
    rows: float = 0.0
    cached_share: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    per_day: list[tuple[str, float]] = field(default_factory=list)  # (UTC day, requests)


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float | None


@dataclass(frozen=True)
class Drift:
    known: bool
    reason: str = ""
    source: str = ""
    reference_rows: int = 0
    live_rows: int = 0
    features: list[FeatureDrift] = field(default_factory=list)
    max_psi: float | None = None
    worst_feature: str = ""


@dataclass
class Performance:
    version: ModelVersion
    since: datetime
    until: datetime
    trades: TradeFigures
    calibration: Calibration | None  # None: the version's output is not a probability
    volume: Volume
    drift: Drift
    marks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.version.model.name}@{self.version.version}"

    def as_dict(self) -> dict:
        return {
            "model": self.version.model.name,
            "version": self.version.version,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "training_metrics": self.version.metrics or {},
            "trades": self.trades.as_dict(),
            "calibration": None if self.calibration is None else self.calibration.as_dict(),
            "volume": asdict(self.volume),
            "drift": asdict(self.drift),
            "marks": self.marks,
            "thresholds": thresholds(),
        }


def thresholds() -> dict:
    return {
        "psi_max": settings.MODEL_HEALTH_PSI_MAX,
        "calibration_error_max": settings.MODEL_HEALTH_CALIBRATION_ERROR_MAX,
        "brier_max": settings.MODEL_HEALTH_BRIER_MAX,
        "min_trades": settings.MODEL_HEALTH_MIN_TRADES,
    }


def version_performance(
    *, version: ModelVersion, days: int | None = None, now: datetime | None = None
) -> Performance:
    """The live figures of ``version`` over the last ``days`` (MODEL_HEALTH_WINDOW_DAYS)."""
    return versions_performance(versions=[version], days=days, now=now)[version.pk]


def versions_performance(
    *, versions: Sequence[ModelVersion], days: int | None = None, now: datetime | None = None
) -> dict[int, Performance]:
    """The live figures of several versions, the trades read once for all of them."""
    until = now or timezone.now()
    since = until - timedelta(days=days or settings.MODEL_HEALTH_WINDOW_DAYS)
    live = live_trades(versions=versions, since=since, until=until)
    out = {}
    for version in versions:
        trades = live.get(version.pk, [])
        calib = None
        if version.output_kind == OutputKind.PROBABILITY:
            calib = calibration((t.probability, t.pnl > 0) for t in trades)
        performance = Performance(
            version=version,
            since=since,
            until=until,
            trades=trade_figures(trades),
            calibration=calib,
            volume=volume(version=version, since=since, until=until),
            drift=drift(version=version, since=since, until=until),
        )
        performance.marks = marks(performance)
        out[version.pk] = performance
    return out


def marks(performance: Performance) -> list[str]:
    """What is past the configured thresholds: "drift", "calibration"."""
    found = []
    drift_ = performance.drift
    if drift_.max_psi is not None and drift_.max_psi >= settings.MODEL_HEALTH_PSI_MAX:
        found.append("drift")
    calib = performance.calibration
    if calib is not None and calib.trades >= settings.MODEL_HEALTH_MIN_TRADES:
        if (calib.ece is not None and calib.ece >= settings.MODEL_HEALTH_CALIBRATION_ERROR_MAX) or (
            calib.brier is not None and calib.brier >= settings.MODEL_HEALTH_BRIER_MAX
        ):
            found.append("calibration")
    return found


def live_trades(
    *, versions: Sequence[ModelVersion], since: datetime, until: datetime
) -> dict[int, list[LiveTrade]]:
    """The closed trades of the period that came from each version's predictions."""
    if not apps.is_installed("desk") or not versions:
        return {}
    from desk.selectors import idea_sources
    from journal.selectors import closed_idea_trades

    wanted = {v.pk for v in versions}
    by_label = {f"{v.model.name}@{v.version}": v.pk for v in versions}
    trades = closed_idea_trades(since=since, until=until, limit=MAX_TRADES)
    ideas = idea_sources(idea_ids={t[0] for t in trades})
    named = {pk: parse_prediction_id(pid) for pk, (pid, _) in ideas.items() if pid}
    records = _records(r[0] for r in named.values() if r is not None)
    out: dict[int, list[LiveTrade]] = defaultdict(list)
    for idea_id, side, entry, exit_price, stop, pnl in trades:
        version_pk, probability, source = None, None, None
        prediction = named.get(idea_id)
        if prediction is not None and prediction[0] in records:
            version_pk, outputs = records[prediction[0]]
            row = prediction[1]
            source = prediction
            if isinstance(outputs, list) and row < len(outputs) and outputs[row] is not None:
                probability = float(outputs[row])
        elif idea_id in ideas:
            version_pk = by_label.get(ideas[idea_id][1])
        if version_pk in wanted:
            out[version_pk].append(
                LiveTrade(side, entry, exit_price, stop, pnl, probability, source)
            )
    return out


def _records(record_ids) -> dict:
    """record id -> (version pk, outputs), read in the chunks their ids' times name."""
    ids = set(record_ids)
    if not ids:
        return {}
    times = [record_time(record_id) for record_id in ids]
    rows = PredictionRecord.objects.filter(
        pk__in=ids, requested_at__gte=min(times), requested_at__lte=max(times)
    ).values_list("id", "model_version_id", "outputs")
    return {record_id: (version_pk, outputs) for record_id, version_pk, outputs in rows}


def _weighted(expression) -> Sum:
    return Sum(expression / F("sample_rate"), output_field=FloatField())


def volume(*, version: ModelVersion, since: datetime, until: datetime) -> Volume:
    """Requests, rows and latency of the version's recorded predictions in the period."""
    records = PredictionRecord.objects.filter(
        model_version_id=version.pk, requested_at__gte=since, requested_at__lt=until
    )
    totals = records.aggregate(
        recorded=Count("pk"),
        requests=_weighted(Value(1.0)),
        rows=_weighted(F("rows") * 1.0),
        cached=_weighted(Case(When(cached=True, then=Value(1.0)), default=Value(0.0))),
    )
    if not totals["recorded"]:
        return Volume()
    per_day = (
        records.annotate(day=TruncDate("requested_at"))
        .values("day")
        .annotate(requests=_weighted(Value(1.0)))
        .order_by("day")
    )
    latencies = np.array(
        records.order_by("-requested_at").values_list("latency_ms", flat=True)[:MAX_LATENCIES],
        dtype=np.float64,
    )
    p50, p95, p99 = (float(v) for v in np.percentile(latencies, [50, 95, 99]))
    return Volume(
        recorded=totals["recorded"],
        requests=round(totals["requests"], 1),
        rows=round(totals["rows"], 1),
        cached_share=totals["cached"] / totals["requests"],
        latency_p50_ms=round(p50, 3),
        latency_p95_ms=round(p95, 3),
        latency_p99_ms=round(p99, 3),
        per_day=[(row["day"].isoformat(), round(row["requests"], 1)) for row in per_day],
    )


def drift(*, version: ModelVersion, since: datetime, until: datetime) -> Drift:
    """The PSI of each feature of the newest recorded rows (at most
    MODEL_HEALTH_DRIFT_ROWS) against the version's feature profile."""
    profile = version.feature_profile or {}
    if not profile.get("features"):
        return Drift(
            known=False,
            reason="no training distribution was kept for this version: run `manage.py "
            f"profile_model {version.model.name} {version.version} --reference FILE.csv` "
            "with a sample of its training data",
        )
    names = version.feature_names
    limit = settings.MODEL_HEALTH_DRIFT_ROWS
    rows: list[list] = []
    records = PredictionRecord.objects.filter(
        model_version_id=version.pk, requested_at__gte=since, requested_at__lt=until
    ).order_by("-requested_at")
    for inputs in records.values_list("inputs", flat=True).iterator(chunk_size=500):
        if isinstance(inputs, list):
            rows.extend(row for row in inputs if isinstance(row, list) and len(row) == len(names))
        if len(rows) >= limit:
            break
    base = {
        "source": str(profile.get("source", "")),
        "reference_rows": int(profile.get("rows", 0)),
        "live_rows": min(len(rows), limit),
    }
    if not rows:
        return Drift(known=False, reason="no recorded predictions in this period", **base)
    matrix = np.array(rows[:limit], dtype=np.float64)  # jsonb's decimals as float64 again
    features = []
    for index, name in enumerate(names):
        reference = profile["features"].get(name)
        value = None if reference is None else feature_psi(reference, matrix[:, index])
        features.append(FeatureDrift(name, None if value is None else round(value, 4)))
    known = [f for f in features if f.psi is not None]
    worst = max(known, key=lambda f: f.psi) if known else None
    return Drift(
        known=True,
        features=features,
        max_psi=worst.psi if worst else None,
        worst_feature=worst.feature if worst else "",
        **base,
    )
