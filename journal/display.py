"""Prices, quantities and money of a symbol as the staff read them, by its instrument.

The pages of the journal and the desk show every figure through these: a price with its
instrument's decimals (``1.08450``, ``2,376.32``), a quantity with its unit
(``0.5 lots``), P&L in the instrument's quote currency with its sign (``+202.23 USD``).
A symbol that is no instrument of the desk is shown plainly (``1.0845``, ``0.5``).
"""

from __future__ import annotations

from decimal import Decimal

from backoffice.core import formatting
from journal.instruments import instrument_for


def price_text(symbol: str, value) -> str:
    """``value`` as a price of ``symbol``: its instrument's decimals, else as it is. A
    price with more digits than the instrument shows (off its tick: a broker's fill the
    capture flagged) is shown with all of them, never rounded onto the tick."""
    if value is None:
        return "—"
    instrument = instrument_for(symbol)
    if instrument is None:
        return formatting.plain(value)
    exact = formatting.significant_decimals(Decimal(str(value)))
    return formatting.price(value, max(instrument.price_decimals, exact))


def quantity_text(symbol: str, value) -> str:
    """``value`` as a quantity of ``symbol`` with its unit: ``0.5 lots``, ``2 contracts``."""
    instrument = instrument_for(symbol)
    return formatting.quantity(value, instrument.quantity_unit if instrument else "")


def currency_of(symbol: str) -> str:
    """The currency of ``symbol``'s prices and P&L ("" when it is no instrument)."""
    instrument = instrument_for(symbol)
    return instrument.quote_currency if instrument else ""


def pnl_text(symbol: str, value) -> str:
    """A P&L of ``symbol`` in its quote currency, signed: ``+202.23 USD``, ``-12 JPY``."""
    return formatting.money(value, currency_of(symbol))


def pnl_class(value) -> str:
    """The CSS class of a P&L (backoffice/static/backoffice/admin.css)."""
    if value is None or value == 0:
        return "pnl-even"
    return "pnl-win" if value > 0 else "pnl-loss"
