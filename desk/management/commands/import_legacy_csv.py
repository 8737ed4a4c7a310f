"""Import the CSV files of the old file-based storage."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from desk.legacy import SETTINGS_FILES, LegacyImportFailed, import_legacy_dir


class Command(BaseCommand):
    help = (
        "Import strategies.csv, risk_config.csv and the settings files ("
        + ", ".join(f"{name}.csv" for name in SETTINGS_FILES)
        + ") of the old storage; validated, idempotent, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument(
            "--reason",
            default="",
            help="Why the risk limits change, kept in the risk config's audit (default: "
            '"imported from the old platform\'s risk_config.csv").',
        )

    def handle(self, *args, directory, reason, **options):
        try:
            report = import_legacy_dir(directory, reason=reason)
        except LegacyImportFailed as exc:
            for error in exc.errors[:100]:
                self.stdout.write(f"  {error}")
            raise CommandError(str(exc)) from None
        for line in report.lines:
            self.stdout.write(line)
        if report.dropped_secrets:
            self.stdout.write(
                "not imported, because they hold credentials (give them to the services as "
                "Docker secrets instead): " + ", ".join(sorted(report.dropped_secrets))
            )
