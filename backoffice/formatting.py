"""Money, prices and quantities as a trader reads them (no Django import).

Prices take their instrument's decimals, money its currency's (two, none for JPY),
both with thousands separators; a gain shows its + sign.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

# ISO 4217 minor units where they are not 2.
CURRENCY_DECIMALS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "HUF": 2, "KWD": 3}
MINUS = "-"


def _quantized(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def number(value: Decimal | int | float | None, decimals: int, *, signed: bool = False) -> str:
    """``value`` with ``decimals`` decimals and thousands separators; "—" for None."""
    if value is None:
        return "—"
    value = _quantized(Decimal(str(value)), decimals)
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


def step_decimals(step: Decimal) -> int:
    """The decimals a step needs: 0.01 -> 2, 1 -> 0, 0.5 -> 1."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def quantity(value, step: Decimal) -> str:
    """A quantity with the decimals of its instrument's step: ``0.50``, ``3``."""
    return number(value, step_decimals(step))


def percent(ratio, decimals: int = 1) -> str:
    """A ratio as a percentage: 0.5234 -> ``52.3 %``."""
    if ratio is None:
        return "—"
    return f"{number(Decimal(str(ratio)) * 100, decimals)} %"
