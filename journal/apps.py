import os

from django.apps import AppConfig


class JournalConfig(AppConfig):
    """The trade journal and the desk records."""

    name = "journal"
    verbose_name = "Trade journal"

    def ready(self):
        from backoffice import health, prometheus

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
    """(trades waiting, seconds since the oldest of them was spooled)."""
    import json
    import time

    from journal.services import get_spool
    from journal.spool import ACTIVE_PREFIX, SEALED_PREFIX, SUFFIX

    spool = get_spool()
    oldest = None
    if spool.directory.exists():
        for path in spool.directory.glob(f"*{SUFFIX}"):
            if not path.name.startswith((ACTIVE_PREFIX, SEALED_PREFIX)):
                continue
            try:
                with path.open("rb") as handle:
                    first = handle.readline()
                stamp = float(json.loads(first)["spooled_at"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            oldest = stamp if oldest is None else min(oldest, stamp)
    lag = 0.0 if oldest is None else max(0.0, time.time() - oldest)
    return spool.backlog()["trades"], lag


def check_spool() -> dict:
    """The spool's backlog (trades waiting for replay_spool); fails if it is not writable.

    A backlog is not a failure: the web tier is ready, and the trades are safe on disk;
    operators see the figure here and in the admin.
    """
    from backoffice.health import CheckFailed
    from journal.services import get_spool

    spool = get_spool()
    try:
        spool.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckFailed(f"the spool directory {spool.directory}: {exc.strerror}") from None
    if not os.access(spool.directory, os.W_OK):
        raise CheckFailed(f"the spool directory {spool.directory} is not writable")
    backlog = spool.backlog()
    return {
        "backlog": backlog["trades"],
        "files": backlog["files"],
        "rejected": spool.rejected_count(),
    }
