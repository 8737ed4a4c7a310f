import os

from django.apps import AppConfig


class JournalConfig(AppConfig):
    """The trade journal and the desk records."""

    name = "journal"
    verbose_name = "Trade journal"

    def ready(self):
        from backoffice import health

        health.register_check("spool", check_spool)


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
