import logging

from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The project package as an app: its commands (demo) and templates."""

    name = "backoffice"
    verbose_name = "Back office"

    def ready(self):
        # Python warnings go through logging, so that they too are JSON lines.
        logging.captureWarnings(True)
        from backoffice.core.db import money  # noqa: F401 - SQLite's exact decimal_sum
        from backoffice.core.ops import recovery
        from backoffice.core.ops.prometheus import prepare_multiprocess_directory

        # Before any figure is written: a command (demo), a Celery worker or a test run
        # with the variable set but the folder not made yet crashed at its first one.
        prepare_multiprocess_directory()
        # /readyz and /metrics: the WAL archive and the backups; the read replica.
        recovery.register()
        recovery.register_replica()
