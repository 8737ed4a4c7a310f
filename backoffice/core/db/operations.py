"""Migration operations for TimescaleDB features that must also apply without it."""

from django.db import migrations


def timescale_installed(schema_editor) -> bool:
    """True on PostgreSQL with the timescaledb extension installed."""
    connection = schema_editor.connection
    return connection.vendor == "postgresql" and getattr(connection, "timescale_installed", False)


class RunSQLIfTimescale(migrations.RunSQL):
    """RunSQL that runs only where TimescaleDB is installed, and is a no-op elsewhere.

    Compression, retention and continuous aggregates have no equivalent on plain
    PostgreSQL or SQLite; there the same figures come from ordinary queries.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if timescale_installed(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if timescale_installed(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL where TimescaleDB is installed"


class RunSQLIfPostgreSQL(migrations.RunSQL):
    """RunSQL that runs on PostgreSQL (with or without TimescaleDB), a no-op on SQLite:
    indexes the embedded default has no use for (pattern operator classes, GIN)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL on PostgreSQL"
