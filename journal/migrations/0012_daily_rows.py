"""The daily rows of journal.analytics.aggregates replace the daily summary of 0004 (plain
PostgreSQL) and the continuous aggregate of 0002 (TimescaleDB): one definition of what is
summed and counted per day, at five grains, with R-multiples, holding time in seconds,
sides and hours.

Non-atomic: continuous aggregates are created, and refreshed over all history, outside
a transaction block (a refresh policy covers only recent days: without the full
refresh the history before the policy's window would be missing).
"""

import importlib

from django.db import migrations

from backoffice.core.db.operations import timescale_installed
from journal import timescale
from journal.analytics import summary

OLD_SUMMARY = importlib.import_module("journal.migrations.0004_daily_summary")
OLD_TIMESCALE = importlib.import_module("journal.migrations.0002_timescale")


def _plain_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql" and not timescale_installed(
        schema_editor
    )


def forward(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(OLD_SUMMARY.DROP_SQL)
            cursor.execute(summary.CREATE_SQL)
    elif timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {timescale.DAILY_PNL_VIEW}")
            for sql in timescale.CAGG_SQL.values():
                cursor.execute(sql)
            for sql in timescale.CAGG_INDEX_SQL.values():
                cursor.execute(sql)
            timescale.apply_policies(cursor)
            timescale.refresh_daily_rows(cursor)


def backward(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(summary.DROP_SQL)
            cursor.execute(OLD_SUMMARY.CREATE_SQL)
    elif timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            for view in timescale.CAGG_VIEWS.values():
                cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {view}")
            cursor.execute(OLD_TIMESCALE.DAILY_PNL_SQL)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("journal", "0011_open_trades")]

    operations = [migrations.RunPython(forward, backward)]
