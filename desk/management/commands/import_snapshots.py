"""Load market, indicator, calendar, news or account snapshots from CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from desk.legacy import LegacyImportFailed, import_snapshots
from desk.models import SNAPSHOT_MODELS


class Command(BaseCommand):
    help = "Load snapshots from a CSV whose header names the model's fields; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SNAPSHOT_MODELS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--skip-invalid", action="store_true")

    def handle(self, *args, kind, file, skip_invalid, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        try:
            rows, created, errors = import_snapshots(kind, file, skip_invalid=skip_invalid)
        except LegacyImportFailed as exc:
            for error in exc.errors[:100]:
                self.stdout.write(f"  {error}")
            raise CommandError(str(exc)) from None
        for error in errors[:100]:
            self.stdout.write(f"  skipped {error}")
        self.stdout.write(
            f"read {rows} {kind} row(s): {created} created, {rows - created - len(errors)} "
            f"already there, {len(errors)} skipped"
        )
