import time

from django.apps import AppConfig


class JournalConfig(AppConfig):
    """The trade journal: capture, the spool, import and export, reviews, analytics."""

    name = "journal"
    verbose_name = "Trade journal"

    def ready(self):
        from backoffice.core.ops import health, prometheus

        health.register_check("spool", check_spool)
        prometheus.register_gauge(
            "journal_spool_backlog_trades",
            "Trades in the spool waiting for replay_spool (the database was down).",
            lambda: spool_figures()[0],
        )
        prometheus.register_gauge(
            "journal_spool_replay_lag_seconds",
            "Age of the oldest spooled trade not yet replayed; 0 with an empty spool.",
            lambda: spool_figures()[1],
        )


def spool_figures() -> tuple[int, float]:
    """(trades waiting, seconds since the oldest of them was spooled; 0 when none)."""
    from journal.write.capture import get_spool

    backlog = get_spool().backlog()
    oldest = backlog["oldest_spooled_at"]
    return backlog["trades"], 0.0 if oldest is None else max(0.0, time.time() - oldest)


# An append that failed this recently (a full disk) keeps readiness failing until an
# append or the probe succeeds again.
SPOOL_ERROR_MEMORY_SECONDS = 60


def check_spool() -> dict:
    """The spool's backlog, the age of its oldest trade and its quarantined lines; fails
    when the spool cannot be written (a small file written and synced as a probe).

    A backlog is not a failure: the trades are safe on disk and the periodic replay
    (journal.tasks) drains it within seconds of the database answering.
    """
    from backoffice.core.ops.health import CheckFailed
    from journal.write.capture import get_spool
    from journal.write.spool import SpoolError

    spool = get_spool()
    try:
        spool.writable()
    except SpoolError as exc:
        raise CheckFailed(str(exc)) from None
    failed = spool.last_error
    if failed is not None and time.time() - failed[0] < SPOOL_ERROR_MEMORY_SECONDS:
        raise CheckFailed(
            f"the last spool write failed {time.time() - failed[0]:.0f} s ago: {failed[1]}"
        )
    backlog = spool.backlog()
    oldest = backlog["oldest_spooled_at"]
    return {
        "backlog": backlog["trades"],
        "files": backlog["files"],
        "oldest_age_seconds": round(time.time() - oldest, 1) if oldest else None,
        "quarantined_files": len(spool.quarantined()),
    }
