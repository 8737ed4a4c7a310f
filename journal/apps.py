import time

from django.apps import AppConfig


class JournalConfig(AppConfig):
    """The trade journal: capture, the spool, import and export, reviews, analytics."""

    name = "journal"
    verbose_name = "Trade journal"

    def ready(self):
        from backoffice import health

        health.register_check("spool", check_spool)


# An append that failed this recently (a full disk) keeps readiness failing until an
# append or the probe succeeds again.
SPOOL_ERROR_MEMORY_SECONDS = 60


def check_spool() -> dict:
    """The spool's backlog, the age of its oldest trade and its quarantined lines; fails
    when the spool cannot be written (a small file written and synced as a probe).

    A backlog is not a failure: the trades are safe on disk and the periodic replay
    (journal.tasks) drains it within seconds of the database answering.
    """
    from backoffice.health import CheckFailed
    from journal.services import get_spool
    from journal.spool import SpoolError

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
