"""Reads and upkeep of the prediction records (serving.models.PredictionRecord)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from serving.live.recorder import parse_prediction_id, record_time
from serving.models import PredictionRecord

PRUNE_BATCH = 10_000


@dataclass(frozen=True)
class RecordedPrediction:
    """One row of a recorded request: what a prediction id names."""

    prediction_id: str
    record: PredictionRecord
    row: int

    @property
    def inputs(self) -> dict[str, float | None] | None:
        """The row's features by name (None when its inputs were not kept)."""
        values = self.record.inputs
        if not isinstance(values, list) or self.row >= len(values):
            return None
        names = self.record.model_version.feature_names
        # jsonb keeps numbers as decimals: 1e308 reads back as an integer of 309 digits,
        # the same float64 once converted.
        row = [None if v is None else float(v) for v in values[self.row]]
        return dict(zip(names, row, strict=False))

    @property
    def output(self) -> float | None:
        outputs = self.record.outputs
        return outputs[self.row] if isinstance(outputs, list) and self.row < len(outputs) else None


def prediction_find(*, prediction_id: str) -> RecordedPrediction | None:
    """The recorded prediction an id names, or None: not an id, not sampled, past the
    retention, or not yet written (records reach the table within about a second).

    The id carries its record's time, so the lookup reads one chunk of the hypertable.
    """
    parsed = parse_prediction_id(prediction_id)
    if parsed is None:
        return None
    record_id, row = parsed
    record = (
        PredictionRecord.objects.filter(pk=record_id, requested_at=record_time(record_id))
        .select_related("model_version")
        .first()
    )
    if record is None or row >= record.rows:
        return None
    return RecordedPrediction(prediction_id=prediction_id, record=record, row=row)


def records_prune(*, now: datetime | None = None) -> int:
    """Delete the records older than SERVING_RECORD_RETENTION_DAYS; the number deleted.

    Where TimescaleDB is installed its retention policy drops whole chunks instead, and
    this does nothing. Deletes in batches, so that no statement holds many rows' locks.
    """
    if connection.vendor == "postgresql" and connection.timescale_installed:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=settings.SERVING_RECORD_RETENTION_DAYS)
    deleted = 0
    while True:
        ids = list(
            PredictionRecord.objects.filter(requested_at__lt=cutoff).values_list("pk", flat=True)[
                :PRUNE_BATCH
            ]
        )
        if not ids:
            return deleted
        deleted += PredictionRecord.objects.filter(pk__in=ids).delete()[0]
