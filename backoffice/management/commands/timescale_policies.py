"""(Re)apply every app's TimescaleDB policies from the current settings."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from backoffice.core.ops import app_hooks


class Command(BaseCommand):
    help = "Re-apply every app's TimescaleDB policies (compression, retention, refresh)."

    def handle(self, *args, **options):
        if not getattr(connection, "timescale_installed", False):
            raise CommandError("TimescaleDB is not installed in this database; nothing to do")
        with connection.cursor() as cursor:
            for line in app_hooks.apply_policies(cursor):
                self.stdout.write(f"applied: {line}")
