"""Back up the database and the model artifacts."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from backoffice.core.ops.backup import BackupError, backup


class Command(BaseCommand):
    help = "pg_dump the database and archive MODEL_STORAGE_DIR into a new directory."

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            nargs="?",
            type=Path,
            help="a new directory (default: var/backups/<UTC time>)",
        )

    def handle(self, *args, directory, **options):
        directory = directory or (
            settings.VAR_DIR / "backups" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        )
        try:
            manifest = backup(directory)
        except (BackupError, FileExistsError) as exc:
            raise CommandError(str(exc)) from None
        for name, facts in manifest["files"].items():
            self.stdout.write(f"{name}: {facts['bytes']} bytes, sha256 {facts['sha256'][:16]}…")
        self.stdout.write(f"backup written to {directory}")
