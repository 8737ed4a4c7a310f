"""The project's own periodic jobs (settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from backoffice.core.ops import recovery


@shared_task(name="backoffice.record_backup_info")
def record_backup_info() -> dict | None:
    """The newest pgBackRest backup, for /readyz and /metrics (backoffice.core.ops.recovery)."""
    return recovery.record_backup_info()
