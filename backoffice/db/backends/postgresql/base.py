"""PostgreSQL backend that uses TimescaleDB where the server has it, and runs without.

django-timescaledb's backend runs ``CREATE EXTENSION timescaledb`` on connection setup
and its schema editor queries ``timescaledb_information``; both fail on a server
without the extension. This backend asks the server once per connection whether the
extension is available and only then takes the TimescaleDB path, so the same
migrations apply on plain PostgreSQL (ordinary tables, same constraints and indexes).
"""

import logging

from django.db import DatabaseError
from timescale.db.backends.postgresql.base import DatabaseWrapper as TimescaleDatabaseWrapper

from backoffice.db.backends.postgresql.schema import DatabaseSchemaEditor

logger = logging.getLogger(__name__)


class DatabaseWrapper(TimescaleDatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._timescale_installed: bool | None = None

    def prepare_database(self):
        # Skip the parent's unconditional CREATE EXTENSION: it fails where the
        # extension is not available, which is a supported configuration here.
        super(TimescaleDatabaseWrapper, self).prepare_database()
        with self.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
            if cursor.fetchone() is None:
                return
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            except DatabaseError as exc:
                # Installed but not usable here: not preloaded (shared_preload_libraries),
                # or no right to create it. The database works as plain PostgreSQL, as
                # the README promises, and says so once per connection setup.
                first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                logger.warning(
                    "timescaledb is installed but cannot be created here; running as "
                    "plain PostgreSQL (no hypertables, compression or policies)",
                    extra={"error": first_line[:300]},
                )
        self._timescale_installed = None

    @property
    def timescale_installed(self) -> bool:
        """True when the timescaledb extension is installed in this database."""
        if self._timescale_installed is None:
            with self.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
                self._timescale_installed = cursor.fetchone() is not None
        return self._timescale_installed

    def close(self, *args, **kwargs):
        # A later connection may land on another database (a restore, a test run).
        self._timescale_installed = None
        return super().close(*args, **kwargs)
