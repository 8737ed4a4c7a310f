"""The risk gate: judge a trade idea against the risk config and the journal.

``judge`` is pure: it takes the figures observed in the journal and answers a verdict
with one check per rule (its limit, the observed value, pass or fail). The order of
precedence: a halt (AI disabled, daily target reached, drawdown breached) stops
everything; then any failed rule rejects; then an idea off the watchlist waits for a
person unless off-watchlist autotrade is allowed; else it is executed automatically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from desk.models import IdeaStatus


@dataclass(frozen=True)
class Observations:
    """What the journal says right now."""

    open_trades: int
    today_pnl: Decimal
    drawdown: Decimal


@dataclass(frozen=True)
class Check:
    rule: str
    limit: Any
    observed: Any
    passed: bool
    effect: str  # what a failure does: halt, reject, approval
    note: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str
    checks: list[Check]
    halt_reason: str = ""  # set when the AI must be halted (drawdown)

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.status,
            "checks": [{k: _plain(v) for k, v in asdict(check).items()} for check in self.checks],
            **({"halt_reason": self.halt_reason} if self.halt_reason else {}),
        }

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def _plain(value):
    return str(value) if isinstance(value, Decimal) else value


def judge(idea, config, observed: Observations) -> Verdict:
    """The gate's verdict on ``idea`` (a TradeIdea, unsaved or saved)."""
    checks = [
        Check(
            "ai_trading_enabled",
            True,
            config.ai_trading_enabled,
            config.ai_trading_enabled,
            "halt",
            config.last_halt_reason if not config.ai_trading_enabled else "",
        ),
        Check(
            "max_drawdown",
            config.max_drawdown_amount,
            observed.drawdown,
            not (config.halt_on_drawdown and observed.drawdown >= config.max_drawdown_amount),
            "halt",
            "" if config.halt_on_drawdown else "halt on drawdown is off",
        ),
        Check(
            "daily_profit_target",
            config.daily_profit_target,
            observed.today_pnl,
            not (config.stop_after_target and observed.today_pnl >= config.daily_profit_target),
            "halt",
            "" if config.stop_after_target else "stop after target is off",
        ),
        Check(
            "min_confidence",
            config.min_confidence_threshold,
            idea.confidence_score,
            idea.confidence_score >= config.min_confidence_threshold,
            "reject",
        ),
        _lot_size_check(idea, config),
        Check(
            "max_concurrent_trades",
            config.max_concurrent_trades,
            observed.open_trades,
            observed.open_trades < config.max_concurrent_trades,
            "reject",
        ),
        *_strategy_checks(idea),
        _watchlist_check(idea, config),
    ]
    halts = [c for c in checks if not c.passed and c.effect == "halt"]
    if halts:
        breach = next((c for c in halts if c.rule == "max_drawdown"), None)
        reason = ""
        if breach is not None and config.ai_trading_enabled:
            reason = f"drawdown {breach.observed} reached the maximum {breach.limit}"
        return Verdict(IdeaStatus.HALTED_BY_RISK, checks, halt_reason=reason)
    if any(not c.passed and c.effect == "reject" for c in checks):
        return Verdict(IdeaStatus.REJECTED, checks)
    if any(not c.passed and c.effect == "approval" for c in checks):
        return Verdict(IdeaStatus.NEEDS_APPROVAL, checks)
    return Verdict(IdeaStatus.AUTO_EXECUTED, checks)


def _lot_size_check(idea, config) -> Check:
    if idea.lot_size is None:
        return Check(
            "max_lot_size", config.max_lot_size, None, True, "reject", "no lot size proposed"
        )
    return Check(
        "max_lot_size",
        config.max_lot_size,
        idea.lot_size,
        idea.lot_size <= config.max_lot_size,
        "reject",
    )


def _strategy_checks(idea) -> list[Check]:
    strategy = idea.strategy
    if strategy is None:
        return []
    checks = [
        Check(
            "strategy_active", True, strategy.is_active, strategy.is_active, "reject", strategy.name
        )
    ]
    if strategy.allowed_symbols:
        checks.append(
            Check(
                "strategy_symbols",
                strategy.allowed_symbols,
                idea.symbol,
                idea.symbol in strategy.allowed_symbols,
                "reject",
                strategy.name,
            )
        )
    caps = strategy.risk_caps or {}
    if idea.lot_size is not None and "max_lot_size" in caps:
        cap = Decimal(str(caps["max_lot_size"]))
        checks.append(
            Check(
                "strategy_max_lot_size",
                cap,
                idea.lot_size,
                idea.lot_size <= cap,
                "reject",
                strategy.name,
            )
        )
    return checks


def _watchlist_check(idea, config) -> Check:
    on_list = idea.symbol in (config.watchlist or [])
    allowed = on_list or config.allow_off_watchlist_autotrade
    note = (
        ""
        if on_list
        else ("off the watchlist, autotrade allowed" if allowed else "off the watchlist")
    )
    return Check("watchlist", config.watchlist, idea.symbol, allowed, "approval", note)
