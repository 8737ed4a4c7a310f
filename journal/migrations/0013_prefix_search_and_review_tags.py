"""Indexes of the trade list's search and review filters (PostgreSQL only).

The search matches the start of a trade id or broker order id in any case:
UPPER(trade_id::text) LIKE 'DEMO-003%' (what Django writes for istartswith), which a
text_pattern_ops index on the same expression serves whatever the database's collation.
The broker order id's plain index served the old whole-value search only; the new one
serves both. The review tag filter asks tags @> '["fomo"]': a GIN index (jsonb_path_ops).
"""

from django.db import migrations

from backoffice.core.db.operations import RunSQLIfPostgreSQL

PREFIX_INDEXES = (
    ("journal_trade_id_prefix_idx", "trade_id"),
    ("journal_trade_order_prefix_idx", "broker_order_id"),
)


class Migration(migrations.Migration):
    dependencies = [("journal", "0012_daily_rows")]

    operations = [
        migrations.RemoveIndex(model_name="trade", name="journal_trade_broker_idx"),
        *(
            RunSQLIfPostgreSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON journal_trade "
                f"(UPPER(({column})::text) text_pattern_ops)",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, column in PREFIX_INDEXES
        ),
        RunSQLIfPostgreSQL(
            "CREATE INDEX IF NOT EXISTS journal_review_tags_idx ON journal_tradereview "
            "USING gin (tags jsonb_path_ops)",
            "DROP INDEX IF EXISTS journal_review_tags_idx",
        ),
    ]
