"""The serving app's periodic jobs (Celery, scheduled by settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from serving.live.record_reads import records_prune


@shared_task(name="serving.prune_prediction_records", ignore_result=True)
def prune_prediction_records() -> int:
    """Delete prediction records past SERVING_RECORD_RETENTION_DAYS (hourly) where no
    TimescaleDB retention policy drops their chunks."""
    return records_prune()
