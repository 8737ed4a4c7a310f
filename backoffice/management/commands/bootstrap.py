"""Set up a database for the back office and say what was checked."""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from backoffice.core.ops import app_hooks, health


class Command(BaseCommand):
    help = "Check the database and TimescaleDB, migrate, check every app, print a report."

    def add_arguments(self, parser):
        parser.add_argument(
            "--require-timescale",
            action="store_true",
            help="fail when the TimescaleDB extension is not there",
        )

    def handle(self, *args, require_timescale, **options):
        self.failures = 0
        self.database()
        if connection.vendor == "postgresql":
            self.timescale(require_timescale)
        call_command("migrate", interactive=False, verbosity=0)
        self.migrations()
        app_hooks.bootstrap(self.report)  # each app's own checks and defaults
        if getattr(connection, "timescale_installed", False):
            self.hypertables()
        self.readiness()
        if self.failures:
            raise CommandError(f"bootstrap found {self.failures} problem(s); see FAIL above")
        self.stdout.write(self.style.SUCCESS("bootstrap: everything checked is in order"))

    def report(self, status, what, detail):
        if status == "FAIL":
            self.failures += 1
        style = {"OK": self.style.SUCCESS, "WARN": self.style.WARNING}.get(status, self.style.ERROR)
        self.stdout.write(f"{style(f'{status:<4}')} {what:<22} {detail}")

    def database(self):
        try:
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("SHOW server_version")
                    version = f"PostgreSQL {cursor.fetchone()[0]}"
                else:
                    version = f"{connection.vendor} (the embedded default, not for production)"
        except DatabaseError as exc:
            raise CommandError(f"database unreachable: {str(exc).splitlines()[0]}") from None
        self.report("OK" if connection.vendor == "postgresql" else "WARN", "database", version)

    def timescale(self, required):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
            )
            available = cursor.fetchone()
        if available is None:
            status = "FAIL" if required else "WARN"
            self.report(
                status,
                "timescaledb",
                "not available on this server: plain tables, "
                "no compression, retention or continuous aggregates",
            )
            return
        connection.prepare_database()  # creates the extension where it may
        connection._timescale_installed = None
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
            row = cursor.fetchone()
        if row is None:
            self.report(
                "FAIL" if required else "WARN",
                "timescaledb",
                f"{available[0]} available but not installed (not preloaded, or needs a superuser)",
            )
        else:
            self.report("OK", "timescaledb", f"extension {row[0]} installed")

    def migrations(self):
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        applied = len(executor.loader.applied_migrations)
        if plan:
            self.report("FAIL", "migrations", f"{len(plan)} still unapplied")
        else:
            self.report("OK", "migrations", f"all {applied} applied")

    def hypertables(self):
        expected = app_hooks.hypertables()
        with connection.cursor() as cursor:
            cursor.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
            present = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name LIKE 'policy_%%'"
            )
            jobs = cursor.fetchone()[0]
        missing = [t for t in expected if t not in present]
        if missing:
            self.report("FAIL", "hypertables", f"missing: {', '.join(missing)}")
        else:
            self.report("OK", "hypertables", f"{len(expected)} present, {jobs} policy job(s)")

    def readiness(self):
        """The checks of /readyz (cache, spool, ...), as an operator reads them."""
        _ok, results = health.run_checks()
        for name, result in results.items():
            if name == "database":
                continue  # checked above, migrations included
            if result.ok:
                figures = ", ".join(f"{k} {v}" for k, v in result.details.items())
                self.report("OK", name, figures or "answers")
            else:
                # The cache degrades predictions and limits; anything else stops work.
                self.report("WARN" if name == "cache" else "FAIL", name, result.error or "failed")
