"""The risk gate: judge a trade idea against the risk config, its strategy and the desk.

``judge`` is pure: it takes what was observed at submit time (the journal's figures, the
idea's instrument, the latest account equity and market data) and answers a verdict
with one check per rule: its limit, the observed value, pass or fail, and the effect a
failure has. The order of precedence: a halt (AI disabled, the daily loss limit or the
drawdown limit reached, the daily target met) stops everything; then any failed rule
rejects; then a rule that cannot be judged without a person (no stop loss, no lot size,
stale data, an idea off the watchlist) sends it for approval; else it is executed
automatically.

Risk per trade is |entry - stop| x lot x point value, in the instrument's quote
currency, converted to the account currency with ``Observations.to_account``.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from desk.models import Direction, IdeaStatus

HALT, REJECT, APPROVAL = "halt", "reject", "approval"
CENT = Decimal("0.01")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Observations:
    """What the desk looked like when the idea arrived."""

    now: datetime
    open_trades: int
    today_pnl: Decimal
    drawdown: Decimal
    # Ideas executed (by the gate or a person) whose trade is not recorded yet: each is
    # an open trade on its way (desk.services.executions_in_flight).
    executions_in_flight: int = 0
    # How far in the future an input's time may be before it counts as wrong.
    clock_skew_seconds: int = 300
    # The prediction the idea cites: whether it cites one, the confidence that prediction
    # gives its direction (None when it cannot be read: citation_note says why).
    prediction_cited: bool = False
    cited_confidence: Decimal | None = None
    citation_note: str = ""
    # The idea's instrument (journal.models.Instrument or alike: point_value,
    # quote_currency); None when the symbol is no instrument of the desk.
    instrument: Any = None
    # One unit of the instrument's quote currency in the account currency; None when
    # no rate is known.
    to_account: Decimal | None = None
    equity: Decimal | None = None
    equity_at: datetime | None = None
    bar_at: datetime | None = None  # the symbol's latest market bar
    # Indicator -> its latest value for the symbol ("rsi_14", "close", "rsi_14:H1", ...,
    # and "impact_level": the highest impact of a calendar event near now).
    market: Mapping[str, Any] = field(default_factory=dict)
    # The idea's strategy today: open trades, trades opened today, closed P&L today.
    strategy_open_trades: int = 0
    strategy_trades_today: int = 0
    strategy_today_pnl: Decimal = Decimal(0)


@dataclass(frozen=True)
class Check:
    rule: str
    limit: Any
    observed: Any
    passed: bool
    effect: str  # what a failure does: halt, reject, approval
    note: str = ""
    # How limit and observed read: money (the account currency), price, lots, percent,
    # ratio, count, minutes, time, text.
    unit: str = ""


@dataclass(frozen=True)
class Verdict:
    status: str
    checks: list[Check]
    halt_reason: str = ""  # set when the AI must be halted (drawdown, daily loss)
    lot_size: Decimal | None = None  # the lot the idea is sized with (its own or the default)

    def as_json(
        self, *, money_places: int | None = None, price_places: int | None = None
    ) -> dict[str, Any]:
        """The verdict as stored and answered: every figure a decimal string, money at
        the account currency's places and prices at the instrument's where given."""
        checks = []
        for check in self.checks:
            row = {k: _plain(v) for k, v in asdict(check).items()}
            for name in ("limit", "observed"):
                value = getattr(check, name)
                if check.unit == "money" and money_places is not None:
                    row[name] = _plain(value, money_places)
                elif check.unit == "price" and price_places is not None:
                    row[name] = _price_text(value, price_places)
            checks.append(row)
        return {
            "verdict": self.status,
            "checks": checks,
            **({"halt_reason": self.halt_reason} if self.halt_reason else {}),
            **({"lot_size": _plain(self.lot_size)} if self.lot_size is not None else {}),
        }

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]


def _price_text(value, places: int):
    """A price at its instrument's places, or with all its own digits where it has more
    (an off-tick price is never shown rounded onto the tick)."""
    if isinstance(value, list | tuple):
        return [_price_text(v, places) for v in value]
    if isinstance(value, Decimal) and value.is_finite():
        own = -value.normalize().as_tuple().exponent
        return _plain(value, max(places, own))
    return _plain(value)


def _plain(value, places: int | None = None):
    """Decimals as text: at ``places`` decimals when given (money at its currency's,
    prices at their instrument's), else their shortest exact text (20000, 1.085)."""
    if isinstance(value, float):
        value = Decimal(repr(value))  # never a float's artefacts in the stored result
    if isinstance(value, Decimal):
        if places is not None and value.is_finite():
            return format(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN), "f")
        return "0" if value == 0 else format(value.normalize(), "f")
    if isinstance(value, list | tuple):
        return [_plain(v, places) for v in value]
    return value


def judge(idea, config, observed: Observations) -> Verdict:
    """The gate's verdict on ``idea`` (a TradeIdea, unsaved or saved)."""
    lot, lot_checks = _sizing(idea, config)
    checks = [
        *_halts(config, observed),
        Check(
            "min_confidence",
            config.min_confidence_threshold,
            idea.confidence_score,
            idea.confidence_score >= config.min_confidence_threshold,
            REJECT,
            unit="ratio",
        ),
        *_citation(observed),
        *_levels(idea, observed.instrument),
        _stop_required(idea, config),
        Check(
            "instrument",
            "an instrument of the desk",
            idea.symbol,
            observed.instrument is not None,
            APPROVAL,
            "" if observed.instrument is not None else "unknown symbol: a person checks it",
            "text",
        ),
        *lot_checks,
        *_lot_step(lot, observed),
        *_risk(idea, lot, config, observed),
        _concurrent(config, observed),
        *_strategy_checks(idea, lot, observed),
        *_freshness(config, observed),
        _watchlist_check(idea, config),
    ]
    halts = [c for c in checks if not c.passed and c.effect == HALT]
    if halts:
        reason = ""
        if config.ai_trading_enabled:
            reason = "; ".join(_HALT_REASONS[c.rule](c) for c in halts if c.rule in _HALT_REASONS)
        return Verdict(IdeaStatus.HALTED_BY_RISK, checks, halt_reason=reason, lot_size=lot)
    if any(not c.passed and c.effect == REJECT for c in checks):
        return Verdict(IdeaStatus.REJECTED, checks, lot_size=lot)
    if any(not c.passed and c.effect == APPROVAL for c in checks):
        return Verdict(IdeaStatus.NEEDS_APPROVAL, checks, lot_size=lot)
    return Verdict(IdeaStatus.AUTO_EXECUTED, checks, lot_size=lot)


_HALT_REASONS = {
    "max_drawdown": lambda c: (
        f"drawdown {_plain(c.observed)} reached the maximum {_plain(c.limit)}"
    ),
    "max_daily_loss": lambda c: (
        f"today's loss {_plain(-c.observed)} reached the daily limit {_plain(c.limit)}"
    ),
}


def _halts(config, observed: Observations) -> list[Check]:
    checks = [
        Check(
            "ai_trading_enabled",
            True,
            config.ai_trading_enabled,
            config.ai_trading_enabled,
            HALT,
            config.last_halt_reason if not config.ai_trading_enabled else "",
        ),
        Check(
            "max_drawdown",
            config.max_drawdown_amount,
            observed.drawdown,
            not (config.halt_on_drawdown and observed.drawdown >= config.max_drawdown_amount),
            HALT,
            "" if config.halt_on_drawdown else "halt on drawdown is off",
            unit="money",
        ),
    ]
    if config.max_daily_loss is not None:
        checks.append(
            Check(
                "max_daily_loss",
                config.max_daily_loss,
                observed.today_pnl,
                observed.today_pnl > -config.max_daily_loss,
                HALT,
                "today's closed P&L (UTC day) against the loss limit",
                unit="money",
            )
        )
    checks.append(
        Check(
            "daily_profit_target",
            config.daily_profit_target,
            observed.today_pnl,
            not (config.stop_after_target and observed.today_pnl >= config.daily_profit_target),
            HALT,
            "" if config.stop_after_target else "stop after target is off",
            unit="money",
        )
    )
    return checks


def _citation(observed: Observations) -> list[Check]:
    """An idea citing a prediction has that prediction's confidence (the service refused
    one that said otherwise); one whose prediction cannot be read waits for a person."""
    if not observed.prediction_cited:
        return []
    known = observed.cited_confidence is not None
    return [
        Check(
            "prediction_confidence",
            "the confidence of the prediction it cites",
            observed.cited_confidence,
            known,
            APPROVAL,
            "" if known else f"{observed.citation_note}: a person checks its confidence",
            "ratio",
        )
    ]


def _concurrent(config, observed: Observations) -> Check:
    """Open trades and the executions on their way, against the limit."""
    seen = observed.open_trades + observed.executions_in_flight
    note = ""
    if observed.executions_in_flight:
        note = (
            f"{observed.open_trades} open + {observed.executions_in_flight} executed "
            "without a trade yet"
        )
    return Check(
        "max_concurrent_trades",
        config.max_concurrent_trades,
        seen,
        seen < config.max_concurrent_trades,
        REJECT,
        note,
        "count",
    )


def _sign(idea) -> int:
    return 1 if idea.direction == Direction.LONG else -1


def _levels(idea, instrument=None) -> list[Check]:
    """Levels a trader would not take: a stop or a target on the wrong side of the
    entry, an entry outside the idea's own range."""
    checks = []
    sign, entry = _sign(idea), idea.entry_price
    places = getattr(instrument, "price_decimals", None)
    entry_text = _price_text(entry, places) if places is not None else _plain(entry)
    if idea.stop_loss is not None:
        side = "below" if sign > 0 else "above"
        checks.append(
            Check(
                "stop_loss_side",
                f"{side} the entry {entry_text}",
                idea.stop_loss,
                sign * (entry - idea.stop_loss) > 0,
                REJECT,
                f"a {idea.direction} idea's stop loss must be {side} its entry",
                unit="price",
            )
        )
    if idea.take_profit is not None:
        side = "above" if sign > 0 else "below"
        checks.append(
            Check(
                "take_profit_side",
                f"{side} the entry {entry_text}",
                idea.take_profit,
                sign * (idea.take_profit - entry) > 0,
                REJECT,
                f"a {idea.direction} idea's take profit must be {side} its entry",
                unit="price",
            )
        )
    low, high = idea.entry_range_low, idea.entry_range_high
    if low is not None and high is not None:
        checks.append(
            Check(
                "entry_range",
                [low, high],
                entry,
                low <= entry <= high,
                REJECT,
                "the entry price must lie in the idea's entry range",
                unit="price",
            )
        )
    return checks


def _stop_required(idea, config) -> Check:
    if not config.require_stop_loss:
        return Check("require_stop_loss", False, idea.stop_loss, True, APPROVAL, "not required")
    return Check(
        "require_stop_loss",
        True,
        idea.stop_loss,
        idea.stop_loss is not None,
        APPROVAL,
        "" if idea.stop_loss is not None else "no stop loss: a person must approve it",
        unit="price",
    )


def _sizing(idea, config) -> tuple[Decimal | None, list[Check]]:
    """The lot the idea is judged (and executed) with, and the checks on it."""
    if idea.lot_size is not None:
        lot = idea.lot_size
        sized = Check("lot_size", None, lot, True, APPROVAL, "proposed by the idea", "lots")
    elif config.default_lot_size is not None:
        lot = config.default_lot_size
        sized = Check(
            "lot_size",
            config.default_lot_size,
            None,
            True,
            APPROVAL,
            f"no lot size proposed: the default lot {_plain(lot)} is used",
            unit="lots",
        )
    else:
        return None, [
            Check(
                "lot_size",
                None,
                None,
                False,
                APPROVAL,
                "no lot size proposed and no default lot: a person sizes it",
                unit="lots",
            )
        ]
    return lot, [
        sized,
        Check(
            "max_lot_size", config.max_lot_size, lot, lot <= config.max_lot_size, REJECT, "", "lots"
        ),
    ]


def _lot_step(lot, observed: Observations) -> list[Check]:
    """A lot the broker can fill: a whole number of the instrument's quantity steps (a
    default lot of 0.1 on whole index contracts is not one); no broker fills another."""
    instrument = observed.instrument
    step = getattr(instrument, "quantity_step", None)
    if lot is None or not step:
        return []
    on_step = lot % step == 0
    return [
        Check(
            "lot_step",
            step,
            lot,
            on_step,
            REJECT,
            "" if on_step else f"not a whole number of {_plain(step)}: no broker fills it",
            "lots",
        )
    ]


def risk_amount(idea, lot: Decimal, instrument, to_account: Decimal) -> Decimal:
    """What the idea loses at its stop, in the account currency, rounded up to the cent
    (a risk is never shown, or judged, smaller than it is)."""
    move = abs(idea.entry_price - idea.stop_loss)
    return (move * lot * instrument.point_value * to_account).quantize(CENT, ROUND_CEILING)


def _risk(idea, lot, config, observed: Observations) -> list[Check]:
    limits = []
    if config.max_risk_per_trade is not None:
        limits.append(("max_risk_per_trade", config.max_risk_per_trade, "money"))
    if config.max_risk_pct_of_equity is not None:
        limits.append(("max_risk_pct_of_equity", config.max_risk_pct_of_equity, "percent"))
    if not limits:
        return []
    instrument = observed.instrument
    unknown = (
        "no stop loss"
        if idea.stop_loss is None
        else "no lot size"
        if lot is None
        else f"{idea.symbol} is no instrument of the desk (no point value)"
        if instrument is None
        else f"no rate from {instrument.quote_currency} to {config.currency}"
        if observed.to_account is None
        else ""
    )
    if unknown:
        return [
            Check(rule, limit, None, False, APPROVAL, f"risk unknown: {unknown}", unit)
            for rule, limit, unit in limits
        ]
    risk = risk_amount(idea, lot, instrument, observed.to_account)
    checks = []
    for rule, limit, unit in limits:
        if unit == "money":
            checks.append(Check(rule, limit, risk, risk <= limit, REJECT, config.currency, unit))
        elif observed.equity is None or observed.equity <= 0:
            note = (
                "no account equity known" if observed.equity is None else "equity is not positive"
            )
            checks.append(Check(rule, limit, None, False, APPROVAL, note, unit))
        else:
            share = risk * 100 / observed.equity
            checks.append(
                Check(
                    rule,
                    limit,
                    share.quantize(CENT, ROUND_CEILING),
                    share <= limit,
                    REJECT,
                    f"{_plain(risk)} {config.currency} of equity {_plain(observed.equity)}",
                    unit,
                )
            )
    return checks


def reward_to_risk(idea) -> Decimal | None:
    if idea.stop_loss is None or idea.take_profit is None or idea.stop_loss == idea.entry_price:
        return None
    reward = abs(idea.take_profit - idea.entry_price)
    return reward / abs(idea.entry_price - idea.stop_loss)


def _strategy_checks(idea, lot, observed: Observations) -> list[Check]:
    strategy = idea.strategy
    if strategy is None:
        return []
    name = strategy.name
    checks = [Check("strategy_active", True, strategy.is_active, strategy.is_active, REJECT, name)]
    if strategy.allowed_symbols:
        checks.append(
            Check(
                "strategy_symbols",
                strategy.allowed_symbols,
                idea.symbol,
                idea.symbol in strategy.allowed_symbols,
                REJECT,
                name,
                "text",
            )
        )
    if strategy.rr_expectation is not None:
        rr = reward_to_risk(idea)
        if rr is None:
            checks.append(
                Check(
                    "strategy_reward_to_risk",
                    strategy.rr_expectation,
                    None,
                    False,
                    APPROVAL,
                    f"{name}: R:R unknown without both a stop loss and a take profit",
                    "ratio",
                )
            )
        else:
            checks.append(
                Check(
                    "strategy_reward_to_risk",
                    strategy.rr_expectation,
                    rr.quantize(CENT, ROUND_FLOOR),  # never shown better than it is
                    rr >= strategy.rr_expectation,
                    REJECT,
                    name,
                    "ratio",
                )
            )
    checks.extend(_strategy_caps(strategy, lot, observed))
    if strategy.session_windows:
        inside = any(in_window(window, observed.now) for window in strategy.session_windows)
        checks.append(
            Check(
                "strategy_session",
                [_window_text(w) for w in strategy.session_windows],
                f"{observed.now:%a %H:%M} UTC",
                inside,
                REJECT,
                name if inside else f"{name}: outside its trading sessions",
                "time",
            )
        )
    for condition in strategy.forbidden_conditions or []:
        checks.append(_forbidden(condition, name, observed.market))
    return checks


def _strategy_caps(strategy, lot, observed: Observations) -> list[Check]:
    caps = strategy.risk_caps or {}
    name, checks = strategy.name, []
    if lot is not None and "max_lot_size" in caps:
        cap = Decimal(str(caps["max_lot_size"]))
        checks.append(Check("strategy_max_lot_size", cap, lot, lot <= cap, REJECT, name, "lots"))
    if "max_open_trades" in caps:
        cap, seen = caps["max_open_trades"], observed.strategy_open_trades
        checks.append(
            Check("strategy_max_open_trades", cap, seen, seen < cap, REJECT, name, "count")
        )
    if "max_trades_per_day" in caps:
        cap, seen = caps["max_trades_per_day"], observed.strategy_trades_today
        checks.append(
            Check("strategy_max_trades_per_day", cap, seen, seen < cap, REJECT, name, "count")
        )
    if "max_daily_loss" in caps:
        cap, seen = Decimal(str(caps["max_daily_loss"])), observed.strategy_today_pnl
        checks.append(
            Check("strategy_max_daily_loss", cap, seen, seen > -cap, REJECT, name, "money")
        )
    return checks


def _parse_clock(text: str) -> clock:
    hours, minutes = text.split(":")
    return clock(int(hours), int(minutes))


def in_window(window: Mapping[str, Any], now: datetime) -> bool:
    """Whether ``now`` falls in a session window: [start, end) local time in its time
    zone (UTC unless given), on its days (every day unless given); a window whose end is
    before its start runs over midnight, and its days are the days it starts on."""
    local = now.astimezone(ZoneInfo(window.get("timezone") or "UTC"))
    start, end = _parse_clock(window["start"]), _parse_clock(window["end"])
    days = window.get("days")
    at = local.time().replace(second=0, microsecond=0, tzinfo=None)
    if start <= end:
        started_on = local
        inside = start <= at < end
    elif at >= start:
        started_on, inside = local, True
    else:
        started_on, inside = local - timedelta(days=1), at < end
    return inside and (not days or WEEKDAYS[started_on.weekday()] in days)


def _window_text(window: Mapping[str, Any]) -> str:
    days = window.get("days")
    when = f"{window['start']} to {window['end']} {window.get('timezone') or 'UTC'}"
    return f"{'/'.join(d.capitalize() for d in days)} {when}" if days else when


_COMPARE = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def _forbidden(condition: Mapping[str, Any], name: str, market: Mapping[str, Any]) -> Check:
    """A forbidden condition that holds rejects the idea; one that cannot be told (no
    such figure observed, or a crossing that needs history) waits for a person."""
    indicator, op, value = condition["indicator"], condition["operator"], condition["value"]
    timeframe = condition.get("timeframe")
    key = f"{indicator}:{timeframe}" if timeframe else indicator
    text = f"{key} {op} {value}"
    observed = market.get(key)
    if isinstance(value, str) and observed is not None and not isinstance(observed, str):
        value = market.get(value, value)  # another figure: close < sma_200
    if (
        observed is None
        or op not in _COMPARE
        or isinstance(value, str) != isinstance(observed, str)
    ):
        why = "needs the bars before it" if op not in _COMPARE else f"no {key} observed"
        return Check("strategy_forbidden", text, None, False, APPROVAL, f"{name}: {why}", "text")
    if not isinstance(value, str):
        value = Decimal(str(value))
        observed = Decimal(str(observed))
    holds = _COMPARE[op](observed, value)
    return Check(
        "strategy_forbidden",
        text,
        observed,
        not holds,
        REJECT,
        f"{name}: the forbidden condition holds" if holds else name,
        "text",
    )


def _freshness(config, observed: Observations) -> list[Check]:
    limit = config.max_input_age_minutes
    if limit is None:
        return []
    checks = []
    for rule, at, what in (
        ("account_snapshot_age", observed.equity_at, "account snapshot"),
        ("market_bar_age", observed.bar_at, "market bar of the symbol"),
    ):
        if at is None:
            checks.append(Check(rule, limit, None, False, APPROVAL, f"no {what}", "minutes"))
            continue
        seconds = (observed.now - at).total_seconds()
        age = int(seconds // 60)
        if seconds < -observed.clock_skew_seconds:
            # Dated in the future: a clock is wrong, so its age says nothing.
            note, passed = f"the latest {what} is dated {-age} min in the future", False
        elif age > limit:
            note, passed = f"the latest {what} is stale", False
        else:
            note, passed = "", True
        checks.append(Check(rule, limit, age, passed, APPROVAL, note, "minutes"))
    return checks


def _watchlist_check(idea, config) -> Check:
    on_list = idea.symbol in (config.watchlist or [])
    allowed = on_list or config.allow_off_watchlist_autotrade
    note = (
        ""
        if on_list
        else ("off the watchlist, autotrade allowed" if allowed else "off the watchlist")
    )
    return Check("watchlist", config.watchlist, idea.symbol, allowed, APPROVAL, note, "text")
