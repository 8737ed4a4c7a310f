"""The performance dashboard page: /admin/journal/trade/dashboard/ (TradeAdmin.get_urls).

The figures come from journal.admin.dashboard_figures (the journal's report for a period
and filters); this module writes them as a trader reads them: money with its sign and
currency, rates in per cent, R-multiples with an R, the drawdown as a fall (negative),
durations in hours and minutes. The charts are drawn in the browser by
journal/static/journal/dashboard.js from the JSON of journal.analytics.charts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from backoffice.core import formatting
from backoffice.core.db.routers import reads_from_replica
from journal.admin.dashboard_figures import DEFAULT_PERIOD, DashboardForm, dashboard_figures
from journal.analytics import charts


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


def table(rows: list[dict[str, Any]], key: str, currency: str, *, label=str) -> list[dict]:
    """Rows of a breakdown, formatted, each with a bar of its net P&L."""
    largest = max((abs(row["net_pnl"]) for row in rows), default=0)
    out = []
    for row in rows:
        out.append(
            {
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


def breakdowns(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The tables: the setups (strategy, symbol), the timing (weekday, hour, side) and the
    reviews (grade, tag); each says what its rows are."""
    cur = figures["currency"]

    def side(value):
        return value.capitalize()

    def hour(value):
        return f"{value:02d}:00 to {value:02d}:59"

    return [
        {
            "id": "strategy",
            "title": "By strategy",
            "profit_factor": True,
            "rows": table(figures["by_strategy"], "strategy", cur, label=lambda v: v or "(none)"),
        },
        {
            "id": "symbol",
            "title": "By symbol",
            "profit_factor": True,
            "rows": table(figures["by_symbol"], "symbol", cur),
        },
        {
            "id": "side",
            "title": "By side",
            "rows": table(figures["by_side"], "side", cur, label=side),
        },
        {
            "id": "weekday",
            "title": "By weekday (closing day, UTC)",
            "rows": table(figures["by_weekday"], "weekday", cur),
        },
        {
            "id": "hour",
            "title": "By hour opened (UTC)",
            "rows": [
                r for r in table(figures["by_hour"], "hour", cur, label=hour) if not r["empty"]
            ],
        },
        {
            "id": "grade",
            "title": "By review grade",
            "r": True,
            "rows": table(figures["by_grade"], "grade", cur),
            "empty": "No reviewed trade has a grade in this period.",
        },
        {
            "id": "tag",
            "title": "By review tag",
            "r": True,
            "rows": table(figures["by_tag"], "tag", cur),
            "empty": "No reviewed trade has a tag in this period.",
        },
    ]


def calendar_months(figures: dict[str, Any]) -> list[dict[str, Any]]:
    cur = figures["currency"]
    out = []
    for month in figures["months"]:
        weeks = []
        for week in month.weeks:
            cells = []
            for day in week:
                if day is None:
                    cells.append(None)
                    continue
                cells.append(
                    {
                        "day": day.day,
                        "pnl": "" if day.net_pnl is None else formatting.money(day.net_pnl, ""),
                        "title": (
                            f"{day.day:%Y-%m-%d}: no closed trade"
                            if day.net_pnl is None
                            else f"{day.day:%Y-%m-%d}: {formatting.money(day.net_pnl, cur)}, "
                            f"{day.trades} trade{'s' if day.trades != 1 else ''}"
                        ),
                        "css": f"cal-{day.sign} cal-shade-{day.shade}",
                    }
                )
            weeks.append(cells)
        out.append(
            {
                "title": month.title,
                "weeks": weeks,
                "net_pnl": formatting.money(month.net_pnl, cur),
                "sign": sign(month.net_pnl),
                "trades": month.trades,
                "days_up": month.days_up,
                "days_down": month.days_down,
            }
        )
    return out


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
    selection = form.selection(today=datetime.now(UTC).date())
    figures = dashboard_figures(selection=selection)
    context.update(
        selection=selection,
        summary=figures["summary"],
        currency=figures["currency"],
        tile_rows=tiles(figures),
        chart_data=charts.payload(figures, figures["currency"]),
        breakdowns=breakdowns(figures),
        months=calendar_months(figures),
        months_left_out=figures["months_left_out"],
        r_histogram_trades=figures["summary"]["r_trades"],
    )
    return TemplateResponse(request, "admin/journal/trade/dashboard.html", context)
