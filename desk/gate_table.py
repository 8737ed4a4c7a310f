"""The risk gate's checks as a risk manager reads them (pure: no Django import).

Each row of ``risk_check_result["checks"]`` (desk.gate.Check) becomes a GateRow: the
rule's name in words, its limit and the observed value written by their unit (money in
the risk config's currency, prices with the instrument's decimals, lots, percent,
ratio, count, minutes, time, text), passed or failed, and what a failure does in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice.core import formatting

RULES = {
    "ai_trading_enabled": "AI trading enabled",
    "max_drawdown": "Drawdown",
    "max_daily_loss": "Daily loss limit",
    "daily_profit_target": "Daily profit target",
    "min_confidence": "Minimum confidence",
    "prediction_confidence": "Confidence from its prediction",
    "stop_loss_side": "Stop loss side",
    "take_profit_side": "Take profit side",
    "entry_range": "Entry within its range",
    "require_stop_loss": "Stop loss",
    "instrument": "Known instrument",
    "lot_size": "Lot size",
    "max_lot_size": "Maximum lot size",
    "lot_step": "Lot on the instrument's step",
    "max_risk_per_trade": "Risk per trade",
    "max_risk_pct_of_equity": "Risk, % of equity",
    "max_concurrent_trades": "Open trades",
    "strategy_active": "Strategy active",
    "strategy_symbols": "Strategy's symbols",
    "strategy_reward_to_risk": "Reward:risk",
    "strategy_max_lot_size": "Strategy's maximum lot",
    "strategy_max_open_trades": "Strategy's open trades",
    "strategy_max_trades_per_day": "Strategy's trades today",
    "strategy_max_daily_loss": "Strategy's daily loss",
    "strategy_session": "Trading session",
    "strategy_forbidden": "Forbidden condition",
    "account_snapshot_age": "Account data age",
    "market_bar_age": "Market data age",
    "watchlist": "Watchlist",
}
EFFECTS = {
    "halt": "halts AI trading",
    "reject": "rejects",
    "approval": "sends to a person",
}
# P&L figures: a loss limit and a drawdown read as the negative P&L they stop at.
LOSS_FLOORS = {"max_drawdown", "max_daily_loss", "strategy_max_daily_loss"}
SIGNED_OBSERVED = {"max_daily_loss", "daily_profit_target", "strategy_max_daily_loss"}
MAX_LISTED = 8


@dataclass(frozen=True)
class GateRow:
    rule: str  # the rule's name as stored (max_risk_per_trade)
    label: str  # in words (Risk per trade)
    limit: str
    observed: str
    passed: bool
    effect: str  # what a failure does, in words
    note: str


def rule_label(rule: str) -> str:
    return RULES.get(rule, rule.replace("_", " ").capitalize())


def effect_words(effect: str) -> str:
    return EFFECTS.get(effect, effect.replace("_", " "))


def gate_rows(
    result: Mapping[str, Any] | None,
    *,
    currency: str = "",
    price_decimals: int | None = None,
    quantity_unit: str = "lots",
) -> list[GateRow]:
    """The rows of a stored ``risk_check_result``, written for a person."""
    checks = (result or {}).get("checks") if isinstance(result, Mapping) else None
    rows = []
    for check in checks or []:
        if not isinstance(check, Mapping):
            continue
        rule = str(check.get("rule", ""))
        writer = _Writer(
            rule, str(check.get("unit") or ""), currency, price_decimals, quantity_unit
        )
        limit, observed = check.get("limit"), check.get("observed")
        if rule in LOSS_FLOORS:
            limit = _negated(limit)
        if rule == "max_drawdown":
            observed = _negated(observed)
        rows.append(
            GateRow(
                rule=rule,
                label=rule_label(rule),
                limit=writer.limit(limit),
                observed=writer.observed(observed),
                passed=bool(check.get("passed")),
                effect=effect_words(str(check.get("effect", ""))),
                note=writer.note(str(check.get("note") or "")),
            )
        )
    return rows


def _negated(value):
    number = _number(value)
    return value if number is None else -number


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


_DECIMAL_IN_TEXT = re.compile(r"-?\d+(?:\.\d+)?")


class _Writer:
    def __init__(self, rule, unit, currency, price_decimals, quantity_unit):
        self.rule, self.unit = rule, unit
        self.currency, self.price_decimals = currency, price_decimals
        self.quantity_unit = quantity_unit or "lots"

    def limit(self, value) -> str:
        if self.rule == "require_stop_loss":
            return "required" if value is True else "not required"
        if self.rule == "ai_trading_enabled":
            return "on"
        if self.rule == "strategy_active":
            return "active"
        return self.value(value, signed=False)

    def observed(self, value) -> str:
        if self.rule == "ai_trading_enabled":
            return "on" if value else "off"
        if self.rule == "strategy_active":
            return "active" if value else "inactive"
        if value is None:
            return "none"
        return self.value(value, signed=self.rule in SIGNED_OBSERVED)

    def note(self, text: str) -> str:
        # The gate writes amounts plainly in the notes of its risk rules ("50 USD of
        # equity 20000"): with separators here. Other notes may name strategies and
        # indicators (rsi_14) and are left as they are. A note that only names the
        # account currency says nothing the figures do not.
        if self.currency and text.strip() == self.currency:
            return ""
        if self.unit in ("money", "percent"):
            return _DECIMAL_IN_TEXT.sub(lambda m: formatting.plain(Decimal(m.group())), text)
        return text

    def prices_in(self, text: str) -> str:
        if self.price_decimals is None:
            return text
        return _DECIMAL_IN_TEXT.sub(
            lambda m: formatting.price(Decimal(m.group()), self.price_decimals), text
        )

    def value(self, value, *, signed: bool) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, list | tuple):
            if self.unit == "price" and len(value) == 2:
                return (
                    f"{self.value(value[0], signed=False)} to {self.value(value[1], signed=False)}"
                )
            return _listed([self.value(v, signed=False) for v in value])
        number = _number(value)
        if number is None:
            text = str(value)
            return self.prices_in(text) if self.unit == "price" else text
        unit = self.unit
        if unit == "money":
            return formatting.money(number, self.currency, signed=signed)
        if unit == "price":
            if self.price_decimals is None:
                return formatting.plain(number)
            return formatting.price(number, self.price_decimals)
        if unit == "lots":
            return formatting.quantity(number, self.quantity_unit)
        if unit == "percent":
            return f"{formatting.number(number, 2)} %"
        if unit == "ratio":
            return formatting.number(number, 2)
        if unit == "count":
            return formatting.number(number, 0)
        if unit == "minutes":
            return f"{formatting.number(number, 0)} min"
        return formatting.plain(number)


def _listed(items: list[str]) -> str:
    if len(items) <= MAX_LISTED:
        return ", ".join(items) or "none"
    return f"{', '.join(items[:MAX_LISTED])} and {len(items) - MAX_LISTED:,} more"
