"""Drill: a gunicorn worker is SIGKILLed while it handles a batch of 1,000 trades.

Each round posts one batch on a connection of its own, finds the worker that accepted
that connection (its socket, through /proc), and kills it at a chosen moment:

- ``insert``: while the batch's INSERT waits on a row lock that the test holds, so the
  kill lands inside the transaction with half the batch written into it;
- ``parse``: once the worker has spent CPU on the request (reading, validating);
- ``random``: at a random moment after the worker took the connection (it may land
  after the commit, or after the answer).

Then every batch is stored whole or not at all, nothing twice, and posting again the
batches that got no answer (what a bot does after a dropped connection) stores exactly
the full set, once.
"""

import http.client
import json
import os
import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.live_server import LiveServer, own_cluster

BATCH = 1000
ROUNDS = ("insert", "parse", "random", "insert", "parse", "random", "insert")


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("worker_kill")


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    live = LiveServer(cluster, tmp_path_factory.mktemp("worker-kill"))
    live.manage("migrate", "--noinput")
    live.key = live.create_key("kill-bot", "trades:write")
    live.start(migrate=False)
    yield live
    live.stop()


def connect(cluster) -> psycopg.Connection:
    return psycopg.connect(cluster.url().replace("postgres://", "postgresql://"))


def batch(number: int) -> list[dict]:
    start = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=number)
    trades = []
    for i in range(BATCH):
        trade = {
            "trade_id": f"K{number:02d}-{i:04d}",
            "executed_at": (start + timedelta(seconds=i)).isoformat(),
            "symbol": "EURUSD",
            "side": "long" if i % 2 else "short",
            "quantity": "1000",
            "entry_price": "1.0850",
            "strategy": "momentum",
            "signals": {"rsi": 41.5, "zscore": -0.8},
        }
        if i % 3:
            trade.update(closed_at=(start + timedelta(seconds=i + 60)).isoformat())
            trade.update(exit_price="1.0860", pnl="1.00")
        trades.append(trade)
    return trades


# -- processes and sockets, from /proc -------------------------------------------------


def workers_of(master: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master and fields[0] not in "ZX":
            children.append(int(stat.parent.name))
    return children


def both_workers(server) -> list[int] | None:
    workers = workers_of(server.process.pid)
    return workers if len(workers) == 2 else None


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handler_of(server_port: int, client_port: int, workers: list[int]) -> int | None:
    """The worker holding the server end of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if (
            int(local.split(":")[1], 16) == server_port
            and int(remote.split(":")[1], 16) == client_port
            and fields[9] != "0"  # 0 until accepted (and for a closed one in TIME_WAIT)
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in workers:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")


# -- one round ---------------------------------------------------------------------------


class Post(threading.Thread):
    """POST one batch on a connection of its own; ``status`` None if it was dropped."""

    def __init__(self, server, trades: list[dict]):
        super().__init__(daemon=True)
        self.body = json.dumps(trades).encode()
        self.headers = {
            "Authorization": f"Api-Key {server.key}",
            "Content-Type": "application/json",
            "Connection": "close",
        }
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.connection.connect()
        self.client_port = self.connection.sock.getsockname()[1]
        self.status: int | None = None
        self.answer: dict | None = None
        self.error: str | None = None

    def run(self):
        try:
            self.connection.request("POST", "/api/v1/trades", self.body, self.headers)
            response = self.connection.getresponse()
            self.answer = json.loads(response.read() or b"{}")
            self.status = response.status
        except (OSError, http.client.HTTPException) as exc:
            self.error = type(exc).__name__
        finally:
            self.connection.close()


def hold_row(cluster, trade: dict) -> psycopg.Connection:
    """An uncommitted trade with ``trade``'s key: an INSERT of that key waits for it."""
    holder = connect(cluster)
    holder.execute(
        "INSERT INTO journal_trade (trade_id, executed_at, symbol, side, quantity, "
        "entry_price, fees, status, strategy, account, broker_order_id, agent_votes, "
        "signals, model_version, recorded_at) VALUES (%s, %s, 'EURUSD', 'long', 1, 1, 0, "
        "'open', '', '', '', '{}', '{}', '', now())",
        (trade["trade_id"], trade["executed_at"]),
    )
    return holder


def insert_waits_on_lock(cluster) -> bool:
    with connect(cluster) as conn:
        return bool(
            conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%INSERT INTO journal_trade%'"
            ).fetchone()[0]
        )


def kill_round(server, cluster, number: int, mode: str, rng: random.Random) -> Post:
    trades = batch(number)
    workers = wait_for(lambda: both_workers(server), 60, "two gunicorn workers")
    holder = hold_row(cluster, trades[BATCH // 2]) if mode == "insert" else None
    post = Post(server, trades)
    post.start()
    try:
        handler = wait_for(
            lambda: handler_of(server.port, post.client_port, workers), 30, "a worker to accept"
        )
        if mode == "insert":
            wait_for(lambda: insert_waits_on_lock(cluster), 30, "the INSERT to wait on the lock")
        elif mode == "parse":
            used = cpu_seconds(handler)
            wait_for(
                lambda: not post.is_alive() or cpu_seconds(handler) - used >= 0.03,
                30,
                "the worker to work on the batch",
            )
        else:
            time.sleep(rng.uniform(0, 0.4))
        os.kill(handler, signal.SIGKILL)
        post.join(60)
        assert not post.is_alive(), "the client still waits after its worker died"
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    # The master replaces the worker; the next round needs two again.
    wait_for(
        lambda: handler not in (both_workers(server) or [handler]),
        60,
        "gunicorn to replace the killed worker",
    )
    post.mode = mode
    return post


def stored_per_batch(cluster) -> tuple[dict[str, int], int, int]:
    with connect(cluster) as conn:
        per_batch = dict(
            conn.execute(
                "SELECT split_part(trade_id, '-', 1), count(*) FROM journal_trade GROUP BY 1"
            ).fetchall()
        )
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (trade_id, executed_at)) FROM journal_trade"
        ).fetchone()
    return per_batch, total, distinct


def post_again(server, trades: list[dict]) -> tuple[int, dict]:
    post = Post(server, trades)
    post.run()
    return post.status, post.answer


def test_a_killed_worker_stores_each_batch_whole_or_not_at_all_and_a_resend_completes_it(
    server, cluster
):
    rng = random.Random(7)
    posts = [kill_round(server, cluster, n, mode, rng) for n, mode in enumerate(ROUNDS)]
    assert server.process.poll() is None, "the gunicorn master survives its workers"

    per_batch, total, distinct = stored_per_batch(cluster)
    stored = {n: per_batch.get(f"K{n:02d}", 0) for n in range(len(ROUNDS))}
    assert set(stored.values()) <= {0, BATCH}, f"a partial batch: {stored}"
    assert total == distinct, "a trade stored twice"
    for n, post in enumerate(posts):
        if post.status is not None:
            assert post.status == 201, (post.mode, post.status, post.answer)
            assert stored[n] == BATCH, "answered 201 but not stored"
        if post.mode == "insert":
            # Killed while its INSERT waited inside the transaction: nothing committed.
            assert post.status is None, "the kill did not land in the middle of the batch"
            assert stored[n] == 0, "a batch killed before its commit was stored"
    dropped = [n for n, post in enumerate(posts) if post.status is None]
    assert len(dropped) >= ROUNDS.count("insert")

    # A bot sends again every batch it got no answer for.
    for n in dropped:
        status, answer = post_again(server, batch(n))
        assert status == 201, answer
        assert answer["created"] + answer["duplicates"] == BATCH
        assert answer["created"] == BATCH - stored[n]
    per_batch, total, distinct = stored_per_batch(cluster)
    assert per_batch == {f"K{n:02d}": BATCH for n in range(len(ROUNDS))}
    assert total == distinct == BATCH * len(ROUNDS)
