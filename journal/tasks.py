"""The journal's periodic jobs (Celery, scheduled by settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task

from journal.analytics import summary
from journal.statements import jobs
from journal.write.replay import spool_drain

logger = logging.getLogger(__name__)


@shared_task(name="journal.drain_spool", ignore_result=True)
def drain_spool() -> dict | None:
    """Replay the spool when it holds trades and the database answers (every few
    seconds): spooled trades reach the database without an operator."""
    outcome = spool_drain()
    return None if outcome is None else outcome.summary()


@shared_task(name="journal.compact_trade_summary", ignore_result=True)
def compact_trade_summary() -> tuple[int, int]:
    """Fold the daily summary's rows of past days (hourly)."""
    return summary.compact()


@shared_task(name=jobs.TASK, ignore_result=True)
def run_statement(statement_id: int) -> str | None:
    """Run a broker statement's waiting step, its dry run or its import
    (journal.statements.jobs); a step another runner claimed is left to it."""
    return jobs.run_job(statement_id, runner=jobs.WORKER)
