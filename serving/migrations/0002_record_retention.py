"""The retention policy of the prediction records (TimescaleDB only; elsewhere the job
engine prunes them: serving.tasks)."""

from django.db import migrations

from backoffice.core.db.operations import timescale_installed
from serving import timescale


def apply_policies(apps, schema_editor):
    if timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            timescale.apply_policies(cursor)


def remove_policies(apps, schema_editor):
    if timescale_installed(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT remove_retention_policy(%s, if_exists => true)",
                [timescale.RECORDS_TABLE],
            )


class Migration(migrations.Migration):
    dependencies = [("serving", "0001_prediction_records")]

    operations = [migrations.RunPython(apply_policies, remove_policies)]
