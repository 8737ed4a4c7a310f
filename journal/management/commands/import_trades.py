"""Import trades from a CSV or JSON-lines file in the trade record format."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from journal.analytics.sources import timescale
from journal.timescale import refresh_daily_rows
from journal.write.imports import MAX_REPORTED_ERRORS, ImportFailed, file_size, import_file


class Command(BaseCommand):
    help = "Import trades from CSV or JSON lines; all or nothing unless --skip-invalid."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=["csv", "jsonl"], help="default: by extension")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="import the valid rows, report the rest"
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, **options):
        bar = tqdm(
            total=file_size(file),
            unit="B",
            unit_scale=True,
            desc="import",
            disable=options["no_progress"],
            file=self.stderr._out,
            mininterval=0.5,
        )
        try:
            result = import_file(
                file,
                fmt=options["format"],
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
                progress=bar.update,
            )
        except ImportFailed as exc:
            bar.close()
            self.report_errors(exc.errors)
            raise CommandError(str(exc)) from None
        bar.close()
        if result.errors:
            self.stdout.write(f"skipped {len({e.line for e in result.errors})} invalid row(s):")
            self.report_errors(result.errors)
        prefix = "dry run, nothing committed: would have " if result.dry_run else ""
        self.stdout.write(
            f"{prefix}read {result.rows} row(s) from {file.name} ({result.method}): "
            f"{result.created} created, {result.duplicates} duplicate(s), "
            f"{result.closed} closed"
        )
        if timescale() and not result.dry_run and (result.created or result.closed):
            # The aggregates' policy refreshes recent days only; imported history too.
            with connection.cursor() as cursor:
                refresh_daily_rows(cursor)
            self.stdout.write("refreshed the daily aggregates for the imported days")

    def report_errors(self, errors):
        for error in errors[:MAX_REPORTED_ERRORS]:
            self.stdout.write(f"  {error}")
        if len(errors) > MAX_REPORTED_ERRORS:
            self.stdout.write(f"  ... and {len(errors) - MAX_REPORTED_ERRORS} more")
