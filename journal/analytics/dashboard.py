"""The performance dashboard of the admin: figures for a period and filter, and charts.

Built on journal.analytics.metrics: the summary and the tables per symbol and strategy come from
SQL aggregates over the closed trades; the daily series from metrics.daily_pnl (the
TimescaleDB continuous aggregate where installed); equity and drawdown from
journal.analytics.performance. Trades count on the UTC day they closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from journal.analytics import charts, metrics, performance
from journal.models import Trade
from journal.selectors import trade_distinct_values
from journal.write.records import EARLIEST_YEAR, LATEST_YEAR

PERIODS = (("30", "Last 30 days"), ("90", "Last 90 days"), ("365", "Last 365 days"))
DEFAULT_PERIOD = "90"
ALL = ""
NONE = "__none__"  # the empty strategy or account, as a choice value


def _choices(field: str) -> list[tuple[str, str]]:
    values = trade_distinct_values(field=field)
    return [(ALL, "All"), *((v if v else NONE, v or "(none)") for v in values)]


class DashboardForm(forms.Form):
    """The period (a preset or from/to) and the filters; bad input falls back to defaults."""

    period = forms.ChoiceField(
        choices=[*PERIODS, ("all", "All time"), ("custom", "From / to")], required=False
    )
    since = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))
    symbol = forms.ChoiceField(required=False)
    strategy = forms.ChoiceField(required=False)
    account = forms.ChoiceField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("symbol", "strategy", "account"):
            self.fields[name].choices = _choices(name)

    def clean_since(self):
        return _within_journal_years(self.cleaned_data.get("since"))

    def clean_until(self):
        return _within_journal_years(self.cleaned_data.get("until"))

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "must not be before From")
        return data

    def selection(self, today: date) -> Selection:
        """The chosen period and filters; the defaults where the input is missing or bad."""
        data = self.cleaned_data if self.is_valid() else {}
        period = data.get("period") or DEFAULT_PERIOD
        since = until = None
        if period == "custom":
            since = data.get("since")
            until = data["until"] + timedelta(days=1) if data.get("until") else None
        elif period != "all":
            until = today + timedelta(days=1)
            since = until - timedelta(days=int(period))
        filters = {
            name: ("" if data.get(name) == NONE else data.get(name) or None)
            for name in ("symbol", "strategy", "account")
        }
        return Selection(period=period, since=since, until=until, **filters)


def _within_journal_years(day: date | None) -> date | None:
    if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise forms.ValidationError(f"Give a date in the years {EARLIEST_YEAR} to {LATEST_YEAR}.")
    return day


@dataclass(frozen=True)
class Selection:
    period: str
    since: date | None  # inclusive
    until: date | None  # exclusive
    symbol: str | None = None
    strategy: str | None = None
    account: str | None = None

    def queryset(self):
        queryset = Trade.objects.all()
        if self.since:
            queryset = queryset.filter(closed_at__gte=_midnight(self.since))
        if self.until:
            queryset = queryset.filter(closed_at__lt=_midnight(self.until))
        for name in ("symbol", "strategy", "account"):
            value = getattr(self, name)
            if value is not None:
                queryset = queryset.filter(**{name: value})
        return queryset

    @property
    def last_day(self) -> date | None:
        return self.until - timedelta(days=1) if self.until else None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


ADDITIVE = ("trades", "wins", "losses", "net_pnl", "gross_profit", "gross_loss")


def dashboard_figures(*, selection: Selection) -> dict[str, Any]:
    """Summary, daily series (with equity and drawdown) and tables for a selection.

    Two reads of the trades: the daily series (metrics.daily_pnl: the continuous
    aggregate on TimescaleDB) and one scan grouped by symbol and strategy with the
    journal's aggregates (metrics.AGGREGATES), whose sums add up to the per-symbol and
    per-strategy tables and to the summary.
    """
    days = metrics.daily_pnl(
        since=selection.since,
        until=selection.until,
        symbol=selection.symbol,
        strategy=selection.strategy,
        account=selection.account,
    )
    daily = [row["net_pnl"] for row in days]
    for row, level, fall in zip(
        days, performance.equity_curve(daily), performance.drawdowns(daily), strict=True
    ):
        row["equity"], row["drawdown"] = level, fall
    groups = list(
        metrics.closed_trades(selection.queryset())
        .values("symbol", "strategy")
        .annotate(**metrics.AGGREGATES)
        .order_by()
    )
    summary = roll_up(groups, None)[0]
    summary.update(
        max_drawdown=performance.max_drawdown(daily),
        sharpe=performance.sharpe(daily),
        days=len(days),
    )
    return {
        "summary": summary,
        "days": days,
        "by_symbol": roll_up(groups, "symbol"),
        "by_strategy": roll_up(groups, "strategy"),
    }


def roll_up(groups: list[dict[str, Any]], field: str | None) -> list[dict[str, Any]]:
    """Sum grouped aggregates by ``field`` (None: everything in one row), best first.

    The ratios follow the journal's definitions (journal.analytics.performance).
    """
    totals: dict[Any, dict[str, Any]] = {}
    if field is None:
        totals[None] = dict.fromkeys(ADDITIVE, 0)  # a summary row even without trades
    for group in groups:
        key = group[field] if field else None
        row = totals.setdefault(key, dict.fromkeys(ADDITIVE, 0))
        for name in ADDITIVE:
            row[name] += group[name]
    rows = []
    for key, row in totals.items():
        if field:
            row[field] = key
        row["win_rate"] = performance.ratio(row["wins"], row["trades"])
        row["profit_factor"] = performance.profit_factor(row["gross_profit"], row["gross_loss"])
        row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
        rows.append(row)
    if field:
        rows.sort(key=lambda row: (-row["net_pnl"], row[field]))
    return rows


def dashboard_charts(days: list[dict[str, Any]]) -> dict[str, str]:
    """The three SVG charts of a daily series (empty strings for no days).

    journal.analytics.charts escapes every text it writes, so the SVG is marked safe here.
    """
    svg = {
        "equity": charts.line_chart(
            "equity", "Equity", [(r["day"], r["equity"]) for r in days], charts.BLUE
        ),
        "daily": charts.bar_chart(
            "daily-pnl", "Daily P&L", [(r["day"], r["net_pnl"]) for r in days]
        ),
        "drawdown": charts.line_chart(
            "drawdown", "Drawdown", [(r["day"], -r["drawdown"]) for r in days], charts.RED
        ),
    }
    return {name: mark_safe(chart) for name, chart in svg.items()}  # noqa: S308 - see above


def tiles(summary: dict[str, Any]) -> list[dict[str, str]]:
    """The headline figures, formatted, with a sign class for the colour."""

    def signed(value) -> str:
        if value is None or value == 0:
            return ""
        return "positive" if value > 0 else "negative"

    def number(value: Decimal | float | None, pattern: str) -> str:
        return "—" if value is None else pattern.format(value)

    return [
        {
            "label": "Net P&L",
            "value": charts.money(summary["net_pnl"]),
            "sign": signed(summary["net_pnl"]),
        },
        {"label": "Win rate", "value": number(summary["win_rate"], "{:.1%}"), "sign": ""},
        {
            "label": "Profit factor",
            "value": number(summary["profit_factor"], "{:.2f}"),
            "sign": "",
        },
        {
            "label": "Expectancy",
            "value": "—" if summary["expectancy"] is None else charts.money(summary["expectancy"]),
            "sign": signed(summary["expectancy"]),
        },
        {"label": "Closed trades", "value": f"{summary['trades']:,}", "sign": ""},
        {
            "label": "Max drawdown",
            "value": charts.money(summary["max_drawdown"]),
            "sign": "negative" if summary["max_drawdown"] else "",
        },
        {"label": "Sharpe", "value": number(summary["sharpe"], "{:.2f}"), "sign": ""},
    ]


def table_rows(rows: list[dict[str, Any]], field: str) -> list[dict[str, str]]:
    """Rows of a per-strategy or per-symbol table, formatted."""
    return [
        {
            "label": row[field],
            "trades": f"{row['trades']:,}",
            "win_rate": "—" if row["win_rate"] is None else f"{row['win_rate']:.1%}",
            "net_pnl": charts.money(row["net_pnl"]),
            "sign": "positive" if row["net_pnl"] > 0 else "negative" if row["net_pnl"] < 0 else "",
            "profit_factor": "—" if row["profit_factor"] is None else f"{row['profit_factor']:.2f}",
            "expectancy": "—" if row["expectancy"] is None else charts.money(row["expectancy"]),
        }
        for row in rows
    ]


def dashboard_view(request, model_admin):
    """GET /admin/journal/trade/dashboard/: staff with view permission on trades."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = DashboardForm(request.GET or None, initial={"period": DEFAULT_PERIOD})
    selection = form.selection(today=datetime.now(UTC).date())
    figures = dashboard_figures(selection=selection)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Performance dashboard",
        "opts": model_admin.model._meta,
        "form": form,
        "selection": selection,
        "summary": figures["summary"],
        "tiles": tiles(figures["summary"]),
        "days": figures["days"],
        "charts": dashboard_charts(figures["days"]),
        "tables": [
            ("strategy", table_rows(figures["by_strategy"], "strategy")),
            ("symbol", table_rows(figures["by_symbol"], "symbol")),
        ],
    }
    return TemplateResponse(request, "admin/journal/trade/dashboard.html", context)
