"""The risk config's limits as a risk manager reads them: label, unit, help, and which
way each one loosens (pure: no Django import).

The risk config's form, its audit and the confirmation page take their words from
LIMITS; ``loosened`` lists the changes that let more trades through, which the admin
asks a person to confirm before saving (switching AI trading on among them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from backoffice.core import formatting

# How a change of a limit loosens the desk: a higher value, a lower one, switching it
# on, switching it off, adding symbols; "" for a setting that is no limit.
HIGHER, LOWER, ON, OFF, MORE = "higher", "lower", "on", "off", "more"


# The risk config's page shows the limits in these sections, in LIMITS' order.
AI_TRADING, TRADE_SIZE, DAY_AND_ACCOUNT = (
    "AI trading",
    "Size and risk of a trade",
    "The day and the account",
)
GROUPS = (AI_TRADING, TRADE_SIZE, DAY_AND_ACCOUNT)


@dataclass(frozen=True)
class Limit:
    label: str
    unit: str  # money, lots, ratio, percent, count, minutes, switch, symbols, text, currency
    help: str
    looser: str = ""
    # An empty value switches the limit off (the loosest of all).
    empty_is_off: bool = False
    group: str = TRADE_SIZE


LIMITS: dict[str, Limit] = {
    "ai_trading_enabled": Limit(
        "AI trading enabled",
        "switch",
        "On: ideas that pass every rule are executed without a person. Off: every idea is halted.",
        ON,
        group=AI_TRADING,
    ),
    "min_confidence_threshold": Limit(
        "Minimum confidence",
        "ratio",
        "From 0 to 1: ideas the model is less sure of are rejected (0.70 = 70 %).",
        LOWER,
        group=AI_TRADING,
    ),
    "watchlist": Limit(
        "Watchlist",
        "symbols",
        "The symbols the AI may trade without a person.",
        MORE,
        group=AI_TRADING,
    ),
    "allow_off_watchlist_autotrade": Limit(
        "Auto-trade symbols off the watchlist",
        "switch",
        "Off: an idea on a symbol that is not on the watchlist waits for a person.",
        ON,
        group=AI_TRADING,
    ),
    "currency": Limit(
        "Account currency",
        "currency",
        "The currency of every limit in money (e.g. USD); risks in other currencies are "
        "converted with the latest market bar.",
    ),
    "max_lot_size": Limit(
        "Maximum lot size", "lots", "Ideas with a larger lot are rejected.", HIGHER
    ),
    "default_lot_size": Limit(
        "Default lot size",
        "lots",
        "The lot an idea without one is sized with. Empty: such ideas wait for a person.",
        HIGHER,
    ),
    "require_stop_loss": Limit(
        "Stop loss required",
        "switch",
        "An idea without a stop loss is never executed automatically: a person decides.",
        OFF,
    ),
    "max_risk_per_trade": Limit(
        "Maximum risk per trade",
        "money",
        "The most one trade may lose at its stop: |entry - stop| x lot x point value. "
        "Empty: not limited.",
        HIGHER,
        empty_is_off=True,
    ),
    "max_risk_pct_of_equity": Limit(
        "Maximum risk per trade, % of equity",
        "percent",
        "The same risk as a share of the latest account equity (1 = 1 %). Empty: not limited.",
        HIGHER,
        empty_is_off=True,
    ),
    "risk_account": Limit(
        "Account for equity",
        "text",
        "The account whose latest snapshot gives the equity. Empty: the latest snapshot "
        "of any account.",
    ),
    "max_concurrent_trades": Limit(
        "Maximum open trades",
        "count",
        "Ideas arriving while this many trades are open are rejected.",
        HIGHER,
    ),
    "daily_profit_target": Limit(
        "Daily profit target",
        "money",
        "Today's closed profit (UTC day) at which AI trading stops, if "
        "\u201cStop after the target\u201d is on.",
        HIGHER,
        group=DAY_AND_ACCOUNT,
    ),
    "stop_after_target": Limit(
        "Stop after the target",
        "switch",
        "Halt AI trading for the day once the daily profit target is reached.",
        OFF,
        group=DAY_AND_ACCOUNT,
    ),
    "max_daily_loss": Limit(
        "Daily loss limit",
        "money",
        "Today's closed loss (UTC day) at which AI trading halts. Empty: not limited.",
        HIGHER,
        empty_is_off=True,
        group=DAY_AND_ACCOUNT,
    ),
    "max_drawdown_amount": Limit(
        "Maximum drawdown",
        "money",
        "The fall from the equity curve's peak at which AI trading halts, if "
        "\u201cHalt on drawdown\u201d is on.",
        HIGHER,
        group=DAY_AND_ACCOUNT,
    ),
    "halt_on_drawdown": Limit(
        "Halt on drawdown",
        "switch",
        "Switch AI trading off when the maximum drawdown is reached.",
        OFF,
        group=DAY_AND_ACCOUNT,
    ),
    "max_input_age_minutes": Limit(
        "Maximum data age",
        "minutes",
        "An idea waits for a person when the account snapshot or the symbol's latest "
        "market bar is older than this. Empty: not checked.",
        HIGHER,
        empty_is_off=True,
        group=DAY_AND_ACCOUNT,
    ),
}
# The limits a risk manager edits (the risk config's form, its audit, four eyes, the
# legacy import), in the order of the page.
EDITABLE_LIMITS = tuple(LIMITS)

UNIT_SUFFIX = {"lots": "lots", "percent": "%", "count": "trades", "minutes": "min"}


def limit_label(name: str) -> str:
    limit = LIMITS.get(name)
    return limit.label if limit else name.replace("_", " ").capitalize()


def value_text(name: str, value: Any, currency: str = "") -> str:
    """A limit's value as the risk manager reads it: ``20,000.00 USD``, ``0.5 lots``,
    ``on``, ``off (not limited)``, ``EURUSD, XAUUSD``."""
    limit = LIMITS.get(name)
    unit = limit.unit if limit else "text"
    if value is None or value == "":
        if limit and limit.empty_is_off:
            return "off (not limited)"
        return "none" if unit != "text" else "—"
    if unit == "switch":
        return "on" if value in (True, "True", "true") else "off"
    if unit == "symbols":
        return ", ".join(value) if value else "none"
    if unit == "money":
        return formatting.money(_decimal(value), currency, signed=False)
    if unit == "lots":
        return formatting.quantity(_decimal(value), "lots")
    if unit == "percent":
        return f"{formatting.plain(_decimal(value))} %"
    if unit == "ratio":
        return formatting.plain(_decimal(value))
    if unit == "count":
        count = _decimal(value)
        return f"{formatting.plain(count)} {'trade' if count == 1 else 'trades'}"
    if unit == "minutes":
        return f"{formatting.plain(_decimal(value))} min"
    return str(value)


def audit_text(name: str, stored: str, currency: str = "") -> str:
    """A value of the audit (RiskConfigChange: the str() of what was saved, e.g.
    ``20000.00000000``, ``True``, ``['EURUSD']``, ``None``) as value_text writes it."""
    if stored in ("", "None"):
        return value_text(name, None, currency)
    unit = LIMITS[name].unit if name in LIMITS else "text"
    if unit == "symbols":
        return ", ".join(re.findall(r"[A-Z0-9][A-Z0-9._/:=^-]{0,31}", stored)) or "none"
    if unit in ("money", "lots", "percent", "ratio", "count", "minutes"):
        try:
            return value_text(name, Decimal(stored), currency)
        except ArithmeticError:
            return stored
    return value_text(name, stored, currency)


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Loosening:
    name: str
    label: str
    old: str
    new: str

    @property
    def key(self) -> str:
        """What was confirmed, to compare with what is about to be saved."""
        return f"{self.name}:{self.old}>{self.new}"


def loosened(
    before: Mapping[str, Any], after: Mapping[str, Any], currency: str = ""
) -> list[Loosening]:
    """The changes from ``before`` to ``after`` that let more trades through (AI trading
    switched on, a limit raised or switched off, a check switched off, symbols added to
    the watchlist), in LIMITS' order."""
    found = []
    for name, limit in LIMITS.items():
        if name not in after or not limit.looser:
            continue
        old, new = before.get(name), after[name]
        if old == new or not _looser(limit, old, new):
            continue
        found.append(
            Loosening(
                name,
                limit.label,
                value_text(name, old, currency),
                value_text(name, new, currency),
            )
        )
    return found


def _looser(limit: Limit, old, new) -> bool:
    if limit.looser == ON:
        return bool(new) and not bool(old)
    if limit.looser == OFF:
        return bool(old) and not bool(new)
    if limit.looser == MORE:
        return bool(set(new or []) - set(old or []))
    if new is None or new == "":
        return limit.empty_is_off and old not in (None, "")
    if old is None or old == "":
        # From off to a value: tighter where empty is off; a default lot newly set lets
        # unsized ideas through.
        return not limit.empty_is_off
    old, new = _decimal(old), _decimal(new)
    return new > old if limit.looser == HIGHER else new < old
