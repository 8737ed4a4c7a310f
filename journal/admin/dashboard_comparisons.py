"""The dashboard's comparisons and open positions, written as a trader reads them.

The figures come from journal.analytics.comparisons (this period against the previous
one, winning days against losing days, long against short, each mistake with and
without, what it cost) and journal.analytics.positions (where each open trade stands at
the latest bar); this module formats them for templates/admin/journal/trade/
dashboard.html: money with sign and currency, rates in per cent, R with an R.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse

from backoffice.core import formatting
from journal.admin.drill_down import trade_list_url
from journal.analytics import comparisons as figures_of
from journal.analytics import metrics, sources
from journal.display import price_text, quantity_text


def _sign(value) -> str:
    if value is None or value == 0:
        return ""
    return "positive" if value > 0 else "negative"


def _r(value) -> str:
    return "—" if value is None else f"{formatting.number(value, 2, signed=True)} R"


def _money(value, currency: str) -> str:
    return formatting.money(value, currency)


def _count(value) -> str:
    return formatting.number(value, 0)


def _seconds(value) -> str:
    return "—" if value is None else formatting.age(timedelta(seconds=float(value)))


def _days(since, until) -> str:
    if since is None:
        return "all time"
    last = until - timedelta(days=1)
    if since == last:
        return f"{since:%Y-%m-%d}"
    return f"{since:%Y-%m-%d} to {last:%Y-%m-%d}"


def previous_summary(selection) -> tuple[Any, dict[str, Any]] | None:
    """The selection of the previous period and its summary figures, or None."""
    days = figures_of.previous_days(selection.period, selection.since, selection.until)
    if days is None:
        return None
    previous = selection.of_days(*days)
    if previous.stored:
        rows = sources.read(previous.where(), ("closed_day",), metrics.SUMMARY_MEASURES)
    else:
        rows = sources.from_trades(previous.queryset(), ("closed_day",), metrics.SUMMARY_MEASURES)
    return previous, metrics.summary_of_days(rows)


# The figures set against the previous period: (label, key, kind).
PERIOD_FIGURES = (
    ("Net P&L", "net_pnl", "money"),
    ("Closed trades", "trades", "count"),
    ("Win rate", "win_rate", "rate"),
    ("Expectancy / trade", "expectancy", "money"),
    ("Expectancy (R)", "expectancy_r", "r"),
    ("Profit factor", "profit_factor", "ratio"),
    ("Average win", "average_win", "money"),
    ("Average loss", "average_loss", "money"),
    ("Max drawdown", "max_drawdown", "fall"),
)


def _figure(value, kind: str, currency: str) -> str:
    if kind == "money":
        return _money(value, currency)
    if kind == "fall":
        return _money(None if value is None else -value, currency)
    if kind == "count":
        return _count(value)
    if kind == "rate":
        return formatting.percent(value)
    if kind == "r":
        return _r(value)
    return "—" if value is None else formatting.number(value, 2)


def _change(this, before, kind: str, currency: str) -> tuple[str, str]:
    if kind == "fall":
        this, before = (None if this is None else -this), (None if before is None else -before)
    delta = figures_of.change(this, before)
    if delta is None:
        return "—", ""
    if kind == "money" or kind == "fall":
        text = _money(delta, currency)
    elif kind == "count":
        text = formatting.number(delta, 0, signed=True)
    elif kind == "rate":
        text = f"{formatting.number(delta * 100, 1, signed=True)} pt"
    elif kind == "r":
        text = _r(delta)
    else:
        text = formatting.number(delta, 2, signed=True)
    return text, _sign(delta)


def period_comparison(summary, selection, currency: str) -> dict[str, Any]:
    found = previous_summary(selection)
    if found is None:
        return {
            "empty": "All time has no previous period: choose a period to compare it.",
        }
    previous, before = found
    rows = []
    for label, key, kind in PERIOD_FIGURES:
        this_value, before_value = summary.get(key), before.get(key)
        change_text, change_sign = _change(this_value, before_value, kind, currency)
        rows.append(
            {
                "label": label,
                "this": _figure(this_value, kind, currency),
                "before": _figure(before_value, kind, currency),
                "change": change_text,
                "sign": change_sign,
            }
        )
    return {
        "this_title": _days(selection.since, selection.until),
        "before_title": _days(previous.since, previous.until),
        "before_url": trade_list_url(previous.filter_values(), previous.since, previous.until),
        "rows": rows,
    }


def day_comparison(report, currency: str) -> dict[str, Any]:
    groups = figures_of.day_groups(report["by_day"])
    win, lose = groups["winning"], groups["losing"]
    if not (win["days"] or lose["days"]):
        return {"empty": "No day with a closed trade in this period."}
    lines = (
        ("Days", _count(win["days"]), _count(lose["days"])),
        ("Trades", _count(win["trades"]), _count(lose["trades"])),
        (
            "Trades a day",
            formatting.number(win["trades_per_day"], 1),
            formatting.number(lose["trades_per_day"], 1),
        ),
        ("Win rate", formatting.percent(win["win_rate"]), formatting.percent(lose["win_rate"])),
        ("Net P&L", _money(win["net_pnl"], currency), _money(lose["net_pnl"], currency)),
        ("P&L a day", _money(win["per_day"], currency), _money(lose["per_day"], currency)),
        (
            "Expectancy / trade",
            _money(win["expectancy"], currency),
            _money(lose["expectancy"], currency),
        ),
        ("Expectancy (R)", _r(win["expectancy_r"]), _r(lose["expectancy_r"])),
        (
            "Average holding",
            _seconds(win["average_holding"]),
            _seconds(lose["average_holding"]),
        ),
    )
    return {"rows": [{"label": a, "first": b, "second": c} for a, b, c in lines]}


def side_comparison(report, currency: str) -> dict[str, Any]:
    sides = {row["side"]: row for row in report["by_side"]}
    long, short = sides["long"], sides["short"]
    if not (long["trades"] or short["trades"]):
        return {"empty": "No closed trade in this period."}
    lines = (
        ("Trades", _count(long["trades"]), _count(short["trades"])),
        ("Win rate", formatting.percent(long["win_rate"]), formatting.percent(short["win_rate"])),
        ("Net P&L", _money(long["net_pnl"], currency), _money(short["net_pnl"], currency)),
        (
            "Expectancy / trade",
            _money(long["expectancy"], currency),
            _money(short["expectancy"], currency),
        ),
    )
    return {"rows": [{"label": a, "first": b, "second": c} for a, b, c in lines]}


def mistake_comparison(report, selection, currency: str) -> dict[str, Any]:
    rows = figures_of.mistake_rows(
        report.get("by_mistake", []), report.get("any_mistake", []), report["summary"]
    )
    if not rows:
        return {"empty": "No reviewed trade names a mistake in this period."}
    base = selection.filter_values()
    decimals = formatting.CURRENCY_DECIMALS.get(currency, 2)

    def amount(value) -> str:  # the currency is in the column's header
        return formatting.number(value, decimals, signed=True)

    out = []
    for row in rows:
        with_, without = row["with"], row["without"]
        link = {} if row["any"] else {"mistake": row["mistake"]}
        out.append(
            {
                "label": row["mistake"],
                "any": row["any"],
                "url": trade_list_url({**base, **link}, selection.since, selection.until)
                if not row["any"]
                else "",
                "trades": _count(with_["trades"]),
                "without_trades": _count(without["trades"]),
                "win_rate": formatting.percent(with_["win_rate"]),
                "without_win_rate": formatting.percent(without["win_rate"]),
                "expectancy": amount(with_["expectancy"]),
                "without_expectancy": amount(without["expectancy"]),
                "expectancy_r": _r(with_["expectancy_r"]),
                "without_expectancy_r": _r(without["expectancy_r"]),
                "net_pnl": amount(with_["net_pnl"]),
                "net_sign": _sign(with_["net_pnl"]),
                "cost": amount(row["cost"]),
                "cost_sign": _sign(row["cost"]),
                "cost_r": _r(row["cost_r"]),
                "cost_r_sign": _sign(row["cost_r"]),
            }
        )
    return {"rows": out}


def comparisons(report, selection, currency: str) -> dict[str, Any]:
    """Every comparison of the dashboard, formatted."""
    return {
        "period": period_comparison(report["summary"], selection, currency),
        "days": day_comparison(report, currency),
        "sides": side_comparison(report, currency),
        "mistakes": mistake_comparison(report, selection, currency),
    }


def position_rows(positions) -> list[dict[str, Any]]:
    """The open positions as the dashboard lists them."""
    out = []
    for position in positions:
        trade = position.trade
        bar = position.bar
        out.append(
            {
                "url": reverse("admin:journal_trade_change", args=[trade.pk]),
                "trade_id": trade.trade_id,
                "symbol": trade.symbol,
                "side": trade.side,
                "side_label": trade.get_side_display(),
                "quantity": quantity_text(trade.symbol, trade.quantity),
                "entry": price_text(trade.symbol, trade.entry_price),
                "stop": price_text(trade.symbol, trade.stop_loss),
                "price": "—" if bar is None else price_text(trade.symbol, bar.close),
                "price_at": "" if bar is None else formatting.when(bar.began),
                "timeframe": "" if bar is None else bar.timeframe,
                "age": formatting.age(position.age),
                "opened": formatting.when(trade.executed_at),
                "pnl": _money(position.unrealised_pnl, position.currency),
                "pnl_sign": _sign(position.unrealised_pnl),
                "r": _r(position.unrealised_r),
                "risk": _money(position.risk_to_stop, position.currency),
                "past_stop": position.past_stop,
                "problem": position.problem,
            }
        )
    return out


def position_totals(positions) -> dict[str, Any]:
    from journal.analytics.positions import totals

    found = totals(positions)
    currency = found["currency"]
    return {
        "count": found["count"],
        "pnl": "—"
        if found["unrealised_pnl"] is None
        else _money(found["unrealised_pnl"], currency),
        "pnl_sign": _sign(found["unrealised_pnl"]),
        "priced": found["priced"],
        "risk": "—" if found["risk_to_stop"] is None else _money(found["risk_to_stop"], currency),
        "with_stop": found["with_stop"],
        "mixed": not currency and bool(found["count"]),
    }
