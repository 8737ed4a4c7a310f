"""The trader's figures on a trade's page: its R-multiple and its MAE / MFE.

R-multiple: the price move in the trade's favour over its initial risk |entry - stop|
(journal.domain.r_multiple, the one definition of R).
MAE / MFE: from the stored market bars and the trade's own prices
(journal.analytics.excursions), in price, in money by the instrument, and in R.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from backoffice.core import formatting
from journal.analytics.excursions import excursions
from journal.domain.r_multiple import r_multiple as r_of
from journal.domain.r_multiple import why_no_r
from journal.instruments import instrument_for


def r_multiple(trade) -> str:
    value = r_of(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)
    if value is None:
        return f"— ({why_no_r(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)})"
    css = "pnl-win" if value > 0 else "pnl-loss" if value < 0 else "pnl-even"
    return format_html(
        '<span class="{}">{} R</span>', css, formatting.number(value, 2, signed=True)
    )


def r_cell(trade) -> str:
    """The trade list's R column: the R-multiple to two decimals ("—" without one), as
    the list sorts it (journal.analytics.trade_figures holds the same figure in SQL)."""
    value = r_of(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)
    if value is None:
        return mark_safe('<span class="quiet">—</span>')
    css = "pnl-win" if value > 0 else "pnl-loss" if value < 0 else "pnl-even"
    return format_html(
        '<span class="nowrap {}">{} R</span>', css, formatting.number(value, 2, signed=True)
    )


def _price(value: Decimal, instrument) -> str:
    decimals = instrument.price_decimals if instrument else formatting.step_decimals(value)
    return formatting.price(value, decimals)


def excursion(trade) -> str:
    if trade.closed_at is None:
        return "— (open)"
    found = excursions([trade]).get(trade.pk)
    if found is None:
        return "— (no stored market bars cover this trade)"
    if found.disagreement:
        return f"— ({found.disagreement})"
    instrument = instrument_for(trade.symbol)
    currency = instrument.quote_currency if instrument else ""
    parts = []
    for name, price, money, in_r in (
        ("MAE", found.mae, found.mae_money, found.mae_r),
        ("MFE", found.mfe, found.mfe_money, found.mfe_r),
    ):
        text = f"{name} {_price(price, instrument)}"
        extras = []
        if money is not None:
            extras.append(formatting.money(money, currency, signed=False))
        if in_r is not None:
            extras.append(f"{formatting.number(in_r, 2)} R")
        if extras:
            text += f" ({', '.join(extras)})"
        parts.append(text)
    return f"{' · '.join(parts)} — from {found.bars} {found.timeframe} bar(s)"


def chart_legend(trade, chart: dict) -> list[tuple[str, str]]:
    """The marks of the trade's chart in words, as (css class, text): each price with
    its instrument's decimals, each time as the back office writes times."""
    if "bars" not in chart:
        return []
    instrument = instrument_for(trade.symbol)
    marks = chart["marks"]

    def price(value) -> str:
        return "—" if value is None else _price(Decimal(str(value)), instrument)

    out = [
        (
            "legend-entry",
            f"entry {price(marks['entry']['price'])} at {formatting.when(trade.executed_at)}",
        )
    ]
    if marks["exit"] is not None:
        out.append(
            (
                "legend-exit",
                f"exit {price(marks['exit']['price'])} at {formatting.when(trade.closed_at)}",
            )
        )
    for level in marks["levels"]:
        css = "legend-stop" if level["kind"] == "stop" else "legend-target"
        out.append((css, f"{level['label']} {price(level['price'])}"))
    for name in ("mae", "mfe"):
        point = marks[name]
        if point is not None:
            r = "" if point["r"] is None else f" ({formatting.number(point['r'], 2)} R)"
            out.append((f"legend-{name}", f"{name.upper()} at {price(point['price'])}{r}"))
    return out
