"""Trade chunks of a week instead of a day (TimescaleDB only; new chunks, existing ones
keep their span).

A query on the hypertable without constant time bounds (the trade list's newest page, a
lookup by id) plans every chunk: with a year of daily chunks the list's query spent 98 ms
planning and 17 ms running (bench/admin_pages.py, 10,000 trades). A year of a busy desk
(a million trades) is about 19,000 trades a week, far below the size where a chunk
stops fitting in memory.

Only the model's state changes through AlterField: on SQLite an AlterField rebuilds the
table, and the rebuild would drop the open-trades triggers of 0011. The database change
is TimescaleDB's set_chunk_time_interval, nothing elsewhere.
"""

import timescale.db.models.fields
from django.db import migrations

from backoffice.core.db.operations import timescale_installed


def week_chunks(apps, schema_editor):
    if timescale_installed(schema_editor):
        schema_editor.execute("SELECT set_chunk_time_interval('journal_trade', INTERVAL '7 days')")


def day_chunks(apps, schema_editor):
    if timescale_installed(schema_editor):
        schema_editor.execute("SELECT set_chunk_time_interval('journal_trade', INTERVAL '1 day')")


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0013_prefix_search_and_review_tags"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="trade",
                    name="executed_at",
                    field=timescale.db.models.fields.TimescaleDateTimeField(interval="7 days"),
                ),
            ],
            database_operations=[migrations.RunPython(week_chunks, day_chunks)],
        ),
    ]
