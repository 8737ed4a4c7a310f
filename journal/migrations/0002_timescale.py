"""TimescaleDB extras for trades: compression, the daily P&L aggregate, their policies.

Non-atomic: CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous) cannot run in a
transaction block. Everything here is a no-op without the extension.
"""

from django.db import migrations

from backoffice.db.operations import RunSQLIfTimescale, timescale_installed
from journal import timescale


def apply_policies(apps, schema_editor):
    if timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            timescale.apply_policies(cursor)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("journal", "0001_initial")]

    operations = [
        # create_hypertable made its own executed_at index; journal_trade_time_idx
        # (the same, named in the model) serves instead.
        RunSQLIfTimescale(
            "DROP INDEX IF EXISTS journal_trade_executed_at_idx", migrations.RunSQL.noop
        ),
        RunSQLIfTimescale(
            timescale.COMPRESSION_SQL,
            "ALTER TABLE journal_trade SET (timescaledb.compress = false)",
        ),
        RunSQLIfTimescale(
            timescale.DAILY_PNL_SQL,
            f"DROP MATERIALIZED VIEW IF EXISTS {timescale.DAILY_PNL_VIEW}",
        ),
        migrations.RunPython(apply_policies, migrations.RunPython.noop),
    ]
