"""The decision history refuses UPDATE and DELETE (PostgreSQL); TimescaleDB policies."""

from django.db import migrations

from backoffice.core.db.operations import RunSQLIfTimescale, timescale_installed
from desk import timescale


def _run(schema_editor, sql):
    # A cursor without parameters: the function body's '%' is not a placeholder.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def immutable_decisions(apps, schema_editor):
    _run(schema_editor, timescale.IMMUTABLE_DECISIONS_SQL)


def mutable_decisions(apps, schema_editor):
    _run(schema_editor, timescale.DROP_IMMUTABLE_DECISIONS_SQL)


def apply_policies(apps, schema_editor):
    if timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            timescale.apply_policies(cursor)


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_initial")]

    operations = [
        migrations.RunPython(immutable_decisions, mutable_decisions),
        RunSQLIfTimescale(
            timescale.DECISION_COMPRESSION_SQL,
            "ALTER TABLE desk_decision SET (timescaledb.compress = false)",
        ),
        migrations.RunPython(apply_policies, migrations.RunPython.noop),
    ]
