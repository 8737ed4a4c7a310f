"""The gate under concurrency, as the attack was made (issue 26, item 1): a bot sends
sixteen ideas through the API to gunicorn with two workers, eight at once and eight one
after another, against a limit of open trades + 2. Before the fix all sixteen were
auto-executed; now exactly two are, and the others are rejected naming the count.
"""

import threading

import psycopg
import pytest
import requests

from tests.live_server import LiveServer, own_cluster

SETUP = """
from decimal import Decimal
from django.utils import timezone
from desk.models import AccountSnapshot, MarketBar
from desk.services import risk_config_update
from journal.instruments import instruments_seed
from journal.write.capture import record_trades
instruments_seed()
now = timezone.now()
AccountSnapshot.objects.create(captured_at=now, account="desk-main", balance=100000, equity=100000)
MarketBar.objects.create(captured_at=now, symbol="EURUSD", timeframe="M1",
    open=Decimal("1.085"), high=Decimal("1.085"), low=Decimal("1.085"), close=Decimal("1.085"))
record_trades([{"trade_id": "OPEN-1", "executed_at": now.isoformat(), "symbol": "EURUSD",
    "side": "long", "quantity": "1", "entry_price": "1.085"}])
risk_config_update(changes={"ai_trading_enabled": True, "watchlist": ["EURUSD"],
    "max_concurrent_trades": 3, "max_lot_size": Decimal(2)}, actor="test", reason="the drill")
"""
IDEA = {
    "symbol": "EURUSD",
    "direction": "long",
    "entry_price": "1.0850",
    "stop_loss": "1.0800",
    "take_profit": "1.0950",
    "lot_size": "0.1",
    "confidence_score": "0.8",
}


@pytest.fixture
def cluster():
    yield from own_cluster("gate_race")


@pytest.fixture
def live(cluster, tmp_path):
    server = LiveServer(cluster, tmp_path, FOUR_EYES="0")
    try:
        server.manage("migrate", "--noinput")
        server.manage("shell", "-c", SETUP)
        server.key = server.create_key("ai-engine", "ideas:write")
        server.start(migrate=False)
        yield server
    finally:
        server.stop()


def submit(live) -> dict:
    headers = {"Authorization": f"Api-Key {live.key}", "Connection": "close"}
    response = requests.post(
        f"{live.url}/api/v1/trade-ideas", json=IDEA, headers=headers, timeout=60
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_sixteen_ideas_through_the_api_execute_exactly_the_limit(live, cluster):
    answers: list[dict] = []
    barrier = threading.Barrier(8)

    def at_once():
        barrier.wait(30)
        answers.append(submit(live))

    threads = [threading.Thread(target=at_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    answers += [submit(live) for _ in range(8)]
    assert len(answers) == 16
    statuses = [answer["status"] for answer in answers]
    assert statuses.count("auto_executed") == 2, statuses
    assert statuses.count("rejected") == 14
    for answer in answers:
        if answer["status"] == "rejected":
            (limit,) = [
                c
                for c in answer["risk_check_result"]["checks"]
                if c["rule"] == "max_concurrent_trades"
            ]
            assert (limit["passed"], limit["observed"]) == (False, 3)
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        (executed,) = conn.execute(
            "SELECT count(*) FROM desk_tradeidea WHERE status = 'auto_executed'"
        ).fetchone()
    assert executed == 2
