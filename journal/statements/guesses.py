"""What an unknown symbol's instrument would be, from what its statement says.

A statement names symbols the desk may not have as instruments. What the file says
(IBKR: currency, asset class, multiplier, description; MT5: the symbol's shape, such
as EURUSD or XAUUSD) and the prices and quantities it writes make a proposal: the
tick and the quantity step are the finest the statement writes (every price in it is
then on the tick; a coarser real tick, such as an index future's 0.25, is for the
person to set). A proposal that lacks what an instrument needs (the asset class, the
currency, what a move is worth) is not made: the person fills the instrument's form,
which the page opens with what is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backoffice.core.currencies import currency_problem
from journal.statements.reading import SymbolFacts

UNITS = {
    "fx": "lots",
    "commodity": "lots",
    "equity": "shares",
    "crypto": "coins",
    "bond": "bonds",
    "index": "contracts",
}
MAX_DECIMALS = 8


@dataclass(frozen=True)
class Proposal:
    """An instrument's fields, as the admin's form names them (the values as text),
    and what keeps it from being added with one click ("" when nothing does)."""

    fields: dict[str, str]
    missing: str = ""

    @property
    def complete(self) -> bool:
        return not self.missing


def decimals_of(values: list[Decimal]) -> int:
    """The most decimals any of ``values`` is written with (trailing zeros dropped)."""
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            places = max(places, -exponent)
    return places


def proposal(symbol: str, facts: SymbolFacts) -> Proposal:
    """The instrument ``symbol`` would be, from ``facts``."""
    price_places = decimals_of(facts.prices)
    quantity_places = decimals_of(facts.quantities)
    fields = {"symbol": symbol, "name": (facts.description or symbol)[:100]}
    if facts.asset_class:
        fields["asset_class"] = facts.asset_class
        fields["quantity_unit"] = UNITS.get(facts.asset_class, "lots")
    if facts.currency:
        fields["quote_currency"] = facts.currency
    if facts.prices and price_places <= MAX_DECIMALS:
        fields["tick_size"] = _step(price_places)
        fields["price_decimals"] = str(price_places)
    if facts.quantities and quantity_places <= MAX_DECIMALS:
        fields["quantity_step"] = _step(quantity_places)
    point_value = facts.point_value
    if point_value is None and facts.asset_class in ("equity", "crypto"):
        point_value = Decimal(1)
    if point_value is not None and point_value > 0:
        fields["point_value"] = format(point_value.normalize(), "f")
    missing = []
    if "asset_class" not in fields:
        missing.append("the asset class")
    currency = fields.get("quote_currency", "")
    if not currency or currency_problem(currency, crypto=facts.asset_class == "crypto"):
        missing.append("the quote currency")
    if "tick_size" not in fields or "quantity_step" not in fields:
        missing.append("the tick and quantity step")
    if "point_value" not in fields:
        missing.append("what a move of 1.0 is worth")
    return Proposal(fields, "the statement does not say " + ", ".join(missing) if missing else "")


def _step(places: int) -> str:
    return format(Decimal(1).scaleb(-places), "f")
