"""Indexes the risk gate reads on every idea: the open trades alone (a partial index),
and, on TimescaleDB, the continuous aggregate's closing day (today's P&L)."""

from django.db import migrations, models

from backoffice.core.db.operations import RunSQLIfTimescale
from journal import timescale


class Migration(migrations.Migration):
    dependencies = [("journal", "0009_instrument_permissions")]

    operations = [
        migrations.AddIndex(
            model_name="trade",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["executed_at"],
                name="journal_trade_open_idx",
            ),
        ),
        RunSQLIfTimescale(
            timescale.DAILY_PNL_INDEX_SQL,
            f"DROP INDEX IF EXISTS {timescale.DAILY_PNL_VIEW}_closed_day",
        ),
    ]
