"""Instruments: the catalogue a desk starts with, a cached lookup, and what a move is worth.

Prices and money are shown by instrument (backoffice.core.formatting), the risk gate computes
risk per trade with ``point_value``, and where the desk requires instruments
(settings.INSTRUMENTS_REQUIRED, on in production) a trade or an idea on a symbol that
is not one is refused naming ``symbol``; elsewhere it is accepted and flagged.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError

from backoffice.core.db.outages import is_database_outage

logger = logging.getLogger(__name__)

# symbol: name, asset class, quote currency, tick size, price decimals, quantity step,
# quantity unit, point value (a move of 1.0 on a quantity of 1, in the quote currency).
CATALOGUE = {
    "EURUSD": ("Euro / US Dollar", "fx", "USD", "0.00001", 5, "0.01", "lots", "100000"),
    "GBPUSD": ("British Pound / US Dollar", "fx", "USD", "0.00001", 5, "0.01", "lots", "100000"),
    "AUDUSD": (
        "Australian Dollar / US Dollar",
        "fx",
        "USD",
        "0.00001",
        5,
        "0.01",
        "lots",
        "100000",
    ),
    "USDJPY": ("US Dollar / Japanese Yen", "fx", "JPY", "0.001", 3, "0.01", "lots", "100000"),
    "USDCHF": ("US Dollar / Swiss Franc", "fx", "CHF", "0.00001", 5, "0.01", "lots", "100000"),
    "USDCAD": ("US Dollar / Canadian Dollar", "fx", "CAD", "0.00001", 5, "0.01", "lots", "100000"),
    "XAUUSD": ("Gold spot (100 oz lot)", "commodity", "USD", "0.01", 2, "0.01", "lots", "100"),
    "XAGUSD": (
        "Silver spot (5,000 oz lot)",
        "commodity",
        "USD",
        "0.001",
        3,
        "0.01",
        "lots",
        "5000",
    ),
    "US500": ("S&P 500 index ($50 a point)", "index", "USD", "0.25", 2, "1", "contracts", "50"),
    "NAS100": ("Nasdaq 100 index ($20 a point)", "index", "USD", "0.25", 2, "1", "contracts", "20"),
    "GER40": ("DAX 40 index (EUR 25 a point)", "index", "EUR", "0.5", 1, "1", "contracts", "25"),
    "BTCUSD": ("Bitcoin / US Dollar", "crypto", "USD", "0.01", 2, "0.001", "coins", "1"),
    "ETHUSD": ("Ether / US Dollar", "crypto", "USD", "0.01", 2, "0.001", "coins", "1"),
    "AAPL": ("Apple Inc.", "equity", "USD", "0.01", 2, "1", "shares", "1"),
    "NVDA": ("NVIDIA Corp.", "equity", "USD", "0.01", 2, "1", "shares", "1"),
}


def catalogue_instrument(symbol: str):
    """The catalogue's Instrument for ``symbol``, unsaved."""
    from journal.models import Instrument

    name, asset_class, currency, tick, decimals, step, unit, point = CATALOGUE[symbol]
    return Instrument(
        symbol=symbol,
        name=name,
        asset_class=asset_class,
        quote_currency=currency,
        tick_size=Decimal(tick),
        price_decimals=decimals,
        quantity_step=Decimal(step),
        quantity_unit=unit,
        point_value=Decimal(point),
    )


def instruments_seed() -> int:
    """Create the catalogue's instruments that are missing (existing ones are the desk's
    and are left as they are); returns how many were created."""
    from journal.models import Instrument

    existing = set(Instrument.objects.values_list("symbol", flat=True))
    created = [catalogue_instrument(symbol) for symbol in CATALOGUE if symbol not in existing]
    Instrument.objects.bulk_create(created)
    forget()
    return len(created)


# -- a per-process lookup, read again at most every CACHE_SECONDS ---------------------------

CACHE_SECONDS = 30.0
_lock = threading.Lock()
_cache: dict = {"at": -1e9, "by_symbol": None}


def forget() -> None:
    """Drop the cached instruments (after a change, and in tests)."""
    with _lock:
        _cache["at"] = -1e9
        _cache["by_symbol"] = None


def instruments() -> dict | None:
    """{symbol: Instrument} of the active instruments; the last list read while the
    database does not answer; None when it never did."""
    now = time.monotonic()
    if now - _cache["at"] < CACHE_SECONDS and _cache["by_symbol"] is not None:
        return _cache["by_symbol"]
    from journal.models import Instrument

    try:
        by_symbol = {i.symbol: i for i in Instrument.objects.filter(is_active=True)}
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        return _cache["by_symbol"]
    with _lock:
        _cache["by_symbol"] = by_symbol
        _cache["at"] = now
    return by_symbol


def instrument_for(symbol: str):
    """The active Instrument of ``symbol``, or None."""
    known = instruments()
    return None if known is None else known.get(symbol)


def unknown_symbols(symbols) -> set[str]:
    """Those of ``symbols`` that are no active instrument (empty while it cannot be told)."""
    known = instruments()
    if known is None:
        logger.warning("instruments unknown (the database never answered): not checked")
        return set()
    return {symbol for symbol in symbols if symbol not in known}


def required() -> bool:
    return settings.INSTRUMENTS_REQUIRED


UNKNOWN = (
    "is not an instrument of the desk: a risk manager adds it under Instruments (or the "
    "symbol is wrong)"
)


def common_currency(symbols) -> str:
    """The quote currency the instruments of ``symbols`` share, or "" when they differ or
    one is unknown (the P&L is then shown as recorded, without a currency)."""
    currencies = set()
    for symbol in symbols:
        instrument = instrument_for(symbol)
        if instrument is None:
            return ""
        currencies.add(instrument.quote_currency)
    return currencies.pop() if len(currencies) == 1 else ""
