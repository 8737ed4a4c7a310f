"""Fold the daily trade summary's rows of past days into one per key (journal.analytics.summary)."""

from django.core.management.base import BaseCommand

from journal.analytics import summary


class Command(BaseCommand):
    help = (
        "Compact journal_daily_summary (plain PostgreSQL): one row per closing day, symbol, "
        "strategy and account for every day before today. Safe while trades arrive; run it "
        "hourly."
    )

    def handle(self, *args, **options):
        if not summary.available():
            self.stdout.write("no daily summary here (TimescaleDB or SQLite): nothing to do")
            return
        before, after = summary.compact()
        self.stdout.write(f"compacted {before} summary row(s) of past days into {after}")
