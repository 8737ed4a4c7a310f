"""The gate counts what it has executed and what is being executed (issue 26, item 1).

With the limit at open trades + 2, sixteen ideas were auto-executed: an executed idea has
no trade yet, so it counted as nothing, and every check showed the same observed count.
Now an idea executed by the gate or approved by a person counts against the open-trade
and trades-per-day limits until its trade arrives or DESK_EXECUTION_WINDOW_MINUTES pass,
and submissions are serialised by the risk config's row lock held across counting and
deciding: N ideas sent at once against a limit of k give exactly k executions.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from desk.models import IdeaStatus, Strategy, TradeIdea
from desk.services import idea_approve, idea_submit, risk_config_update
from journal.write.capture import record_trades
from tests.desk.conftest import idea, live_market
from tests.journal.conftest import open_trade_data

pytestmark = pytest.mark.django_db

EXECUTED = (IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED)


def limits(**changes):
    risk_config_update(changes=changes, actor="test", reason="the test's limits")


def check(verdict, rule):
    return next(c for c in verdict.checks if c.rule == rule)


@pytest.fixture
def desk_at_two(open_desk):
    """One trade open, room for two more."""
    record_trades([open_trade_data(trade_id="OPEN-1", symbol="EURUSD")])
    limits(max_concurrent_trades=3)


def test_executed_ideas_without_a_trade_count_against_the_limit(desk_at_two):
    """The reproduction: on the old code all five were executed, each seeing 1 open."""
    verdicts = [idea_submit(idea=idea(), actor="bot")[1] for _ in range(5)]
    assert [v.status for v in verdicts] == [IdeaStatus.AUTO_EXECUTED] * 2 + [
        IdeaStatus.REJECTED
    ] * 3
    seen = [check(v, "max_concurrent_trades").observed for v in verdicts]
    assert seen == [1, 2, 3, 3, 3]
    assert check(verdicts[2], "max_concurrent_trades").note == (
        "1 open + 2 executed without a trade yet"
    )


def test_an_executed_idea_stops_counting_once_its_trade_arrives(desk_at_two, clock):
    first, _ = idea_submit(idea=idea(), actor="bot")
    idea_submit(idea=idea(), actor="bot")
    _, full = idea_submit(idea=idea(), actor="bot")
    assert full.status == IdeaStatus.REJECTED
    # The first idea's trade is recorded, then closed: it counts no more.
    opened = clock.now() - timedelta(seconds=30)
    fill = {"trade_id": "FILL-1", "idea_id": first.pk, "opened": opened}
    record_trades([open_trade_data(**fill)])
    closed = {"closed_at": clock.now().isoformat(), "exit_price": "1.0870", "pnl": "20"}
    record_trades([open_trade_data(**fill, **closed)])
    _, room = idea_submit(idea=idea(), actor="bot")
    assert room.status == IdeaStatus.AUTO_EXECUTED, [c for c in room.checks if not c.passed]
    assert check(room, "max_concurrent_trades").observed == 2  # OPEN-1 + one in flight


def test_an_execution_without_a_trade_counts_for_the_window_only(desk_at_two, clock, settings):
    settings.DESK_EXECUTION_WINDOW_MINUTES = 30
    idea_submit(idea=idea(), actor="bot")
    idea_submit(idea=idea(), actor="bot")
    assert idea_submit(idea=idea(), actor="bot")[1].status == IdeaStatus.REJECTED
    clock.shift(31 * 60)
    live_market()  # the data stays fresh
    _, later = idea_submit(idea=idea(), actor="bot")
    assert later.status == IdeaStatus.AUTO_EXECUTED
    assert check(later, "max_concurrent_trades").observed == 1


def test_an_approved_idea_counts_like_an_executed_one(desk_at_two, risk_manager):
    gbp = idea(
        symbol="GBPUSD",
        entry_price=Decimal("1.2700"),
        stop_loss=Decimal("1.2650"),
        take_profit=Decimal("1.2800"),
    )
    waiting, _ = idea_submit(idea=gbp, actor="bot")
    assert waiting.status == IdeaStatus.NEEDS_APPROVAL  # off the watchlist
    idea_approve(idea_id=waiting.pk, user=risk_manager, reason="GBP data is out")
    idea_submit(idea=idea(), actor="bot")
    _, third = idea_submit(idea=idea(), actor="bot")
    assert third.status == IdeaStatus.REJECTED
    assert check(third, "max_concurrent_trades").observed == 3


def test_a_strategys_caps_count_its_executions_in_flight(open_desk):
    strategy = Strategy.objects.create(
        name="scalp",
        allowed_symbols=["EURUSD"],
        risk_caps={"max_open_trades": 2, "max_trades_per_day": 3},
    )
    verdicts = [idea_submit(idea=idea(strategy=strategy), actor="bot")[1] for _ in range(3)]
    assert [v.status for v in verdicts] == [
        IdeaStatus.AUTO_EXECUTED,
        IdeaStatus.AUTO_EXECUTED,
        IdeaStatus.REJECTED,
    ]
    assert check(verdicts[2], "strategy_max_open_trades").observed == 2
    assert check(verdicts[2], "strategy_max_trades_per_day").observed == 2


def _submit_at_once(count: int) -> list[str]:
    """``count`` ideas submitted at the same moment, each on its own connection."""
    barrier = threading.Barrier(count)
    statuses: list[str] = []
    errors: list[BaseException] = []

    def submit():
        try:
            barrier.wait(10)
            submitted, _ = idea_submit(idea=idea(), actor="bot")
            statuses.append(submitted.status)
        except BaseException as exc:  # the test reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return statuses


def _race(limit: int, sent: int) -> None:
    live_market()
    risk_config_update(
        changes={
            "ai_trading_enabled": True,
            "watchlist": ["EURUSD"],
            "max_concurrent_trades": limit,
            "max_drawdown_amount": Decimal(1000),
            "max_lot_size": Decimal(2),
        },
        actor="test",
        reason="a race",
    )
    connection.close()  # the WebAssembly server serves one connection at a time
    statuses = _submit_at_once(sent)
    assert len(statuses) == sent
    assert statuses.count(IdeaStatus.AUTO_EXECUTED) == limit, statuses
    assert TradeIdea.objects.filter(status__in=EXECUTED).count() == limit


@pytest.mark.django_db(transaction=True)
def test_ideas_sent_at_once_from_many_connections_execute_exactly_the_limit():
    """Twelve ideas at once against a limit of 3 on plain PostgreSQL: exactly 3."""
    _race(limit=3, sent=12)


@pytest.mark.timescale
@pytest.mark.django_db(transaction=True)
def test_ideas_sent_at_once_execute_exactly_the_limit_on_timescaledb():
    """The same race on TimescaleDB (the WebAssembly server serves one connection at a
    time: the connections queue; a native server, TEST_TIMESCALE_URL, races them)."""
    _race(limit=2, sent=6)


def test_the_window_is_a_setting_and_old_executions_are_not_counted(desk_at_two, settings):
    executed, _ = idea_submit(idea=idea(), actor="bot")
    TradeIdea.objects.filter(pk=executed.pk).update(
        decided_at=executed.decided_at
        - timedelta(minutes=settings.DESK_EXECUTION_WINDOW_MINUTES)
        - timedelta(seconds=1)
    )
    _, next_one = idea_submit(idea=idea(), actor="bot")
    assert check(next_one, "max_concurrent_trades").observed == 1
