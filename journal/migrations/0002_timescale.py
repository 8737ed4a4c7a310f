"""TimescaleDB extras for trades: compression, the daily P&L aggregate, their policies.

Non-atomic: CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous) cannot run in a
transaction block. Everything here is a no-op without the extension.
"""

from django.conf import settings
from django.db import migrations

from backoffice.core.db.operations import RunSQLIfTimescale, timescale_installed
from journal import timescale

# As this migration made them: 0010 replaces the aggregate (journal.timescale now).
DAILY_PNL_SQL = """
    CREATE MATERIALIZED VIEW IF NOT EXISTS journal_daily_pnl
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket('1 day', executed_at) AS opened_day,
           (closed_at AT TIME ZONE 'UTC')::date AS closed_day,
           symbol, strategy, account,
           count(*) AS trades,
           count(*) FILTER (WHERE pnl > 0) AS wins,
           count(*) FILTER (WHERE pnl < 0) AS losses,
           sum(pnl) AS net_pnl,
           coalesce(sum(pnl) FILTER (WHERE pnl > 0), 0) AS gross_profit,
           coalesce(sum(pnl) FILTER (WHERE pnl < 0), 0) AS gross_loss,
           max(pnl) AS largest_win,
           min(pnl) AS largest_loss,
           sum(extract(epoch FROM closed_at - executed_at)) AS holding_seconds
    FROM journal_trade
    WHERE status = 'closed'
    GROUP BY opened_day, closed_day, symbol, strategy, account
    WITH NO DATA
"""


def apply_policies(apps, schema_editor):
    if timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            days = settings.JOURNAL_COMPRESS_AFTER_DAYS
            cursor.execute("SELECT remove_compression_policy('journal_trade', if_exists => true)")
            cursor.execute(
                "SELECT add_compression_policy('journal_trade', %s::interval)", [f"{days} days"]
            )


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
            DAILY_PNL_SQL,
            "DROP MATERIALIZED VIEW IF EXISTS journal_daily_pnl",
        ),
        migrations.RunPython(apply_policies, migrations.RunPython.noop),
    ]
