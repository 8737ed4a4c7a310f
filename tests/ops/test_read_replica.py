"""Reads that may go to a streaming replica (backoffice.core.db.routers), against a real one:
a throwaway primary, and a second cluster made from it with `pg_basebackup -R` and
started as a hot standby. The project runs under gunicorn with DATABASE_REPLICA_URL.

- routing: the metrics API, the dashboard and the export read from the replica (a
  query on the connection they use answers pg_is_in_recovery() = true; with replay
  paused they do not see a trade the primary has), while capture and the trade list
  read from the primary (read-your-writes);
- the lag bound: with replay paused and the primary written to, once the replica is
  more than DATABASE_REPLICA_MAX_LAG_SECONDS behind the same pages read from the
  primary and say so;
- the replica going away: stopped, the pages still answer (from the primary, saying
  so), the outage logged once; started again, reads go back to it.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests.harness.services import PostgresCluster, ServiceError
from tests.live_server import LiveServer
from tests.ops.staff import staff_session

MAX_LAG = 4.0  # seconds: DATABASE_REPLICA_MAX_LAG_SECONDS of the server under test
CHECK = 0.5  # DATABASE_REPLICA_CHECK_SECONDS


class Replica(PostgresCluster):
    """A hot standby of ``primary``: pg_basebackup -R of it, on a port of its own."""

    def __init__(self, primary: PostgresCluster):
        super().__init__(primary.bindir, name=primary.name)
        self.password = primary.password  # the primary's roles, copied
        self.primary = primary

    def init(self) -> Replica:
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self.base.chmod(0o700)
        result = self._run(
            self.bindir / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            self.datadir,
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
        )
        self._check(result, "pg_basebackup")
        return self


@pytest.fixture
def clusters():
    primary = PostgresCluster(name="backoffice")
    replica = None
    try:
        primary.up()
        replica = Replica(primary)
        replica.init().start()
        yield primary, replica
    except ServiceError as exc:
        pytest.fail(f"cannot start the primary and its replica: {exc}")
    finally:
        if replica:
            replica.destroy()
        primary.destroy()


def sql(cluster: PostgresCluster, query: str):
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        return conn.execute(query).fetchall()


def wait_until(condition, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def caught_up(primary, replica) -> bool:
    (lsn,) = sql(primary, "SELECT pg_current_wal_lsn()")[0]
    return sql(replica, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'")[0][0]


def trade(n: int) -> dict:
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3, minutes=n)
    return {
        "trade_id": f"R-{n:04d}",
        "executed_at": opened.isoformat(),
        "closed_at": (opened + timedelta(minutes=20)).isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1",
        "entry_price": "1.08450",
        "exit_price": "1.08900",
        "fees": "0",
        "pnl": f"{n}.00",
    }


def errors(live: LiveServer) -> list[dict]:
    """The server's error lines (for a failing assertion's message)."""
    return [line for line in live.log_lines() if line.get("level") == "ERROR"]


def test_the_read_pages_follow_the_replica_within_the_lag_bound_and_never_fail(clusters, tmp_path):
    primary, replica = clusters
    live = LiveServer(
        primary,
        tmp_path,
        DATABASE_REPLICA_URL=replica.url(with_password=False),
        DATABASE_REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
        DATABASE_REPLICA_CHECK_SECONDS=str(CHECK),
    ).start(collectstatic=True)
    try:
        key = live.create_key("replica-drill", "trades:write,trades:read")
        bot = {"Authorization": f"Api-Key {key}"}
        staff = staff_session(live)

        def capture(n: int) -> None:
            response = requests.post(
                f"{live.url}/api/v1/trades", json=[trade(n)], headers=bot, timeout=30
            )
            assert response.status_code == 201, response.text

        def metrics():
            response = requests.get(f"{live.url}/api/v1/metrics", headers=bot, timeout=30)
            assert response.status_code == 200, str(errors(live))[-3000:]
            return response.json()["summary"]["trades"], response.headers["X-Read-From"]

        def listed() -> int:
            response = requests.get(f"{live.url}/api/v1/trades?limit=100", headers=bot, timeout=30)
            assert response.status_code == 200 and "X-Read-From" not in response.headers
            return len(response.json()["results"])

        def dashboard():
            response = staff.get(f"{live.url}/admin/journal/trade/dashboard/", timeout=30)
            assert response.status_code == 200, response.text[:500]
            return response

        def export():
            response = staff.get(f"{live.url}/admin/journal/trade/export.csv", timeout=30)
            assert response.status_code == 200
            return len(response.text.strip().splitlines()) - 1, response.headers["X-Read-From"]

        capture(1)
        wait_until(lambda: caught_up(primary, replica), what="the replica to catch up")
        time.sleep(CHECK + 0.2)
        assert metrics() == (1, "replica")
        assert export() == (1, "replica")
        page = dashboard()
        assert page.headers["X-Read-From"] == "replica"
        assert 'id="read-route-notice"' not in page.text

        # The connection the router gives these reads is the replica's.
        probe = live.manage(
            "shell",
            "-c",
            "from backoffice.core.db.routers import replica_reads, read_connection\n"
            "from journal.models import Trade\n"
            "with replica_reads() as route:\n"
            "    with read_connection.cursor() as c:\n"
            "        c.execute('SELECT pg_is_in_recovery()')\n"
            "        print('raw', route.alias, c.fetchone()[0])\n"
            "    print('orm', Trade.objects.all().db)\n"
            "with read_connection.cursor() as c:\n"
            "    c.execute('SELECT pg_is_in_recovery()')\n"
            "    print('outside', c.fetchone()[0])\n",
        ).stdout
        assert "raw replica True" in probe, probe
        assert "orm replica" in probe, probe
        assert "outside False" in probe, probe

        # Replay paused: the replica stops at one trade. Within the bound the read pages
        # still read it (and so miss the new trade); capture and the list read the
        # primary, which has it.
        # A commit replayed just now: the lag counts from it once replay stops.
        sql(primary, "SELECT txid_current()")
        wait_until(lambda: caught_up(primary, replica), what="the replica to catch up")
        sql(replica, "SELECT pg_wal_replay_pause()")
        capture(2)
        assert listed() == 2
        assert metrics() == (1, "replica")
        # Past the bound: the primary, and the page says so.
        time.sleep(MAX_LAG + CHECK + 0.5)
        count, source = metrics()
        assert count == 2 and source.startswith("primary; the replica is ") and "behind" in source
        assert export()[0] == 2
        page = dashboard()
        assert page.headers["X-Read-From"].startswith("primary; the replica is ")
        assert 'id="read-route-notice"' in page.text
        assert "Read from the primary: the replica is" in page.text

        # Replay resumed: back to the replica.
        sql(replica, "SELECT pg_wal_replay_resume()")
        wait_until(lambda: caught_up(primary, replica), what="the replica to catch up")
        time.sleep(CHECK + 0.2)
        wait_until(lambda: metrics() == (2, "replica"), timeout=10, what="reads on the replica")

        # The replica goes away: every page still answers, from the primary.
        replica.stop("immediate")
        for _ in range(3):
            count, source = metrics()
            assert count == 2 and source == "primary; the replica cannot be reached"
            assert export() == (2, "primary; the replica cannot be reached")
            page = dashboard()
            assert "Read from the primary: the replica cannot be reached." in page.text
        ready = staff.get(f"{live.url}/readyz", timeout=30)
        assert ready.status_code == 200 and "replica" in ready.json()["warnings"]
        lines = live.log_lines()
        outages = [
            line
            for line in lines
            if line.get("message", "").startswith("reads go to the primary: the replica cannot")
        ]
        # Once per outage in each worker process that noticed it (2 workers).
        assert 1 <= len(outages) <= 2, outages
        assert not [line for line in lines if line.get("status", 0) >= 500]

        # Back: reads return to the replica.
        replica.start()
        wait_until(lambda: metrics()[1] == "replica", timeout=30, what="the replica back")
    finally:
        live.stop()


@pytest.mark.django_db
def test_without_a_replica_nothing_is_routed_and_no_header_is_added(admin_client):
    """The default deployment: no DATABASE_REPLICA_URL, no router, no header, no notice."""
    from django.conf import settings

    assert "replica" not in settings.DATABASES and settings.DATABASE_ROUTERS == []
    response = admin_client.get("/api/v1/metrics")
    assert response.status_code == 200 and "X-Read-From" not in response
    page = admin_client.get("/admin/journal/trade/dashboard/")
    assert page.status_code == 200 and b"read-route-notice" not in page.content
