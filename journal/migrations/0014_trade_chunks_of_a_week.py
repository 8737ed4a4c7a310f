"""Trade chunks of a week instead of a day (TimescaleDB only; new chunks, existing ones
keep their span).

A query on the hypertable without constant time bounds (the trade list's newest page, a
lookup by id) plans every chunk: with a year of daily chunks the list's query spent 98 ms
planning and 17 ms running (bench/admin.py, 10,000 trades). A year of a busy desk
(a million trades) is about 19,000 trades a week, far below the size where a chunk
stops fitting in memory.
"""

import timescale.db.models.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0013_prefix_search_and_review_tags"),
    ]

    operations = [
        migrations.AlterField(
            model_name="trade",
            name="executed_at",
            field=timescale.db.models.fields.TimescaleDateTimeField(interval="7 days"),
        ),
    ]
