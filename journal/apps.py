from django.apps import AppConfig


class JournalConfig(AppConfig):
    """The trade journal and the desk records."""

    name = "journal"
    verbose_name = "Trade journal"
