"""Drill: PostgreSQL stops in the middle of mixed trade traffic through gunicorn; the
spool drains itself (a real Celery worker and beat) within seconds of its return.

The bots send batches of new open and closed trades, closes of trades opened in earlier
batches, an open and its close in the same batch, and now and then a batch with a
poisoned value; during the outage a corrupted line also lands in the spool. At the end:
no answer was a 5xx, every poisoned batch was a 400, every trade answered 201 or 202 is
stored exactly once in its latest state, the corrupted line is quarantined byte for byte,
and the spool is empty: nobody ran replay_spool.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests

from tests.live_server import JobEngine, LiveServer, own_cluster

BATCHES = 160
OUTAGE_FROM, OUTAGE_TO = 40, 110  # batch numbers
DRAIN_WITHIN_SECONDS = 10
START = datetime(2026, 2, 2, tzinfo=UTC)


@pytest.fixture
def cluster():
    yield from own_cluster("outage_drill")


@pytest.fixture
def drill(cluster, tmp_path):
    live = LiveServer(cluster, tmp_path, DB_CONNECT_TIMEOUT="2")
    jobs = None
    try:
        live.manage("migrate", "--noinput")
        live.key = live.create_key("drill-bot", "trades:write,trades:read")
        live.start(migrate=False)
        jobs = JobEngine(live, tmp_path).start()
        yield cluster, live, jobs
    finally:
        if jobs is not None:
            jobs.stop()
        live.stop()


def trade(trade_id: str, n: int, *, closed: bool, pnl: str = "5") -> dict:
    opened = START + timedelta(seconds=n)
    data = {
        "trade_id": trade_id,
        "executed_at": opened.isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1",
        "entry_price": "1.1",
    }
    if closed:
        data.update(
            closed_at=(opened + timedelta(minutes=5)).isoformat(), exit_price="1.2", pnl=pnl
        )
    return data


def batch(b: int) -> tuple[list[dict], bool]:
    """Batch ``b`` and whether it is poisoned (to be refused whole)."""
    items = [trade(f"D-{b:04d}-{i}", b * 20 + i, closed=i % 2 == 0) for i in range(6)]
    # An open and its close in the same batch.
    items += [
        trade(f"P-{b:04d}", b * 20 + 7, closed=False),
        trade(f"P-{b:04d}", b * 20 + 7, closed=True, pnl="7"),
    ]
    if b:  # the close of the previous batch's open trade D-(b-1)-1
        items.append(trade(f"D-{b - 1:04d}-1", (b - 1) * 20 + 1, closed=True, pnl="9"))
    poisoned = b % 25 == 13
    if poisoned:
        items.append({**trade(f"X-{b:04d}", b * 20 + 9, closed=False), "signals": {"x": "\u0000"}})
    return items, poisoned


def expected_state(accepted: list[int]) -> dict[str, str | None]:
    """trade_id -> the P&L it must end with (None: still open)."""
    state: dict[str, str | None] = {}
    for b in accepted:
        for item in batch(b)[0]:
            if item.get("pnl") is not None or item["trade_id"] not in state:
                if state.get(item["trade_id"]) is None:
                    state[item["trade_id"]] = item.get("pnl")
    return state


def stored(cluster) -> dict[str, list]:
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        rows = conn.execute("SELECT trade_id, pnl FROM journal_trade").fetchall()
    out: dict[str, list] = {}
    for trade_id, pnl in rows:
        out.setdefault(trade_id, []).append(None if pnl is None else f"{pnl.normalize():f}")
    return out


def spooled_lines(spool_dir) -> int:
    return sum(
        len([line for line in path.read_bytes().splitlines() if line.strip()])
        for path in spool_dir.glob("*.jsonl")
        if path.name.startswith(("active-", "sealed-"))
    )


def test_an_outage_mid_traffic_loses_nothing_and_the_spool_drains_itself(drill, tmp_path):
    cluster, live, _jobs = drill
    spool_dir = tmp_path / "spool"
    headers = {"Authorization": f"Api-Key {live.key}", "Connection": "close"}
    # One worker verifies the key; the other never sees it before the outage.
    assert requests.get(f"{live.url}/api/v1/trades", headers=headers, timeout=10).ok
    answers: dict[int, int] = {}
    corrupted = b'{"batch": "c", "trade": {"trade_id": "CORRUPT", "symbol": "EUR\xff'
    back_at = None
    for b in range(BATCHES):
        if b == OUTAGE_FROM:
            cluster.stop("fast")
            spool_dir.mkdir(exist_ok=True)
            (spool_dir / f"active-disk-{uuid.uuid4().hex}.jsonl").write_bytes(corrupted + b"\n")
        if b == OUTAGE_TO:
            cluster.start()
            back_at = time.monotonic()
        items, _ = batch(b)
        response = requests.post(
            f"{live.url}/api/v1/trades", json=items, headers=headers, timeout=30
        )
        answers[b] = response.status_code

    assert all(code < 500 for code in answers.values()), answers
    poisoned = {b for b in range(BATCHES) if batch(b)[1]}
    assert {b for b, code in answers.items() if code == 400} == poisoned
    assert any(answers[b] == 202 for b in range(OUTAGE_FROM, OUTAGE_TO)), "no outage seen"
    accepted = [b for b, code in answers.items() if code in (201, 202)]
    assert len(accepted) == BATCHES - len(poisoned)

    # Nobody runs replay_spool: the job engine drains the spool.
    deadline = back_at + DRAIN_WITHIN_SECONDS
    while spooled_lines(spool_dir) and time.monotonic() < deadline + 30:
        time.sleep(0.2)
    drained_after = time.monotonic() - back_at
    assert spooled_lines(spool_dir) == 0, "the spool was not drained"
    assert drained_after <= DRAIN_WITHIN_SECONDS + 2, f"drained {drained_after:.1f} s after"

    rows = stored(cluster)
    expected = expected_state(accepted)
    assert {k: v for k, v in rows.items() if k != "CORRUPT"}.keys() == expected.keys()
    assert all(len(pnls) == 1 for pnls in rows.values()), "a trade was stored twice"
    assert {k: v[0] for k, v in rows.items()} == expected
    (kept,) = (spool_dir / "quarantine").glob("*.jsonl")
    assert kept.read_bytes() == corrupted + b"\n"
