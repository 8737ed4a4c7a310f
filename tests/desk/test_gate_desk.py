"""The gate on a real desk: what it observes (journal, snapshots, calendar, instruments),
the issue's reproductions through the API, and a person's approval shown as such."""

import importlib
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from desk.models import (
    AccountSnapshot,
    Action,
    CalendarEvent,
    Decision,
    IdeaStatus,
    RiskConfig,
    Strategy,
    TradeIdea,
)
from desk.services import idea_approve, idea_submit, risk_config_update
from journal.write.capture import record_trades
from tests.desk.conftest import idea, idea_body, live_market
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]


def checks(result) -> dict:
    return {c["rule"]: c for c in result["checks"]}


def test_the_issues_unstopped_unsized_idea_waits_for_a_person(open_desk, engine):
    """Issue 17, reproduction 1: this answered 201 auto_executed."""
    body = {"symbol": "EURUSD", "direction": "long", "entry_price": 1.085, "confidence_score": 0.9}
    response = engine.post("/api/v1/trade-ideas", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "needs_approval"
    rows = checks(response.json()["risk_check_result"])
    assert rows["require_stop_loss"]["passed"] is False
    assert rows["lot_size"]["passed"] is False
    assert rows["lot_size"]["note"] == "no lot size proposed and no default lot: a person sizes it"


def test_a_default_lot_is_stored_on_the_idea(open_desk):
    risk_config_update(changes={"default_lot_size": Decimal("0.2")}, actor="test", reason="test")
    submitted, _ = idea_submit(idea=idea(lot_size=None), actor="bot")
    assert submitted.status == IdeaStatus.AUTO_EXECUTED
    assert TradeIdea.objects.get(pk=submitted.pk).lot_size == Decimal("0.2")


def test_todays_closed_loss_halts_the_ai_at_the_daily_limit(open_desk):
    now = timezone.now()
    opened = max(now - timedelta(hours=2), now.replace(hour=0, minute=0, second=0, microsecond=0))
    record_trades(
        [
            trade_data(opened=opened, closed_at=opened.isoformat(), pnl="-300"),
            trade_data(opened=opened, closed_at=opened.isoformat(), pnl="-200"),
        ]
    )
    submitted, verdict = idea_submit(idea=idea(), actor="bot")
    assert submitted.status == IdeaStatus.HALTED_BY_RISK
    assert {c.rule: c.observed for c in verdict.checks}["max_daily_loss"] == Decimal(-500)
    config = RiskConfig.objects.get()
    assert config.ai_trading_enabled is False
    assert config.last_halt_reason == "today's loss 500 reached the daily limit 500"
    assert Decision.objects.filter(action=Action.AI_HALTED).count() == 1


def test_the_drawdown_joins_the_history_before_today_and_today(open_desk):
    now = timezone.now().astimezone(UTC)
    days_ago = now - timedelta(days=3)
    record_trades(
        [
            trade_data(opened=days_ago, pnl="700"),  # peak 700
            trade_data(opened=days_ago + timedelta(days=1), pnl="-600"),  # 100: drawdown 600
            trade_data(opened=now - timedelta(minutes=30), closed_at=now.isoformat(), pnl="-450"),
        ]
    )
    risk_config_update(changes={"max_daily_loss": None}, actor="test", reason="test")
    _, verdict = idea_submit(idea=idea(), actor="bot")
    observed = {c.rule: c.observed for c in verdict.checks}
    assert observed["max_drawdown"] == Decimal(1050)  # 700 - (700 - 600 - 450)
    assert verdict.status == IdeaStatus.HALTED_BY_RISK


def test_equity_comes_from_the_risk_account_when_one_is_named(open_desk):
    now = timezone.now()
    AccountSnapshot.objects.create(
        captured_at=now - timedelta(minutes=1),
        account="small",
        balance=Decimal(2000),
        equity=Decimal(2000),
    )
    _, verdict = idea_submit(idea=idea(), actor="bot")
    share = {c.rule: c for c in verdict.checks}["max_risk_pct_of_equity"]
    assert share.observed == Decimal("0.05")  # 50 USD of the latest (100,000) snapshot
    risk_config_update(changes={"risk_account": "small"}, actor="test", reason="test")
    _, verdict = idea_submit(idea=idea(), actor="bot")
    share = {c.rule: c for c in verdict.checks}["max_risk_pct_of_equity"]
    assert (share.observed, share.passed) == (Decimal("2.50"), False)  # 50 of 2,000
    assert verdict.status == IdeaStatus.REJECTED


def test_a_yen_risk_is_converted_at_the_latest_usdjpy_bar(open_desk):
    _, verdict = idea_submit(
        idea=idea(
            symbol="USDJPY",
            entry_price=Decimal("150.000"),
            stop_loss=Decimal("149.700"),
            take_profit=Decimal("151.000"),
            lot_size=Decimal("0.5"),
        ),
        actor="bot",
    )
    # 0.300 x 0.5 x 100,000 = 15,000 JPY = 100 USD at 150
    assert {c.rule: c.observed for c in verdict.checks}["max_risk_per_trade"] == Decimal(100)


def test_a_stale_account_snapshot_sends_the_idea_to_a_person(db):
    live_market(timezone.now() - timedelta(hours=2))
    risk_config_update(
        changes={"ai_trading_enabled": True, "watchlist": ["EURUSD"], "max_lot_size": 2},
        actor="test",
        reason="test",
    )
    submitted, verdict = idea_submit(idea=idea(), actor="bot")
    assert submitted.status == IdeaStatus.NEEDS_APPROVAL
    ages = {c.rule: c for c in verdict.failed}
    assert set(ages) == {"account_snapshot_age", "market_bar_age"}
    assert ages["account_snapshot_age"].observed >= 119


def test_a_strategys_caps_count_its_own_trades(open_desk):
    breakout = Strategy.objects.create(
        name="breakout", risk_caps={"max_open_trades": 2, "max_trades_per_day": 3}
    )
    now = timezone.now()
    record_trades([open_trade_data(opened=now - timedelta(minutes=m)) for m in (1, 2)])
    record_trades([open_trade_data(opened=now - timedelta(minutes=3), strategy="other")])
    _, verdict = idea_submit(idea=idea(strategy=breakout), actor="bot")
    rows = {c.rule: c for c in verdict.checks}
    assert (rows["strategy_max_open_trades"].observed, rows["strategy_max_open_trades"].passed) == (
        2,
        False,
    )
    assert rows["max_concurrent_trades"].observed == 3


def test_a_high_impact_event_near_now_trips_a_forbidden_condition(open_desk):
    news_averse = Strategy.objects.create(
        name="news-averse",
        forbidden_conditions=[{"indicator": "impact_level", "operator": "==", "value": "high"}],
    )
    submitted, _ = idea_submit(idea=idea(strategy=news_averse), actor="bot")
    assert submitted.status == IdeaStatus.AUTO_EXECUTED
    now = timezone.now()
    CalendarEvent.objects.create(
        captured_at=now,
        event_time=now + timedelta(minutes=20),
        currency="USD",
        impact_level="high",
        title="Non-farm payrolls",
    )
    submitted, verdict = idea_submit(idea=idea(strategy=news_averse), actor="bot")
    assert submitted.status == IdeaStatus.REJECTED
    assert [c.rule for c in verdict.failed] == ["strategy_forbidden"]


def test_unknown_symbols_are_refused_where_instruments_are_required(open_desk, engine, settings):
    settings.INSTRUMENTS_REQUIRED = True
    response = engine.post("/api/v1/trade-ideas", idea_body(symbol="EURGBP"), format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["symbol"]
    assert not TradeIdea.objects.filter(symbol="EURGBP").exists()
    settings.INSTRUMENTS_REQUIRED = False
    response = engine.post("/api/v1/trade-ideas", idea_body(symbol="EURGBP"), format="json")
    assert response.json()["status"] == "needs_approval"  # accepted and flagged
    assert checks(response.json()["risk_check_result"])["instrument"]["passed"] is False


# -- status truth --------------------------------------------------------------------------


def test_a_persons_approval_reads_as_theirs_everywhere(open_desk, engine, risk_manager):
    """Issue 17, reproduction 2: an approved idea read "Auto-executed"."""
    waiting, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    idea_approve(idea_id=waiting.pk, user=risk_manager, reason="checked the chart")
    approved = TradeIdea.objects.get(pk=waiting.pk)
    assert approved.status == IdeaStatus.APPROVED
    assert approved.get_status_display() == "Approved by a person"
    when = f"{approved.decided_at.astimezone(UTC):%Y-%m-%d %H:%M}"
    assert approved.status_detail == f"Approved by rosa at {when} UTC"
    assert str(approved) == f"#{approved.pk} Long GBPUSD: Approved by rosa at {when} UTC"
    listed = engine.get("/api/v1/trade-ideas", {"status": "approved"}).json()["results"]
    assert [(i["id"], i["decided_by"], i["status_detail"]) for i in listed] == [
        (approved.pk, "rosa", approved.status_detail)
    ]
    gate_run = engine.get("/api/v1/trade-ideas", {"status": "auto_executed"}).json()["results"]
    assert approved.pk not in [i["id"] for i in gate_run]
    decision = Decision.objects.get(trade_idea=approved, action=Action.HUMAN_APPROVED)
    assert decision.actor_user == risk_manager


def test_the_migration_marks_past_approvals_as_a_persons(open_desk, risk_manager):
    """Ideas approved before the approved status existed were stored auto_executed."""
    migration = importlib.import_module("desk.migrations.0004_gate_limits")
    by_gate, _ = idea_submit(idea=idea(), actor="bot")
    by_person, _ = idea_submit(idea=idea(symbol="GBPUSD"), actor="bot")
    TradeIdea.objects.filter(pk=by_person.pk).update(
        status="auto_executed", decided_by=risk_manager
    )
    apps = MigrationExecutor(connection).loader.project_state(("desk", "0004_gate_limits")).apps
    migration.forward(apps, type("Editor", (), {"connection": connection})())
    statuses = dict(TradeIdea.objects.values_list("pk", "status"))
    assert statuses[by_gate.pk] == "auto_executed"
    assert statuses[by_person.pk] == "approved"


def test_the_job_engine_refreshes_the_history_a_late_import_changes(open_desk):
    """The gate keeps the P&L before today for a minute; the half-minute job reads it
    again, so a loss imported onto an earlier day reaches the drawdown without waiting."""
    from desk.tasks import refresh_pnl_history

    _, before = idea_submit(idea=idea(), actor="bot")
    assert {c.rule: c.observed for c in before.checks}["max_drawdown"] == 0
    # Noon of the UTC day before: opened and closed that day, whatever the hour now.
    midnight = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = midnight - timedelta(hours=12)
    record_trades(
        [trade_data(opened=yesterday, pnl="300"), trade_data(opened=yesterday, pnl="-900")]
    )
    _, cached = idea_submit(idea=idea(), actor="bot")
    assert {c.rule: c.observed for c in cached.checks}["max_drawdown"] == 0  # kept a minute
    assert [Decimal(f) for f in refresh_pnl_history()] == [-600, 0]
    _, after = idea_submit(idea=idea(), actor="bot")
    assert {c.rule: c.observed for c in after.checks}["max_drawdown"] == 600


def test_after_midnight_the_history_adds_yesterday_to_its_checkpoint(db):
    from desk.services import pnl_history
    from journal.analytics import metrics

    today = timezone.now().astimezone(UTC).date()
    midnight = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    record_trades(
        [
            trade_data(opened=midnight - timedelta(days=3), pnl="700"),
            trade_data(opened=midnight - timedelta(days=1), pnl="-200"),
        ]
    )
    assert pnl_history(today - timedelta(days=1)) == (700, 700)  # the checkpoint: day -2
    calls = []
    real = metrics.daily_pnl

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    metrics.daily_pnl = counted
    try:
        assert pnl_history(today) == (500, 700)
        assert calls == [{"since": today - timedelta(days=1), "until": today}]  # one day
        assert pnl_history(today) == (500, 700)
        assert len(calls) == 1  # kept: nothing read again
    finally:
        metrics.daily_pnl = real
