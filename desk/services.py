"""Writes of the desk: the risk config, trade ideas and their workflow, decisions.

The workflow's allowed transitions live in TRANSITIONS, each with the Decision it
writes; every transition and its Decision commit together or not at all.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from backoffice.errors import DomainError
from backoffice.prometheus import observe_verdict
from desk.gate import Observations, Verdict, judge
from desk.models import Action, Decision, IdeaStatus, RiskConfig, RiskConfigChange, TradeIdea

logger = logging.getLogger(__name__)

S = IdeaStatus
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.WAITING, S.AUTO_EXECUTED): Action.AI_AUTO_EXECUTED,
    (S.WAITING, S.NEEDS_APPROVAL): Action.AI_PROPOSED,
    (S.WAITING, S.REJECTED): Action.RISK_REJECTED,
    (S.WAITING, S.HALTED_BY_RISK): Action.RISK_REJECTED,
    (S.NEEDS_APPROVAL, S.AUTO_EXECUTED): Action.HUMAN_APPROVED,
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


EDITABLE_LIMITS = (
    "ai_trading_enabled",
    "min_confidence_threshold",
    "max_lot_size",
    "max_concurrent_trades",
    "daily_profit_target",
    "stop_after_target",
    "max_drawdown_amount",
    "halt_on_drawdown",
    "allow_off_watchlist_autotrade",
    "watchlist",
)


@transaction.atomic
def risk_config_update(*, changes: dict[str, Any], actor: str, actor_user=None) -> RiskConfig:
    """Change limits; each changed field is audited, and switching AI trading on or
    off writes ai_resumed / ai_halted to the decision history."""
    unknown = set(changes) - set(EDITABLE_LIMITS)
    if unknown:
        raise DeskError(f"{sorted(unknown)[0]} cannot be changed here", sorted(unknown)[0])
    config = risk_config_get(for_update=True)
    before = {name: getattr(config, name) for name in changes}
    for name, value in changes.items():
        setattr(config, name, value)
    try:
        config.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DeskError(f"{field}: {'; '.join(messages)}", field) from None
    changed = {n: v for n, v in changes.items() if getattr(config, n) != before[n]}
    if "ai_trading_enabled" in changed:
        if config.ai_trading_enabled:
            config.last_halt_reason = ""
            _decide(
                action=Action.AI_RESUMED,
                actor=actor,
                actor_user=actor_user,
                rationale="AI trading switched on",
                human_override=actor_user is not None,
            )
        else:
            config.last_halt_reason = f"switched off by {actor}"
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
        )
        for name in changed
    )
    return config


def _halt_ai(config: RiskConfig, reason: str, *, idea: TradeIdea) -> None:
    config.ai_trading_enabled = False
    config.last_halt_reason = reason
    config.save(update_fields=["ai_trading_enabled", "last_halt_reason", "updated_at"])
    RiskConfigChange.objects.create(
        actor="risk-gate", field="ai_trading_enabled", old_value="True", new_value="False"
    )
    _decide(action=Action.AI_HALTED, actor="risk-gate", rationale=reason, idea=idea)
    logger.warning("AI trading halted by the risk gate", extra={"reason": reason})


# -- observations from the journal -------------------------------------------------------


def journal_observations(now: datetime | None = None) -> Observations:
    """Open trades, today's closed P&L (UTC day) and the current drawdown."""
    from journal.analytics import metrics, performance
    from journal.models import Trade, TradeStatus

    now = now or timezone.now()
    midnight = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    today = Trade.objects.filter(status=TradeStatus.CLOSED, closed_at__gte=midnight)
    daily = [row["net_pnl"] for row in metrics.by_day()]
    drawdowns = performance.drawdowns(daily)
    return Observations(
        open_trades=Trade.objects.filter(status=TradeStatus.OPEN).count(),
        today_pnl=today.aggregate(total=Sum("pnl"))["total"] or Decimal(0),
        drawdown=drawdowns[-1] if drawdowns else Decimal(0),
    )


# -- ideas ---------------------------------------------------------------------------------


@transaction.atomic
def idea_submit(*, idea: TradeIdea, actor: str) -> tuple[TradeIdea, Verdict]:
    """Store a new idea and put it through the gate; the verdict's transition and its
    Decision are written in the same transaction."""
    idea.status = IdeaStatus.WAITING
    idea.submitted_by = actor
    try:
        idea.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise DeskError(f"{field}: {'; '.join(messages)}", field) from None
    idea.save()
    # The row lock on the config serialises ideas judged at the same moment, so two
    # of them cannot both slip under max_concurrent_trades or both halt the AI.
    config = risk_config_get(for_update=True)
    verdict = judge(idea, config, journal_observations())
    idea.risk_check_result = verdict.as_json()
    idea.save(update_fields=["risk_check_result"])
    if verdict.halt_reason:
        _halt_ai(config, verdict.halt_reason, idea=idea)
    _transition(idea, verdict.status, actor=actor, rationale=_summary(verdict))
    transaction.on_commit(lambda: observe_verdict(verdict.status))
    return idea, verdict


def _summary(verdict: Verdict) -> str:
    if not verdict.failed:
        return "every risk rule passed"
    return "; ".join(f"{c.rule}: observed {c.observed}, limit {c.limit}" for c in verdict.failed)


def _transition(
    idea: TradeIdea,
    to: str,
    *,
    actor: str,
    actor_user=None,
    rationale: str = "",
    human_override: bool = False,
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
    )


def _decide(
    *,
    action: str,
    actor: str,
    actor_user=None,
    idea: TradeIdea | None = None,
    rationale: str = "",
    human_override: bool = False,
) -> Decision:
    return Decision.objects.create(
        occurred_at=timezone.now(),
        action=action,
        actor=actor,
        actor_user=actor_user,
        trade_idea=idea,
        symbol=idea.symbol if idea else "",
        strategy=idea.strategy if idea else None,
        confidence_score=idea.confidence_score if idea else None,
        risk_check_result=idea.risk_check_result if idea else {},
        snapshot_ref=idea.snapshot_ref if idea else "",
        rationale=rationale,
        human_override=human_override,
    )


@transaction.atomic
def idea_decide(*, idea_id: int, approve: bool, user, reason: str = "") -> TradeIdea:
    """A person approves or rejects an idea that needs approval.

    Two staff acting at once: the row lock makes the second wait, then see the first
    one's decision and get IllegalTransition naming it.
    """
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DeskError("a reason is required to reject a trade idea", "reason")
    idea = TradeIdea.objects.select_for_update().filter(pk=idea_id).first()
    if idea is None:
        raise DeskError(f"no trade idea #{idea_id}", "id")
    if idea.status != IdeaStatus.NEEDS_APPROVAL:
        who = f" by {idea.decided_by}" if idea.decided_by else ""
        raise IllegalTransition(
            f"trade idea #{idea.pk} was already decided{who}: it is {idea.status}", "status"
        )
    to = IdeaStatus.AUTO_EXECUTED if approve else IdeaStatus.REJECTED
    _transition(
        idea,
        to,
        actor=user.get_username(),
        actor_user=user,
        rationale=reason or "approved",
        human_override=True,
    )
    return idea
