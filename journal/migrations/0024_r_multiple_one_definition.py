"""The daily rows are rebuilt with journal.domain.r_multiple's R (issue 28): a stop on the
wrong side of the entry gives no R now, where the rows of 0012 divided by |entry - stop|.
Capture has refused such stops since 0016's time; this recomputes the rows of trades
stored before, or written by SQL.

Plain PostgreSQL: the summary table and its triggers are made again (in one transaction:
the rows and the triggers that keep them never part). TimescaleDB: each continuous
aggregate is made again and refreshed over all history (outside a transaction, as 0012).
SQLite keeps no rows (its reports read the trades). Backward leaves the rows as they are:
they are derived from the trades, and the old rule is gone from the code.
"""

from django.db import migrations, transaction

from backoffice.core.db.operations import timescale_installed
from journal import timescale
from journal.analytics import summary


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    if not timescale_installed(schema_editor):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(summary.DROP_SQL)
            cursor.execute(summary.CREATE_SQL)
        return
    with connection.cursor() as cursor:
        for view in timescale.CAGG_VIEWS.values():
            cursor.execute(f"DROP MATERIALIZED VIEW IF EXISTS {view}")
        for sql in timescale.CAGG_SQL.values():
            cursor.execute(sql)
        for sql in timescale.CAGG_INDEX_SQL.values():
            cursor.execute(sql)
        timescale.apply_policies(cursor)
        timescale.refresh_daily_rows(cursor)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("journal", "0023_trade_search_keys")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
