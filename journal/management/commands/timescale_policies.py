"""Apply the journal's TimescaleDB policies from the current settings."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from journal import timescale


class Command(BaseCommand):
    help = "(Re)apply trade compression and daily P&L refresh policies (TimescaleDB only)."

    def handle(self, *args, **options):
        if not getattr(connection, "timescale_installed", False):
            raise CommandError("TimescaleDB is not installed in this database; nothing to do")
        with connection.cursor() as cursor:
            for line in timescale.apply_policies(cursor):
                self.stdout.write(f"applied: {line}")
