"""The trades' search keys beside the hypertable, kept by row triggers (TimescaleDB only:
journal.write.search_keys); they replace the hypertable's two prefix indexes there."""

from django.db import migrations

from backoffice.core.db.operations import RunSQLIfTimescale
from journal.write import search_keys


class Migration(migrations.Migration):
    dependencies = [("journal", "0022_daily_note_permissions")]

    operations = [
        RunSQLIfTimescale(
            search_keys.CREATE + search_keys.DROP_HYPERTABLE_INDEXES,
            search_keys.DROP + search_keys.CREATE_HYPERTABLE_INDEXES,
        ),
    ]
