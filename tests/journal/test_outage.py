"""Drill: PostgreSQL stops while bots post 2,000 trades through gunicorn.

Every request is answered 201 or 202 (never a 5xx), the spooled trades are replayed,
and exactly 2,000 trades are stored, none twice.
"""

import os
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests.harness.services import PostgresCluster, ServiceError
from tests.support import GunicornServer, clean_environment, manage

TOTAL, BATCH = 2000, 10


@pytest.fixture
def drill(tmp_path):
    try:
        cluster = PostgresCluster(name="outage_drill").up()
    except ServiceError as exc:
        pytest.fail(f"cannot start a PostgreSQL cluster for the drill: {exc}")
    env = clean_environment(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "d" * 60),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=cluster.url(with_password=False),
        POSTGRES_PASSWORD=cluster.password,
        SPOOL_DIR=str(tmp_path / "spool"),
        DB_CONNECT_TIMEOUT="2",
    )
    server = GunicornServer(env, tmp_path, workers=2)
    try:
        server.prepare()
        created = manage("create_api_key", "drill-bot", "--scopes", "trades:write", env=server.env)
        assert created.returncode == 0, created.stderr
        server.key = created.stdout.strip().splitlines()[-1]
        server.start()
        yield cluster, server
    finally:
        server.stop()
        cluster.destroy()


def batches():
    start = datetime(2026, 2, 2, tzinfo=UTC)
    for b in range(TOTAL // BATCH):
        yield [
            {
                "trade_id": f"D-{b:04d}-{i}",
                "executed_at": (start + timedelta(seconds=b * BATCH + i)).isoformat(),
                "symbol": "EURUSD",
                "side": "long",
                "quantity": "1",
                "entry_price": "1.1",
            }
            for i in range(BATCH)
        ]


def stored_trades(cluster) -> tuple[int, int]:
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        return conn.execute(
            "SELECT count(*), count(DISTINCT trade_id) FROM journal_trade"
        ).fetchone()


def test_no_trade_is_lost_or_doubled_when_postgres_stops_mid_stream(drill):
    cluster, server = drill
    statuses: list[int] = []
    posted = threading.Event()

    def post_all():
        session_headers = {"Authorization": f"Api-Key {server.key}", "Connection": "close"}
        for n, batch in enumerate(batches()):
            for _attempt in range(100):
                response = requests.post(
                    f"{server.url}/api/v1/trades",
                    json=batch,
                    headers=session_headers,
                    timeout=30,
                )
                statuses.append(response.status_code)
                if response.status_code != 503:
                    break
                # A worker that has not seen this key yet cannot verify it while the
                # database is down: a bot retries after Retry-After.
                time.sleep(0.2)
            if n == 40:
                posted.set()

    poster = threading.Thread(target=post_all)
    poster.start()
    assert posted.wait(60), "the bots did not get going"
    cluster.stop("fast")
    time.sleep(2)
    cluster.start()
    poster.join(300)
    assert not poster.is_alive()

    assert len([s for s in statuses if s != 503]) == TOTAL // BATCH
    assert set(statuses) <= {201, 202, 503}, sorted(set(statuses))
    assert 202 in statuses, "the outage did not happen while posting"
    # Under load the bots may finish before PostgreSQL is back; the API must return to
    # the database by itself once it is: the last batch sent again is a 201 of duplicates.
    headers = {"Authorization": f"Api-Key {server.key}", "Connection": "close"}
    last = list(batches())[-1]
    deadline = time.monotonic() + 60
    while True:
        again = requests.post(f"{server.url}/api/v1/trades", json=last, headers=headers, timeout=30)
        if again.status_code == 201 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert again.status_code == 201, "the API did not come back to the database"

    replay = manage("replay_spool", "--no-progress", env=server.env)
    assert replay.returncode == 0, replay.stderr
    assert stored_trades(cluster) == (TOTAL, TOTAL)
    again = manage("replay_spool", "--no-progress", env=server.env)
    assert "replayed 0 spooled trade(s)" in again.stdout
    assert stored_trades(cluster) == (TOTAL, TOTAL)
