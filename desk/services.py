"""Writes of the desk: the risk config, trade ideas and their workflow, decisions.

The workflow's allowed transitions live in TRANSITIONS, each with the Decision it
writes; every transition and its Decision commit together or not at all.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from backoffice.core.cache_guard import cache_delete, cache_get, cache_set
from backoffice.core.errors import DomainError
from backoffice.core.ops.prometheus import observe_verdict
from desk.domain.limits import EDITABLE_LIMITS, limit_label
from desk.gate import APPROVAL, Observations, Verdict, judge
from desk.gate_table import gate_rows
from desk.models import (
    AccountSnapshot,
    Action,
    CalendarEvent,
    Decision,
    IdeaStatus,
    IndicatorSnapshot,
    MarketBar,
    RiskConfig,
    RiskConfigChange,
    TradeIdea,
)

logger = logging.getLogger(__name__)

S = IdeaStatus
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.WAITING, S.AUTO_EXECUTED): Action.AI_AUTO_EXECUTED,
    (S.WAITING, S.NEEDS_APPROVAL): Action.AI_PROPOSED,
    (S.WAITING, S.REJECTED): Action.RISK_REJECTED,
    (S.WAITING, S.HALTED_BY_RISK): Action.RISK_REJECTED,
    (S.NEEDS_APPROVAL, S.APPROVED): Action.HUMAN_APPROVED,
    (S.NEEDS_APPROVAL, S.REJECTED): Action.HUMAN_REJECTED,
}


class DeskError(DomainError):
    """A desk operation cannot be done; ``field`` names the input at fault, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field=field)


class IllegalTransition(DeskError):
    """The workflow does not allow this move (or another person decided first)."""

    status = 409
    code = "conflict"


# -- risk config ----------------------------------------------------------------------


def risk_config_get(*, for_update: bool = False) -> RiskConfig:
    """The single risk config row, created with safe defaults (AI trading off)."""
    config, _ = RiskConfig.objects.get_or_create(pk=True)
    if for_update:
        config = RiskConfig.objects.select_for_update().get(pk=True)
    return config


REASON_MAX = 500


def clean_reason(
    reason: Any,
    field: str = "reason",
    missing: str = "say why the limits change: the reason is kept in the risk config's audit",
) -> str:
    """A person's reason as stored, stripped; DeskError naming ``field`` when it is
    missing (``missing`` says what to write) or could not be stored and read back
    (control characters, a NUL, a lone surrogate, more than REASON_MAX characters)."""
    if not isinstance(reason, str) or not reason.strip():
        raise DeskError(missing, field)
    text = reason.strip()
    what = field.replace("_", " ")
    if len(text) > REASON_MAX:
        raise DeskError(f"the {what} has {len(text):,} characters; keep it to {REASON_MAX}", field)
    if any((ord(c) < 32 and c not in "\t\n\r") or ord(c) == 127 for c in text):
        raise DeskError(f"the {what} must be plain text, without control characters", field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DeskError(f"the {what} holds a lone surrogate: not valid text", field) from None
    return text


def limits_check(config: RiskConfig, changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` as the fields hold them (cleaned), or DeskError naming the field when
    they would make ``config``'s limits invalid (a field that is no limit, a value its
    field refuses); ``config`` is not changed."""
    unknown = set(changes) - set(EDITABLE_LIMITS)
    if unknown:
        name = sorted(unknown)[0]
        raise DeskError(f"{name} cannot be changed here", name)
    trial = RiskConfig(**{f.attname: getattr(config, f.attname) for f in RiskConfig._meta.fields})
    for name, value in changes.items():
        setattr(trial, name, value)
    try:
        trial.full_clean(validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        label = limit_label(field) if field in EDITABLE_LIMITS else "the risk config"
        raise DeskError(f"{label}: {' '.join(messages)}", field) from None
    return {name: getattr(trial, name) for name in changes}


@transaction.atomic
def risk_config_update(
    *, changes: dict[str, Any], actor: str, reason: str, actor_user=None
) -> RiskConfig:
    """Change limits, saying why; each changed field is audited with the reason (who,
    when, old → new, why), and switching AI trading on or off writes ai_resumed /
    ai_halted to the decision history. Raises DeskError naming the field at fault."""
    config = risk_config_get(for_update=True)
    changes = limits_check(config, changes)
    before = {name: getattr(config, name) for name in changes}
    for name, value in changes.items():
        setattr(config, name, value)
    changed = {n: v for n, v in changes.items() if getattr(config, n) != before[n]}
    if not changed:
        return config
    reason = clean_reason(reason)
    if "ai_trading_enabled" in changed:
        if config.ai_trading_enabled:
            config.last_halt_reason = ""
            _decide(
                action=Action.AI_RESUMED,
                actor=actor,
                actor_user=actor_user,
                rationale=f"AI trading switched on: {reason}",
                human_override=actor_user is not None,
            )
        else:
            config.last_halt_reason = f"switched off by {actor}: {reason}"[:500]
            _decide(
                action=Action.AI_HALTED,
                actor=actor,
                actor_user=actor_user,
                rationale=config.last_halt_reason,
                human_override=actor_user is not None,
            )
    config.updated_by = actor_user
    config.save()
    RiskConfigChange.objects.bulk_create(
        RiskConfigChange(
            changed_by=actor_user,
            actor=actor,
            field=name,
            old_value=str(before[name]),
            new_value=str(getattr(config, name)),
            reason=reason,
        )
        for name in changed
    )
    return config


def _halt_ai(config: RiskConfig, reason: str, *, idea: TradeIdea) -> None:
    config.ai_trading_enabled = False
    config.last_halt_reason = reason
    config.save(update_fields=["ai_trading_enabled", "last_halt_reason", "updated_at"])
    RiskConfigChange.objects.create(
        actor="risk-gate",
        field="ai_trading_enabled",
        old_value="True",
        new_value="False",
        reason=reason[:500],
    )
    _decide(action=Action.AI_HALTED, actor="risk-gate", rationale=reason, idea=idea)
    logger.warning("AI trading halted by the risk gate", extra={"reason": reason})


# -- observations ----------------------------------------------------------------------

# A calendar event this close to the submit time counts as "now" for a strategy's
# forbidden condition on impact_level.
NEWS_WINDOW = timedelta(minutes=30)
# The P&L before today (its total and its running peak) through some day is kept in the
# shared cache: the checkpoint. The job engine reads it again in full every
# HISTORY_REFRESH_SECONDS (desk.tasks), so a trade imported onto an earlier day reaches
# the drawdown within that time; without a job engine the checkpoint expires after
# HISTORY_SECONDS and the next idea reads it again. An idea only adds the days after
# the checkpoint (none, or one after midnight) and today, by the closing-day index.
HISTORY_KEY = "desk:pnl-history"
HISTORY_SECONDS = 300
HISTORY_REFRESH_SECONDS = 30
IMPACT_ORDER = ("none", "low", "medium", "high")


def _utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)


def pnl_history(today: date, *, refresh: bool = False) -> tuple[Decimal, Decimal]:
    """(total, running peak) of the closed P&L before ``today``, from the daily summary
    or the continuous aggregate (never a scan of the trades): the checkpoint plus the
    days after it; the whole history only when there is no checkpoint (or ``refresh``)."""
    from journal.analytics import metrics

    checkpoint = None if refresh else cache_get(HISTORY_KEY)
    if checkpoint is not None:
        through = date.fromisoformat(checkpoint[0])
        total, peak = Decimal(checkpoint[1]), Decimal(checkpoint[2])
        if through < today:
            if through + timedelta(days=1) < today:
                rows = metrics.daily_pnl(since=through + timedelta(days=1), until=today)
                total, peak = _run_up(rows, total, peak)
                _keep_history(today, total, peak)
            return total, peak
    total, peak = _run_up(metrics.daily_pnl(until=today), Decimal(0), Decimal(0))
    _keep_history(today, total, peak)
    return total, peak


def _run_up(rows, total: Decimal, peak: Decimal) -> tuple[Decimal, Decimal]:
    for row in rows:
        total += row["net_pnl"]
        peak = max(peak, total)
    return total, peak


def _keep_history(today: date, total: Decimal, peak: Decimal) -> None:
    through = (today - timedelta(days=1)).isoformat()
    cache_set(HISTORY_KEY, (through, str(total), str(peak)), timeout=HISTORY_SECONDS)


def forget_pnl_history() -> None:
    """Read the whole history again on the next idea (tests; after an import of old
    trades, when the job engine is not running)."""
    cache_delete(HISTORY_KEY)


def _closed_pnl_on(day: date, **where) -> Decimal:
    from journal.analytics import metrics

    rows = metrics.daily_pnl(since=day, until=day + timedelta(days=1), **where)
    return sum((row["net_pnl"] for row in rows), Decimal(0))


def desk_observations(
    idea: TradeIdea,
    config: RiskConfig,
    *,
    now: datetime,
    history: tuple[Decimal, Decimal],
    citation=None,
) -> Observations:
    """What the gate judges ``idea`` against: each figure from an index or the daily
    summary, so a submit costs the same at ten thousand trades as at a million."""
    from journal import instruments
    from journal.models import OpenTrade

    midnight = _utc_midnight(now)
    today_pnl = _closed_pnl_on(midnight.date())
    total_before, peak_before = history
    equity_curve_now = total_before + today_pnl
    instrument = instruments.instrument_for(idea.symbol)
    snapshot = _latest_account(config.risk_account)
    in_flight = executions_in_flight(now=now, exclude=idea.pk)
    strategy = _strategy_figures(idea, midnight, in_flight)
    return Observations(
        now=now,
        open_trades=OpenTrade.objects.count(),
        executions_in_flight=in_flight.count(),
        clock_skew_seconds=settings.CLOCK_SKEW_SECONDS,
        prediction_cited=bool(idea.prediction_id),
        cited_confidence=citation.confidence if citation is not None else None,
        citation_note=citation.why_not if citation is not None else "",
        today_pnl=today_pnl,
        drawdown=max(peak_before, equity_curve_now) - equity_curve_now,
        instrument=instrument,
        to_account=_rate(instrument.quote_currency, config.currency) if instrument else None,
        equity=snapshot.equity if snapshot else None,
        equity_at=snapshot.captured_at if snapshot else None,
        bar_at=(
            MarketBar.objects.filter(symbol=idea.symbol)
            .order_by("-captured_at")
            .values_list("captured_at", flat=True)
            .first()
        ),
        market=_market(idea, instrument, now),
        **strategy,
    )


def _latest_account(account: str) -> AccountSnapshot | None:
    snapshots = AccountSnapshot.objects.order_by("-captured_at")
    if account:
        snapshots = snapshots.filter(account=account)
    return snapshots.first()


def _rate(quote: str, account: str) -> Decimal | None:
    """One ``quote`` in ``account`` currency, from the latest bar of either pair."""
    if quote == account:
        return Decimal(1)
    for symbol, invert in ((f"{quote}{account}", False), (f"{account}{quote}", True)):
        close = (
            MarketBar.objects.filter(symbol=symbol)
            .order_by("-captured_at")
            .values_list("close", flat=True)
            .first()
        )
        if close:
            return 1 / close if invert else close
    return None


EXECUTED = (IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED)


def executions_in_flight(*, now: datetime, exclude: int | None = None) -> QuerySet[TradeIdea]:
    """The ideas executed (by the gate or a person) whose trade is not recorded yet, for
    DESK_EXECUTION_WINDOW_MINUTES after the decision: each will be an open trade, so it
    counts against the open-trade and trades-per-day limits until its trade arrives (a
    trade naming it, journal_trade_idea_idx) or the window ends. Without them, sixteen
    ideas executed in a burst each saw the same count of open trades."""
    from journal.models import Trade

    since = now - timedelta(minutes=settings.DESK_EXECUTION_WINDOW_MINUTES)
    # No upper bound: an idea judged now waited for the risk config's lock, and the
    # ideas decided meanwhile were decided after the moment it was submitted at.
    executed = TradeIdea.objects.filter(status__in=EXECUTED, decided_at__gte=since).exclude(
        Exists(Trade.objects.filter(idea_id=OuterRef("pk")))
    )
    return executed.exclude(pk=exclude) if exclude is not None else executed


def _strategy_figures(
    idea: TradeIdea, midnight: datetime, in_flight: QuerySet[TradeIdea]
) -> dict[str, Any]:
    from journal.models import OpenTrade, Trade

    caps = (idea.strategy.risk_caps or {}) if idea.strategy else {}
    figures: dict[str, Any] = {}
    name = idea.strategy.name if idea.strategy else None
    if "max_open_trades" in caps:
        figures["strategy_open_trades"] = (
            OpenTrade.objects.filter(strategy=name).count()
            + in_flight.filter(strategy=idea.strategy).count()
        )
    if "max_trades_per_day" in caps:
        figures["strategy_trades_today"] = (
            Trade.objects.filter(strategy=name, executed_at__gte=midnight).count()
            + in_flight.filter(strategy=idea.strategy, decided_at__gte=midnight).count()
        )
    if "max_daily_loss" in caps:
        figures["strategy_today_pnl"] = _closed_pnl_on(midnight.date(), strategy=name)
    return figures


def _market(idea: TradeIdea, instrument, now: datetime) -> dict[str, Any]:
    """The latest figures a strategy's forbidden conditions may name, only when it has
    some: each indicator and bar price (also as "name:timeframe"), and impact_level."""
    if idea.strategy is None or not idea.strategy.forbidden_conditions:
        return {}
    market: dict[str, Any] = {}
    latest = {}
    for bar in MarketBar.objects.filter(symbol=idea.symbol).order_by("-captured_at")[:50]:
        latest.setdefault(bar.timeframe, bar)
    for row in IndicatorSnapshot.objects.filter(symbol=idea.symbol).order_by("-captured_at")[:50]:
        latest.setdefault(("indicators", row.timeframe), row)
    # Oldest first, so the most recent of any timeframe names the plain key.
    for key, row in sorted(latest.items(), key=lambda item: item[1].captured_at):
        names = (
            ("rsi_14", "sma_50", "sma_200", "macd", "atr")
            if isinstance(key, tuple)
            else ("open", "high", "low", "close")
        )
        for name in names:
            value = getattr(row, name)
            if value is not None:
                market[name] = market[f"{name}:{row.timeframe}"] = value
    currencies = _currencies(idea.symbol, instrument)
    levels = set(
        CalendarEvent.objects.filter(
            currency__in=currencies,
            event_time__gte=now - NEWS_WINDOW,
            event_time__lte=now + NEWS_WINDOW,
        ).values_list("impact_level", flat=True)
    )
    known = [level for level in IMPACT_ORDER if level in {v.lower() for v in levels}]
    market["impact_level"] = known[-1] if known else "none"
    return market


def _currencies(symbol: str, instrument) -> list[str]:
    if instrument is not None and instrument.asset_class == "fx" and len(symbol) == 6:
        return [symbol[:3], symbol[3:]]
    return [instrument.quote_currency] if instrument is not None else []


# -- ideas ---------------------------------------------------------------------------------


@transaction.atomic
def idea_submit(
    *, idea: TradeIdea, actor: str, now: datetime | None = None
) -> tuple[TradeIdea, Verdict]:
    """Store a new idea and put it through the gate; the verdict's transition and its
    Decision are written in the same transaction. An idea without a lot size that the
    gate sized with the default lot is stored with it."""
    from desk.selectors import cited_confidence
    from journal import instruments

    idea.status = IdeaStatus.WAITING
    idea.submitted_by = actor
    now = now or timezone.now()
    citation = cited_confidence(idea=idea, now=now)
    _confidence_from(idea, citation)
    try:
        idea.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DeskError(f"{field}: {'; '.join(messages)}", field) from None
    if instruments.required() and instruments.unknown_symbols({idea.symbol}):
        raise DeskError(f"symbol: {idea.symbol} {instruments.UNKNOWN}", "symbol")
    history = pnl_history(_utc_midnight(now).date())  # before the lock: it may be a query
    idea.save()
    # The row lock on the config serialises ideas judged at the same moment (held while
    # they are counted, judged and decided), so that two of them cannot both slip under
    # max_concurrent_trades or both halt the AI.
    config = risk_config_get(for_update=True)
    observed = desk_observations(idea, config, now=now, history=history, citation=citation)
    verdict = judge(idea, config, observed)
    idea.risk_check_result = verdict_json(verdict, config, idea.symbol)
    fields = ["risk_check_result"]
    if idea.lot_size is None and verdict.lot_size is not None:
        idea.lot_size = verdict.lot_size
        fields.append("lot_size")
    idea.save(update_fields=fields)
    if verdict.halt_reason:
        _halt_ai(config, verdict.halt_reason, idea=idea)
    rationale = _summary(
        verdict, config.currency, desk_instrument=instruments.instrument_for(idea.symbol)
    )
    _transition(idea, verdict.status, actor=actor, rationale=rationale)
    transaction.on_commit(lambda: observe_verdict(verdict.status))
    return idea, verdict


def _confidence_from(idea: TradeIdea, citation) -> None:
    """The idea's confidence, one figure from prediction to trade: where it cites a
    recorded probability, that probability for its direction (taken when the idea gives
    none; a stated one that differs by more than DESK_CONFIDENCE_TOLERANCE is refused)."""
    if citation is not None and citation.confidence is not None:
        stated = idea.confidence_score
        if stated is None:
            idea.confidence_score = citation.confidence
        elif abs(Decimal(stated) - citation.confidence) > Decimal(
            str(settings.DESK_CONFIDENCE_TOLERANCE)
        ):
            raise DeskError(
                f"confidence_score: {stated} is not what the prediction it cites gives a "
                f"{idea.direction} idea ({citation.model_version}: {citation.confidence}); "
                "send that figure, or none to take it",
                "confidence_score",
            )
    if idea.confidence_score is None:
        raise DeskError(
            "confidence_score: give the idea's confidence (0 to 1: the probability that its "
            "direction wins), or cite a recorded prediction (prediction_id) that gives it",
            "confidence_score",
        )


def verdict_json(verdict: Verdict, config: RiskConfig, symbol: str) -> dict[str, Any]:
    """The verdict as stored and answered: money at the account currency's places,
    prices at the symbol's instrument's."""
    from backoffice.core import formatting
    from journal import instruments

    instrument = instruments.instrument_for(symbol)
    return verdict.as_json(
        money_places=formatting.CURRENCY_DECIMALS.get(config.currency, 2),
        price_places=instrument.price_decimals if instrument else None,
    )


def _summary(verdict: Verdict, currency: str, *, desk_instrument) -> str:
    """The failed rules in words, for the decision history: ``Watchlist: US500 (limit
    EURUSD, XAUUSD); Risk per trade: 800.00 USD (limit 750.00 USD)``."""
    if not verdict.failed:
        return "every risk rule passed"
    rows = gate_rows(
        verdict.as_json(),
        currency=currency,
        price_decimals=desk_instrument.price_decimals if desk_instrument else None,
        quantity_unit=desk_instrument.quantity_unit if desk_instrument else "lots",
    )
    return "; ".join(
        f"{row.label}: {row.observed} (limit {row.limit})" for row in rows if not row.passed
    )


def _transition(
    idea: TradeIdea,
    to: str,
    *,
    actor: str,
    actor_user=None,
    rationale: str = "",
    human_override: bool = False,
    risk_check_result: dict | None = None,
    override_reason: str | None = None,
) -> Decision:
    action = TRANSITIONS.get((idea.status, to))
    if action is None:
        raise IllegalTransition(
            f"trade idea #{idea.pk} cannot go from {idea.status} to {to}", "status"
        )
    idea.status = to
    if actor_user is not None:
        idea.decided_by = actor_user
    idea.decided_at = timezone.now()
    idea.save(update_fields=["status", "decided_by", "decided_at"])
    return _decide(
        action=action,
        actor=actor,
        actor_user=actor_user,
        idea=idea,
        rationale=rationale,
        human_override=human_override,
        risk_check_result=risk_check_result,
        override_reason=override_reason,
    )


def _decide(
    *,
    action: str,
    actor: str,
    actor_user=None,
    idea: TradeIdea | None = None,
    rationale: str = "",
    human_override: bool = False,
    risk_check_result: dict | None = None,
    override_reason: str | None = None,
) -> Decision:
    if risk_check_result is None:
        risk_check_result = idea.risk_check_result if idea else {}
    return Decision.objects.create(
        occurred_at=timezone.now(),
        action=action,
        actor=actor,
        actor_user=actor_user,
        trade_idea=idea,
        symbol=idea.symbol if idea else "",
        strategy=idea.strategy if idea else None,
        confidence_score=idea.confidence_score if idea else None,
        risk_check_result=risk_check_result,
        snapshot_ref=idea.snapshot_ref if idea else "",
        rationale=rationale,
        human_override=human_override,
        override_reason=override_reason,
    )


# -- a person decides ----------------------------------------------------------------------

# The halts a person's approval does not override without saying so: every halt but AI
# trading being off (that switch stops the AI, not a person).
_PERSON_MAY_DECIDE_WHILE = {"ai_trading_enabled"}


@dataclasses.dataclass(frozen=True)
class ApprovalReview:
    """What approving ``idea`` now would do: the gate run again at this moment, and what
    an approval would override (each in words): an idea older than
    DESK_APPROVAL_MAX_AGE_MINUTES, one without a stop, one the gate now rejects."""

    idea: TradeIdea
    verdict: Verdict
    verdict_json: dict[str, Any]
    now: datetime
    overrides: tuple[str, ...]

    @property
    def asks_only_approval(self) -> bool:
        """Nothing to override: what the gate asks for is a person's approval."""
        return not self.overrides


class ApprovalNeedsOverride(DeskError):
    """The approval overrides what the gate or the desk's rules ask; it takes a written
    override reason (``override_reason``)."""

    status = 409
    code = "conflict"

    def __init__(self, review: ApprovalReview):
        self.review = review
        super().__init__(
            "approving this idea overrides: "
            + "; ".join(review.overrides)
            + ". Say why in the override reason, or reject it",
            "override_reason",
        )


def approval_review(idea: TradeIdea, *, now: datetime | None = None, lock: bool = False):
    """The gate run again on ``idea`` at ``now`` (nothing is written) and what an
    approval would override. ``lock`` takes the risk config's row lock (an approval
    that follows holds it: no other decision may count meanwhile)."""
    from backoffice.core import formatting
    from journal import instruments

    now = now or timezone.now()
    history = pnl_history(_utc_midnight(now).date())
    config = risk_config_get(for_update=lock)
    verdict = judge(idea, config, desk_observations(idea, config, now=now, history=history))
    overrides = []
    age = now - idea.created_at
    if age > timedelta(minutes=settings.DESK_APPROVAL_MAX_AGE_MINUTES):
        overrides.append(
            f"the idea is {formatting.age(age)} old (approvals take ideas up to "
            f"{settings.DESK_APPROVAL_MAX_AGE_MINUTES} min old)"
        )
    if idea.stop_loss is None:
        overrides.append("it has no stop loss")
    against = [
        check
        for check in verdict.failed
        if check.effect != APPROVAL and check.rule not in _PERSON_MAY_DECIDE_WHILE
    ]
    if against:
        rejected = Verdict(IdeaStatus.REJECTED, against)
        text = _summary(
            rejected, config.currency, desk_instrument=instruments.instrument_for(idea.symbol)
        )
        overrides.append(f"the gate now rejects it ({text})")
    return ApprovalReview(
        idea=idea,
        verdict=verdict,
        verdict_json=verdict_json(verdict, config, idea.symbol),
        now=now,
        overrides=tuple(overrides),
    )


def _waiting_idea(idea_id: int, user) -> TradeIdea:
    """The idea, locked; IllegalTransition when it no longer waits for a person."""
    idea = TradeIdea.objects.select_for_update().filter(pk=idea_id).first()
    if idea is None:
        raise DeskError(f"no trade idea #{idea_id}", "id")
    if idea.status != IdeaStatus.NEEDS_APPROVAL:
        who = f" by {idea.decided_by}" if idea.decided_by else ""
        raise IllegalTransition(
            f"trade idea #{idea.pk} was already decided{who}: {idea.get_status_display().lower()}",
            "status",
        )
    return idea


def proposed_by(idea: TradeIdea, user) -> bool:
    """Whether ``user`` proposed ``idea`` (submitted it with their session)."""
    return bool(idea.submitted_by) and idea.submitted_by == user.get_username()


@transaction.atomic
def idea_approve(
    *,
    idea_id: int,
    user,
    reason: str,
    override_reason: str = "",
    now: datetime | None = None,
) -> tuple[TradeIdea, ApprovalReview]:
    """A person approves an idea that waits for approval, saying why.

    The gate runs again at this moment under the risk config's lock (so the approval
    counts against the limits like any execution). An idea that is older than
    DESK_APPROVAL_MAX_AGE_MINUTES, has no stop, or that the gate now rejects is approved
    only with a written ``override_reason`` (ApprovalNeedsOverride otherwise), kept on
    the decision. Nobody approves an idea they proposed. Two people at once: the idea's
    row lock makes the second wait, then IllegalTransition names the first decision.
    """
    reason = clean_reason(reason, "reason", "say why you approve it: the reason is kept")
    idea = _waiting_idea(idea_id, user)
    if proposed_by(idea, user):
        raise DeskError("you proposed this idea: another person approves it", "user")
    review = approval_review(idea, now=now, lock=True)
    override = None
    if review.overrides:
        if not (override_reason or "").strip():
            raise ApprovalNeedsOverride(review)
        why = clean_reason(override_reason, "override_reason", "say why you override")
        override = f"{'; '.join(review.overrides)}. Overridden: {why}"
    _transition(
        idea,
        IdeaStatus.APPROVED,
        actor=user.get_username(),
        actor_user=user,
        rationale=reason,
        human_override=True,
        risk_check_result=review.verdict_json,
        override_reason=override,
    )
    return idea, review


@transaction.atomic
def idea_reject(*, idea_id: int, user, reason: str) -> TradeIdea:
    """A person rejects an idea that waits for approval, saying why."""
    reason = clean_reason(reason, "reason", "a reason is required to reject a trade idea")
    idea = _waiting_idea(idea_id, user)
    _transition(
        idea,
        IdeaStatus.REJECTED,
        actor=user.get_username(),
        actor_user=user,
        rationale=reason,
        human_override=True,
    )
    return idea


@dataclasses.dataclass
class BulkApproval:
    approved: list[TradeIdea] = dataclasses.field(default_factory=list)
    skipped: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (id, why)


def ideas_approve(*, idea_ids: list[int], user, reason: str) -> BulkApproval:
    """Approve several ideas with one reason: only those whose gate, run again now, asks
    for nothing but a person's approval (no override). Each idea is decided in its own
    transaction; the others are listed with why they were left."""
    clean_reason(reason, "reason", "say why you approve them: the reason is kept")
    result = BulkApproval()
    for idea_id in idea_ids:
        try:
            idea, _ = idea_approve(idea_id=idea_id, user=user, reason=reason)
        except ApprovalNeedsOverride as exc:
            result.skipped.append(
                (idea_id, "needs an override: " + "; ".join(exc.review.overrides))
            )
        except DeskError as exc:
            result.skipped.append((idea_id, str(exc)))
        else:
            result.approved.append(idea)
    return result
