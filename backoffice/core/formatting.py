"""Money, prices, quantities and times as a trader reads them (no Django import).

Prices take their instrument's decimals, money its currency's (two, none for JPY),
both with thousands separators; a gain shows its + sign. Times are UTC, 24 h, in ISO
order (``2026-11-27 07:00``); the page says "times in UTC" once (admin/base_site.html).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

# ISO 4217 minor units where they are not 2.
CURRENCY_DECIMALS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "HUF": 2, "KWD": 3}
MINUS = "-"


# Digits a figure keeps while it is written (Decimal's default context rounds past 28).
PRECISION = 80


def number(value: Decimal | int | float | None, decimals: int, *, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals and thousands separators; "—" for None."""
    if value is None:
        return "—"
    with localcontext() as context:
        context.prec = PRECISION
        value = Decimal(str(value))
        if not value.is_finite():
            return str(value)
        try:
            value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
        except InvalidOperation:  # more digits than PRECISION: shown as they are
            return str(value)
        text = f"{abs(value):,.{decimals}f}"
    if value < 0:
        return MINUS + text
    return ("+" + text) if signed and value > 0 else text


def money(value, currency: str = "", *, signed: bool = True) -> str:
    """An amount of money: ``+1,234.50 USD``, ``-12,300 JPY``; a sign on gains too."""
    decimals = CURRENCY_DECIMALS.get(currency, 2)
    text = number(value, decimals, signed=signed)
    return f"{text} {currency}" if currency and value is not None else text


def price(value, decimals: int) -> str:
    """A price with its instrument's decimals: ``1.08450``, ``5,201.25``."""
    return number(value, decimals)


def plain(value) -> str:
    """A decimal without padding zeros, with thousands separators: 0.50000000 -> 0.5,
    20000.00000000 -> 20,000 (for figures that belong to no instrument)."""
    if value is None:
        return "—"
    value = Decimal(str(value))
    if not value.is_finite():
        return str(value)
    return number(value, significant_decimals(value))


def significant_decimals(value: Decimal) -> int:
    """The decimals of ``value`` without its trailing zeros: 1.50000000 -> 1 (exactly,
    where Decimal.normalize() would round past 28 digits)."""
    _, digits, exponent = value.as_tuple()
    if not any(digits):
        return 0  # a zero, however stored (0E-8 from a numeric(20, 8) column)
    decimals = max(0, -int(exponent))
    while decimals and digits and digits[-1] == 0:
        digits = digits[:-1]
        decimals -= 1
    return decimals


def step_decimals(step: Decimal) -> int:
    """The decimals a step needs: 0.01 -> 2, 1 -> 0, 0.5 -> 1."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def quantity(value, unit: str = "") -> str:
    """A quantity with the decimals it has, and its unit: ``0.5 lots``, ``1 lot``,
    ``3 contracts``, ``0.125 coins`` (never ``0.50000000``)."""
    if value is None:
        return "—"
    text = plain(value)
    if unit and Decimal(str(value)) == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{text} {unit}" if unit else text


def percent(ratio, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.5234 -> ``52.3 %``."""
    if ratio is None:
        return "—"
    return f"{number(Decimal(str(ratio)) * 100, decimals)} %"


def when(moment: datetime | None) -> str:
    """A time as the staff read it: UTC, 24 h, to the minute: ``2026-11-27 07:00``."""
    if moment is None:
        return "—"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M}"


def day(value: date | None) -> str:
    """A day as ``2026-11-27``."""
    return "—" if value is None else f"{value:%Y-%m-%d}"


def age(span: timedelta) -> str:
    """How long something has waited: ``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days:,} d {hours} h"
