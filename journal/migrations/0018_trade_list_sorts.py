"""Indexes of the trade list's sorts by P&L, R-multiple and holding time (issue 29).

A trader sorts the list by P&L, R, holding time or close time, within a period (the
list's time filter bounds such a sort: journal.admin.sorting). Each is an index walk:
closed_at has its index (0001), P&L gets one here, and R and the holding time, which
are computed, get expression indexes on exactly the expressions the list sorts by
(journal.analytics.trade_figures, compiled here by Django as the list's query is), on
PostgreSQL and TimescaleDB (where each chunk gets its own). SQLite, the embedded small
default, sorts its few rows without them (an index there would call Django's own SQL
functions, which no other SQLite client has).
"""

from django.db import migrations, models
from django.db.models import Index

from journal.analytics.trade_figures import holding_expression, r_multiple_expression

EXPRESSION_INDEXES = (
    ("journal_trade_r_idx", r_multiple_expression),
    ("journal_trade_held_idx", holding_expression),
)


def create_expression_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    trade = apps.get_model("journal", "Trade")
    for name, expression in EXPRESSION_INDEXES:
        schema_editor.execute(Index(expression(), name=name).create_sql(trade, schema_editor))


def drop_expression_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _ in EXPRESSION_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("journal", "0017_one_spelling_of_a_tag")]

    operations = [
        migrations.AddIndex(
            model_name="trade",
            index=models.Index(fields=["pnl"], name="journal_trade_pnl_idx"),
        ),
        migrations.RunPython(create_expression_indexes, drop_expression_indexes),
    ]
