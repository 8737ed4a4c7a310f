"""The risk gate's rules and the workflow's transitions, with their decisions."""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from desk.gate import Observations, judge
from desk.models import Action, Decision, IdeaStatus, RiskConfig, Strategy
from desk.services import (
    TRANSITIONS,
    DeskError,
    IllegalTransition,
    _transition,
    idea_approve,
    idea_reject,
    idea_submit,
    risk_config_update,
)
from journal.instruments import catalogue_instrument
from journal.write.capture import record_trades
from tests.desk.conftest import EQUITY, idea, live_market
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
CALM = Observations(
    now=NOW,
    open_trades=0,
    today_pnl=Decimal(0),
    drawdown=Decimal(0),
    instrument=catalogue_instrument("EURUSD"),
    to_account=Decimal(1),
    equity=EQUITY,
    equity_at=NOW - timedelta(minutes=1),
    bar_at=NOW - timedelta(minutes=1),
)


def config(**overrides) -> RiskConfig:
    values = {
        "ai_trading_enabled": True,
        "min_confidence_threshold": Decimal("0.7"),
        "max_lot_size": Decimal(2),
        "max_concurrent_trades": 3,
        "daily_profit_target": Decimal(500),
        "stop_after_target": True,
        "max_drawdown_amount": Decimal(1000),
        "halt_on_drawdown": True,
        "allow_off_watchlist_autotrade": False,
        "watchlist": ["EURUSD"],
    }
    values.update(overrides)
    return RiskConfig(**values)


def rules(verdict) -> dict:
    return {c.rule: c for c in verdict.checks}


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("proposal", "settings", "observed", "status", "failing"),
    [
        ({}, {}, CALM, IdeaStatus.AUTO_EXECUTED, []),
        ({"symbol": "GBPUSD"}, {}, CALM, IdeaStatus.NEEDS_APPROVAL, ["watchlist"]),
        (
            {"symbol": "GBPUSD"},
            {"allow_off_watchlist_autotrade": True},
            CALM,
            IdeaStatus.AUTO_EXECUTED,
            [],
        ),
        ({"confidence_score": Decimal("0.6")}, {}, CALM, IdeaStatus.REJECTED, ["min_confidence"]),
        (
            {"lot_size": Decimal(5)},
            {},
            CALM,
            IdeaStatus.REJECTED,
            ["max_lot_size", "max_risk_per_trade", "max_risk_pct_of_equity"],
        ),
        (
            {},
            {},
            replace(CALM, open_trades=3),
            IdeaStatus.REJECTED,
            ["max_concurrent_trades"],
        ),
        (
            {},
            {"ai_trading_enabled": False},
            CALM,
            IdeaStatus.HALTED_BY_RISK,
            ["ai_trading_enabled"],
        ),
        (
            {},
            {},
            replace(CALM, today_pnl=Decimal(600)),
            IdeaStatus.HALTED_BY_RISK,
            ["daily_profit_target"],
        ),
        (
            {},
            {"stop_after_target": False},
            replace(CALM, today_pnl=Decimal(600)),
            IdeaStatus.AUTO_EXECUTED,
            [],
        ),
        (
            {},
            {},
            replace(CALM, drawdown=Decimal(1000)),
            IdeaStatus.HALTED_BY_RISK,
            ["max_drawdown"],
        ),
    ],
)
def test_each_rule_gives_its_verdict(proposal, settings, observed, status, failing):
    verdict = judge(idea(**proposal), config(**settings), observed)
    assert verdict.status == status
    assert [c.rule for c in verdict.failed] == failing


@pytest.mark.smoke
def test_each_check_names_its_limit_and_observed_value():
    verdict = judge(idea(confidence_score=Decimal("0.65")), config(), CALM)
    check = rules(verdict)["min_confidence"]
    assert (check.limit, check.observed, check.passed) == (Decimal("0.7"), Decimal("0.65"), False)
    result = verdict.as_json()
    assert result["verdict"] == "rejected"
    assert {"rule", "limit", "observed", "passed"} <= set(result["checks"][0])


@pytest.mark.smoke
def test_a_strategy_limits_symbols_and_must_be_active():
    strategy = Strategy(name="s", allowed_symbols=["GBPUSD"], is_active=False)
    verdict = judge(idea(strategy=strategy), config(), CALM)
    assert verdict.status == IdeaStatus.REJECTED
    assert {c.rule for c in verdict.failed} == {"strategy_active", "strategy_symbols"}


@pytest.mark.smoke
@pytest.mark.parametrize("start", IdeaStatus.values)
@pytest.mark.parametrize("end", IdeaStatus.values)
def test_every_pair_of_statuses_is_allowed_or_refused(start, end):
    proposal = idea()
    proposal.status = start
    proposal.save()
    if (start, end) in TRANSITIONS:
        decision = _transition(proposal, end, actor="test")
        assert decision.action == TRANSITIONS[(start, end)]
        assert proposal.status == end
    else:
        with pytest.raises(IllegalTransition, match=f"cannot go from {start} to {end}"):
            _transition(proposal, end, actor="test")
        assert not Decision.objects.exists()


def test_submitting_judges_and_writes_the_decision_in_one_go(open_desk):
    submitted, _ = idea_submit(idea=idea(), actor="api-key:ai-engine")
    assert submitted.status == IdeaStatus.AUTO_EXECUTED
    decision = Decision.objects.get(trade_idea=submitted)
    assert decision.action == Action.AI_AUTO_EXECUTED
    assert decision.risk_check_result["verdict"] == "auto_executed"
    assert decision.actor == "api-key:ai-engine"


def test_the_gate_reads_open_trades_and_todays_pnl_from_the_journal(open_desk):
    record_trades([open_trade_data() for _ in range(5)])
    submitted, verdict = idea_submit(idea=idea(), actor="bot")
    assert submitted.status == IdeaStatus.REJECTED
    assert rules(verdict)["max_concurrent_trades"].observed == 5


def test_a_drawdown_breach_halts_the_ai_and_resuming_is_recorded(open_desk, django_user_model):
    now = datetime.now(UTC) - timedelta(days=3)
    record_trades(
        [
            trade_data(opened=now, pnl="800"),
            trade_data(opened=now + timedelta(days=1), pnl="-1200"),
        ]
    )
    submitted, _ = idea_submit(idea=idea(), actor="bot")
    assert submitted.status == IdeaStatus.HALTED_BY_RISK
    config = RiskConfig.objects.get()
    assert config.ai_trading_enabled is False
    assert "drawdown 1200" in config.last_halt_reason
    assert Decision.objects.filter(action=Action.AI_HALTED).count() == 1
    # The next idea is halted because the AI is off, without a second halt.
    assert idea_submit(idea=idea(), actor="bot")[0].status == IdeaStatus.HALTED_BY_RISK
    assert Decision.objects.filter(action=Action.AI_HALTED).count() == 1
    rosa = django_user_model.objects.create_user("rosa", is_staff=True)
    risk_config_update(
        changes={"ai_trading_enabled": True, "max_drawdown_amount": Decimal(5000)},
        actor="rosa",
        actor_user=rosa,
        reason="the desk reopens after the review",
    )
    resumed = Decision.objects.filter(action=Action.AI_RESUMED).latest("occurred_at")
    assert resumed.actor_user == rosa and resumed.human_override
    assert RiskConfig.objects.get().last_halt_reason == ""


def test_approving_and_rejecting_record_the_person(open_desk, django_user_model):
    rosa = django_user_model.objects.create_user("rosa", is_staff=True)
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    assert waiting.status == IdeaStatus.NEEDS_APPROVAL
    with pytest.raises(DeskError, match="reason is required"):
        idea_reject(idea_id=waiting.pk, user=rosa, reason="")
    idea_reject(idea_id=waiting.pk, user=rosa, reason="payrolls in 5 min")
    decision = Decision.objects.get(action=Action.HUMAN_REJECTED)
    assert (decision.actor_user, decision.human_override, decision.rationale) == (
        rosa,
        True,
        "payrolls in 5 min",
    )
    with pytest.raises(IllegalTransition, match="already decided by rosa"):
        idea_approve(idea_id=waiting.pk, user=rosa, reason="looks fine")


@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_at_once_one_wins_the_other_is_told(django_user_model):
    live_market()
    risk_config_update(
        changes={"ai_trading_enabled": True, "watchlist": [], "max_concurrent_trades": 5},
        actor="test",
        reason="test",
    )
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    people = [django_user_model.objects.create_user(n, is_staff=True) for n in ("ann", "bob")]
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def decide(person, approve):
        try:
            barrier.wait(5)
            if approve:
                idea_approve(idea_id=waiting.pk, user=person, reason="a clean setup")
            else:
                idea_reject(idea_id=waiting.pk, user=person, reason="no")
            outcomes[person.username] = "won"
        except IllegalTransition as exc:
            outcomes[person.username] = str(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(people[0], True)),
        threading.Thread(target=decide, args=(people[1], False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values())[-1] == "won"
    loser = next(text for text in outcomes.values() if text != "won")
    assert "already decided by" in loser
    human = Decision.objects.filter(action__in=[Action.HUMAN_APPROVED, Action.HUMAN_REJECTED])
    assert human.count() == 1
