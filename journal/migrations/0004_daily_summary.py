"""The daily summary of closed trades, kept by statement triggers (journal.analytics.summary).

Plain PostgreSQL only: TimescaleDB refuses transition tables on hypertables (there the
continuous aggregate of 0002 serves), and SQLite has no such triggers.
"""

from django.db import migrations

from backoffice.db.operations import timescale_installed
from journal.analytics import summary


def _plain_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql" and not timescale_installed(
        schema_editor
    )


def create(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(summary.CREATE_SQL)


def drop(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(summary.DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("journal", "0003_groups")]

    operations = [migrations.RunPython(create, drop)]
