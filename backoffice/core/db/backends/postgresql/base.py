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

from backoffice.core.db.backends.postgresql.schema import DatabaseSchemaEditor

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
            cursor.execute(
                "SELECT current_setting('shared_preload_libraries') LIKE '%%timescaledb%%', "
                "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
            )
            preloaded, available = cursor.fetchone()
            if not available:
                return
            if not preloaded:
                # Installed but not preloaded: CREATE EXTENSION would end the session
                # (a FATAL error). The database works as plain PostgreSQL, as the README
                # promises, and says so.
                logger.warning(
                    "timescaledb is installed but not in shared_preload_libraries; running "
                    "as plain PostgreSQL (no hypertables, compression or policies)"
                )
                return
            try:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            except DatabaseError as exc:
                # No right to create it here: plain PostgreSQL too, said once.
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
