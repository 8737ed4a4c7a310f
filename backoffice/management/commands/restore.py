"""Restore a backup into a new database, with TimescaleDB's pre- and post-restore steps."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backoffice.core.ops.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup directory into a NEW database (and its model artifacts)."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--database", required=True, help="the new database's name")
        parser.add_argument("--models-dir", type=Path, help="default: MODEL_STORAGE_DIR")

    def handle(self, *args, directory, database, models_dir, **options):
        try:
            manifest = restore(
                directory,
                database=database,
                models_dir=models_dir or Path(settings.MODEL_STORAGE_DIR),
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"restored the backup of {manifest['created_at']} into database {database!r}; "
            "point DATABASE_URL at it and run `manage.py bootstrap`"
        )
