"""Print the journal's performance figures for a filter."""

from django.core.management.base import BaseCommand, CommandError

from journal.analytics import metrics
from journal.models import Trade
from journal.query_filters import MetricsFilter


def fmt(value, places=2):
    if value is None:
        return "-"
    if hasattr(value, "total_seconds"):
        hours = value.total_seconds() / 3600
        return f"{hours:.1f} h"
    if isinstance(value, float):
        return f"{value:.2f}"
    try:
        return f"{value:,.{places}f}"
    except (TypeError, ValueError):
        return str(value)


class Command(BaseCommand):
    help = "Print performance metrics (closed trades, by closing day) for a filter."

    def add_arguments(self, parser):
        for name in ("symbol", "strategy", "account", "side"):
            parser.add_argument(f"--{name}")
        parser.add_argument("--since", help="closed_at from (ISO 8601)")
        parser.add_argument("--until", help="closed_at before (ISO 8601)")

    def handle(self, *args, **options):
        params = {
            key: options[key]
            for key in ("symbol", "strategy", "account", "side", "since", "until")
            if options.get(key)
        }
        filterset = MetricsFilter(params, queryset=Trade.objects.all())
        if not filterset.is_valid():
            raise CommandError(f"invalid filter: {dict(filterset.errors)}")
        report = metrics.report_for(filterset)
        s = report["summary"]
        if not s["trades"]:
            self.stdout.write("no closed trades for this filter")
            return
        lines = [
            ("closed trades", s["trades"]),
            ("wins", s["wins"]),
            ("losses", s["losses"]),
            ("win rate", fmt(s["win_rate"] * 100 if s["win_rate"] is not None else None) + " %"),
            ("net P&L", fmt(s["net_pnl"])),
            ("gross profit", fmt(s["gross_profit"])),
            ("gross loss", fmt(s["gross_loss"])),
            ("profit factor", fmt(s["profit_factor"])),
            ("expectancy", fmt(s["expectancy"])),
            ("average win", fmt(s["average_win"])),
            ("average loss", fmt(s["average_loss"])),
            ("largest win", fmt(s["largest_win"])),
            ("largest loss", fmt(s["largest_loss"])),
            ("max drawdown", fmt(s["max_drawdown"])),
            ("Sharpe (daily, annualised)", fmt(s["sharpe"])),
            ("Sortino (daily, annualised)", fmt(s["sortino"])),
            ("average holding", fmt(s["average_holding"])),
            ("days", s["days"]),
        ]
        for label, value in lines:
            self.stdout.write(f"{label:<28} {value}")
        for title, key, rows in (
            ("by strategy", "strategy", report["by_strategy"]),
            ("by symbol", "symbol", report["by_symbol"]),
        ):
            self.stdout.write(f"\n{title}:")
            for row in rows:
                rate = row["win_rate"] * 100 if row["win_rate"] is not None else 0
                self.stdout.write(
                    f"  {row[key] or '(none)':<20} {row['trades']:>7} trades "
                    f"{fmt(row['net_pnl']):>14} net  {rate:5.1f} % won"
                )
