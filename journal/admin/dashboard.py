"""The performance dashboard page: /admin/journal/trade/dashboard/ (TradeAdmin.get_urls).

The figures come from journal.admin.dashboard_figures (the journal's report for a period
and filters); this module writes them as a trader reads them: money with its sign and
currency, rates in per cent, R-multiples with an R, the drawdown as a fall (negative),
durations in hours and minutes. The charts are drawn in the browser by
journal/static/journal/dashboard.js from the JSON of journal.analytics.charts.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone

from backoffice.core import formatting
from backoffice.core.db.routers import reads_from_replica
from journal.admin import dashboard_comparisons
from journal.admin.dashboard_figures import DEFAULT_PERIOD, DashboardForm, dashboard_figures
from journal.admin.drill_down import notes_url, trade_list_url
from journal.analytics import calendar, charts, metrics, positions, sources
from journal.domain.trade_record import EARLIEST_YEAR, LATEST_YEAR
from journal.selectors import open_trades as open_trades_of


def sign(value) -> str:
    """The CSS class of an amount: positive, negative or nothing."""
    if value is None or value == 0:
        return ""
    return "positive" if value > 0 else "negative"


def r_multiple(value: Decimal | None) -> str:
    return "—" if value is None else f"{formatting.number(value, 2, signed=True)} R"


def duration(value: timedelta | None) -> str:
    """A holding time: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    return "—" if value is None else formatting.age(value)


def ratio(value) -> str:
    return "—" if value is None else formatting.number(value, 2)


def tiles(figures: dict[str, Any]) -> list[list[dict[str, str]]]:
    """The headline figures in three rows: money, rates, R-multiples and excursions."""
    s = figures["summary"]
    cur = figures["currency"]

    def money(label, value, *, hint=""):
        # The amount large, its currency small beside it: six tiles fit a laptop's row.
        decimals = formatting.CURRENCY_DECIMALS.get(cur, 2)
        return {
            "label": label,
            "value": formatting.number(value, decimals, signed=True),
            "unit": cur if value is not None else "",
            "sign": sign(value),
            "hint": hint,
        }

    drawdown = -s["max_drawdown"]
    excursions = figures["excursions"]
    mae_hint = (
        f"over {excursions['with_r']} of the latest {excursions['looked_at']} trades "
        f"that the market bars cover (kept {excursions['days']} days)"
    )
    if excursions.get("disagreeing"):
        mae_hint += (
            f"; {excursions['disagreeing']} left out: their bars do not contain their prices"
        )
    return [
        [
            money("Net P&L", s["net_pnl"]),
            money("Expectancy / trade", s["expectancy"]),
            money("Average win", s["average_win"]),
            money("Average loss", s["average_loss"]),
            money("Largest win", s["largest_win"]),
            money("Largest loss", s["largest_loss"]),
        ],
        [
            money("Max drawdown", drawdown, hint="the largest fall of the equity curve"),
            {"label": "Closed trades", "value": formatting.number(s["trades"], 0), "sign": ""},
            {"label": "Win rate", "value": formatting.percent(s["win_rate"]), "sign": ""},
            {"label": "Profit factor", "value": ratio(s["profit_factor"]), "sign": ""},
            {
                "label": "Sharpe",
                "value": ratio(s["sharpe"]),
                "sign": "",
                "hint": "daily P&L, annualised (√252)",
            },
            {
                "label": "Sortino",
                "value": ratio(s["sortino"]),
                "sign": "",
                "hint": "daily P&L, annualised (√252)",
            },
        ],
        [
            {"label": "Average holding", "value": duration(s["average_holding"]), "sign": ""},
            {
                "label": "Expectancy (R)",
                "value": r_multiple(s["expectancy_r"]),
                "sign": sign(s["expectancy_r"]),
                "hint": f"the mean R-multiple of the {s['r_trades']:,} of {s['trades']:,} "
                "trades with an initial stop",
            },
            {
                "label": "Average win (R)",
                "value": r_multiple(s["average_win_r"]),
                "sign": sign(s["average_win_r"]),
            },
            {
                "label": "Average loss (R)",
                "value": r_multiple(s["average_loss_r"]),
                "sign": sign(s["average_loss_r"]),
            },
            {
                "label": "Average MAE (R)",
                "value": r_multiple(excursions["average_mae_r"]),
                "sign": "",
                "hint": mae_hint,
            },
            {
                "label": "Average MFE (R)",
                "value": r_multiple(excursions["average_mfe_r"]),
                "sign": "",
                "hint": mae_hint,
            },
        ],
    ]


def _bar(value, largest) -> dict[str, Any]:
    """A small horizontal bar (SVG attributes, which the CSP allows) for a table row."""
    if not largest or value is None:
        return {"width": 0, "x": 50, "sign": ""}
    share = float(abs(value) / largest) * 50
    return {
        "width": round(share, 1),
        "x": 50 if value >= 0 else round(50 - share, 1),
        "sign": sign(value),
    }


def table(
    rows: list[dict[str, Any]], key: str, currency: str, *, label=str, link=None
) -> list[dict]:
    """Rows of a breakdown, formatted, each with a bar of its net P&L and, with
    ``link``, the URL of its trades (``link(value)``)."""
    largest = max((abs(row["net_pnl"]) for row in rows), default=0)
    out = []
    for row in rows:
        out.append(
            {
                "url": link(row[key]) if link and row["trades"] else "",
                "label": label(row[key]),
                "trades": formatting.number(row["trades"], 0),
                "win_rate": formatting.percent(row["win_rate"]),
                "net_pnl": formatting.money(row["net_pnl"], currency),
                "sign": sign(row["net_pnl"]),
                "profit_factor": ratio(row.get("profit_factor")),
                "expectancy": formatting.money(row["expectancy"], currency),
                "expectancy_r": r_multiple(row.get("expectancy_r")),
                "bar": _bar(row["net_pnl"], largest),
                "empty": not row["trades"],
            }
        )
    return out


def breakdowns(figures: dict[str, Any], selection=None) -> list[dict[str, Any]]:
    """The tables: the setups (strategy, symbol), the timing (weekday, hour, side) and the
    reviews (grade, tag); each says what its rows are, and each row opens its trades in
    the list (the selection's filters and days, and the row's value)."""
    cur = figures["currency"]

    def side(value):
        return value.capitalize()

    def hour(value):
        return f"{value:02d}:00 to {value:02d}:59"

    def opens(name, value_of=lambda v: v):
        if selection is None:
            return None
        base = selection.filter_values()

        def url(value):
            value = value_of(value)
            return trade_list_url(
                {**base, name: "__none__" if value == "" else str(value)},
                selection.since,
                selection.until,
            )

        return url

    weekday_number = {name: n for n, name in enumerate(metrics.WEEKDAYS, 1)}
    return [
        {
            "id": "strategy",
            "title": "By strategy",
            "profit_factor": True,
            "rows": table(
                figures["by_strategy"],
                "strategy",
                cur,
                label=lambda v: v or "(none)",
                link=opens("strategy"),
            ),
        },
        {
            "id": "symbol",
            "title": "By symbol",
            "profit_factor": True,
            "rows": table(figures["by_symbol"], "symbol", cur, link=opens("symbol")),
        },
        {
            "id": "side",
            "title": "By side",
            "rows": table(figures["by_side"], "side", cur, label=side, link=opens("side")),
        },
        {
            "id": "weekday",
            "title": "By weekday (closing day, UTC)",
            "rows": table(
                figures["by_weekday"],
                "weekday",
                cur,
                link=opens("weekday", weekday_number.get),
            ),
        },
        {
            "id": "hour",
            "title": "By hour opened (UTC)",
            "rows": [
                r
                for r in table(figures["by_hour"], "hour", cur, label=hour, link=opens("hour"))
                if not r["empty"]
            ],
        },
        {
            "id": "grade",
            "title": "By review grade",
            "r": True,
            "rows": table(figures["by_grade"], "grade", cur, link=opens("grade")),
            "empty": "No reviewed trade has a grade in this period.",
        },
        {
            "id": "tag",
            "title": "By review tag",
            "r": True,
            "rows": table(figures["by_tag"], "tag", cur, link=opens("tag")),
            "empty": "No reviewed trade has a tag in this period.",
        },
    ]


def calendar_month(grid: calendar.MonthGrid, currency: str, selection, query) -> dict[str, Any]:
    """The calendar of one month: each day's P&L opening that day's trades, a link to
    each day's notes, each week's total, and the months before and after."""
    base = selection.filter_values()
    weeks = []
    for week in grid.weeks:
        cells = []
        for day in week.days:
            if day is None:
                cells.append(None)
                continue
            stamp = f"{day.day:%Y-%m-%d}"
            cells.append(
                {
                    "day": day.day,
                    "pnl": "" if day.net_pnl is None else formatting.money(day.net_pnl, ""),
                    "title": (
                        f"{stamp}: no closed trade"
                        if day.net_pnl is None
                        else f"{stamp}: {formatting.money(day.net_pnl, currency)}, "
                        f"{day.trades} trade{'s' if day.trades != 1 else ''}: open them"
                    ),
                    "css": f"cal-{day.sign} cal-shade-{day.shade}",
                    "trades_url": (
                        trade_list_url(base, day.day, day.day + timedelta(days=1))
                        if day.trades
                        else ""
                    ),
                    "notes_url": notes_url(day.day),
                    "stamp": stamp,
                }
            )
        sunday = week.monday + timedelta(days=6)
        weeks.append(
            {
                "cells": cells,
                "net_pnl": "" if week.net_pnl is None else formatting.money(week.net_pnl, ""),
                "sign": sign(week.net_pnl),
                "title": (
                    f"the week of {week.monday:%Y-%m-%d} to {sunday:%Y-%m-%d}, all of it: "
                    + (
                        "no closed trade"
                        if week.net_pnl is None
                        else f"{formatting.money(week.net_pnl, currency)}, {week.trades} "
                        f"trade{'s' if week.trades != 1 else ''}"
                    )
                ),
                "trades_url": (
                    trade_list_url(base, week.monday, week.monday + timedelta(days=7))
                    if week.trades
                    else ""
                ),
            }
        )

    def month_link(first):
        if not EARLIEST_YEAR <= first.year <= LATEST_YEAR:
            return ""
        changed = query.copy()
        changed["month"] = f"{first:%Y-%m}"
        return f"?{changed.urlencode()}"

    return {
        "title": grid.title,
        "weeks": weeks,
        "net_pnl": formatting.money(grid.net_pnl, currency),
        "sign": sign(grid.net_pnl),
        "trades": grid.trades,
        "days_up": grid.days_up,
        "days_down": grid.days_down,
        "previous_url": month_link(grid.previous),
        "previous_title": f"{grid.previous:%B %Y}",
        "next_url": month_link(grid.next),
        "next_title": f"{grid.next:%B %Y}",
    }


@reads_from_replica
def dashboard_view(request, model_admin):
    """GET /admin/journal/trade/dashboard/: staff with view permission on trades.

    A filled-in form that does not validate answers 400 with its errors on the page and
    no figures (never the default period's figures under the wrong title)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = DashboardForm(request.GET or None, initial={"period": DEFAULT_PERIOD})
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Performance dashboard",
        "opts": model_admin.model._meta,
        "form": form,
    }
    if form.is_bound and not form.is_valid():
        return TemplateResponse(
            request, "admin/journal/trade/dashboard.html", {**context, "invalid": True}, status=400
        )
    now = timezone.now()
    selection = form.selection(today=now.astimezone(UTC).date())
    figures = dashboard_figures(selection=selection)
    currency = figures["currency"]
    month = selection.month or latest_month(figures["by_day"], selection, now)
    start, end = calendar.month_span(month)
    grid = calendar.month_grid(month, daily_rows(selection.of_days(start, end)))
    open_positions = positions.positions_of(open_trades(selection), now=now)
    context.update(
        selection=selection,
        summary=figures["summary"],
        currency=currency,
        tile_rows=tiles(figures),
        chart_data=charts.payload(figures, currency),
        breakdowns=breakdowns(figures, selection),
        month=calendar_month(grid, currency, selection, request.GET),
        r_histogram_trades=figures["summary"]["r_trades"],
        trades_url=trade_list_url(selection.filter_values(), selection.since, selection.until),
        comparisons=dashboard_comparisons.comparisons(figures, selection, currency),
        positions=dashboard_comparisons.position_rows(open_positions),
        position_totals=dashboard_comparisons.position_totals(open_positions),
    )
    return TemplateResponse(request, "admin/journal/trade/dashboard.html", context)


def latest_month(days, selection, now) -> date:
    """The calendar's month when none is asked for: the latest with a closed trade in
    the period, else the period's last month (this month for all time)."""
    if days:
        return days[-1]["day"].replace(day=1)
    last = selection.last_day or now.astimezone(UTC).date()
    return last.replace(day=1)


def daily_rows(selection) -> list[dict[str, Any]]:
    """{day, trades, net_pnl} per closing day of ``selection`` (the stored daily rows
    where they answer its filters, else its trades)."""
    names = ("trades", "wins", "net_pnl")
    if selection.stored:
        rows = sources.read(selection.where(), ("closed_day",), names)
    else:
        rows = sources.from_trades(selection.queryset(), ("closed_day",), names)
    return [{**row, "day": metrics.as_date(row["closed_day"])} for row in rows]


def open_trades(selection):
    """The open trades of the selection's filters (not its days: a position is open
    now), newest first, at most positions.DASHBOARD_POSITIONS."""
    trades = open_trades_of(queryset=selection.of_days(None, None).queryset())
    return list(trades.order_by("-executed_at", "-id")[: positions.DASHBOARD_POSITIONS])
