"""Drill: an API key used, revoked by another process, then PostgreSQL stopped (issue 26,
item 3).

Under gunicorn with two workers, each worker verified the key while the database
answered. `manage.py revoke_api_key` revokes it from a process of its own, and the
database stops. Before the fix each worker let the key in from its memory for
API_KEY_OUTAGE_GRACE_SECONDS (900 s): 8 of 10 POSTs were answered 202 and stored after
the recovery. Now every one is refused, while a key nobody revoked is still accepted
into the spool, and only its trades are stored after the recovery.
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests.live_server import LiveServer, own_cluster

START = datetime(2026, 2, 2, tzinfo=UTC)


@pytest.fixture
def cluster():
    yield from own_cluster("key_revocation")


@pytest.fixture
def live(cluster, tmp_path):
    server = LiveServer(cluster, tmp_path, DB_CONNECT_TIMEOUT="2")
    try:
        server.manage("migrate", "--noinput")
        server.keys = {
            name: server.create_key(name, "trades:write") for name in ("leaked-bot", "good-bot")
        }
        server.start(migrate=False)
        yield server
    finally:
        server.stop()


def post_trade(live, key_name: str, trade_id: str, n: int) -> int:
    opened = START + timedelta(minutes=n)
    trade = {
        "trade_id": trade_id,
        "executed_at": opened.isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1",
        "entry_price": "1.1",
    }
    headers = {"Authorization": f"Api-Key {live.keys[key_name]}", "Connection": "close"}
    response = requests.post(f"{live.url}/api/v1/trades", json=trade, headers=headers, timeout=30)
    return response.status_code


def stored_ids(cluster) -> set[str]:
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        return {row[0] for row in conn.execute("SELECT trade_id FROM journal_trade")}


def test_a_key_revoked_before_a_database_outage_is_refused_by_every_worker(cluster, live):
    for n in range(10):  # each worker verifies both keys (connections are closed)
        assert post_trade(live, "leaked-bot", f"L-BEFORE-{n}", n) == 201
        assert post_trade(live, "good-bot", f"G-BEFORE-{n}", 100 + n) == 201
    live.manage("revoke_api_key", "leaked-bot")
    cluster.stop("fast")
    try:
        leaked = [post_trade(live, "leaked-bot", f"L-DURING-{n}", 200 + n) for n in range(10)]
        good = [post_trade(live, "good-bot", f"G-DURING-{n}", 300 + n) for n in range(10)]
    finally:
        cluster.start()
    assert leaked == [401] * 10, leaked
    assert good == [202] * 10, good  # the grace holds for a key nobody revoked
    live.manage("replay_spool", "--no-progress")
    ids = stored_ids(cluster)
    assert not {i for i in ids if i.startswith("L-DURING-")}
    assert {i for i in ids if i.startswith("G-DURING-")} == {f"G-DURING-{n}" for n in range(10)}
