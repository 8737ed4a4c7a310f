"""The desk's periodic jobs (Celery, scheduled by settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from desk.services import pnl_history


@shared_task(name="desk.refresh_pnl_history", ignore_result=True)
def refresh_pnl_history() -> list[str]:
    """Read the P&L before today again for the risk gate (every half minute), so that a
    submitted idea finds it in the cache."""
    today = timezone.now().date()
    return [str(figure) for figure in pnl_history(today, refresh=True)]
