"""The point-in-time recovery drill (issue 30), on a throwaway cluster of its own.

1. A base backup, by the project's crontab command, with the project's pgbackrest.conf.
2. Trades captured through the API of the project under gunicorn, each acknowledged
   (201); then T is marked: a named restore point, and the database's time.
3. More trades captured, then the cluster is stopped at once and its data directory
   deleted.
4. Restored to T from the base backup and the archived WAL, by name and by time.
5. Exactly the trades acknowledged before T are there, each once, with equal sums.

On a native TimescaleDB (where this machine's PostgreSQL has it: the cluster preloads
it) the drill also compresses a chunk and refreshes the continuous aggregates before T,
and checks after the restore that the hypertable has exactly the chunks it had at T,
the compressed one still compressed, and the aggregates the rows they had at T. Without
it the drill runs on plain PostgreSQL and says so in its output.

T is taken from the database (pg_create_restore_point, clock_timestamp()): the WAL is
stamped with the server's real clock, not with the test's.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from tests.live_server import LiveServer
from tests.ops.pitr import ArchivingCluster

pytestmark = pytest.mark.skipif(
    __import__("shutil").which("pgbackrest") is None,
    reason="pgbackrest is not installed (scripts/ensure_system_deps.sh installs it)",
)

RESTORE_POINT = "drill-T"


@pytest.fixture
def cluster():
    cluster = ArchivingCluster()
    try:
        cluster.up()
    except Exception:
        cluster.destroy()
        raise
    try:
        yield cluster
    finally:
        cluster.destroy()


def trades(count: int, *, start: datetime, tag: str) -> list[dict]:
    """Closed trades with distinct ids and amounts (the sums must tell them apart)."""
    out = []
    for n in range(count):
        opened = start + timedelta(minutes=7 * n)
        out.append(
            {
                "trade_id": f"{tag}-{n:04d}",
                "executed_at": opened.isoformat(),
                "closed_at": (opened + timedelta(minutes=30)).isoformat(),
                "symbol": "EURUSD",
                "side": "long" if n % 2 else "short",
                "quantity": f"{1 + n % 5}.5",
                "entry_price": "1.08450",
                "exit_price": "1.08900",
                "fees": "1.20",
                "pnl": f"{(n * 13) % 97 - 40}.25",
                "strategy": "drill",
                "account": "desk-main",
            }
        )
    return out


def capture(live: LiveServer, key: str, batch: list[dict]) -> None:
    """POST the trades in small batches; each batch must be acknowledged as stored."""
    for start in range(0, len(batch), 20):
        part = batch[start : start + 20]
        response = requests.post(
            f"{live.url}/api/v1/trades",
            json=part,
            headers={"Authorization": f"Api-Key {key}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        assert response.json()["created"] == len(part), response.text


def sums(batch: list[dict]) -> tuple[int, Decimal, Decimal]:
    return (
        len(batch),
        sum(Decimal(t["pnl"]) for t in batch),
        sum(Decimal(t["quantity"]) for t in batch),
    )


def stored(cluster: ArchivingCluster) -> tuple[dict[str, int], tuple[int, Decimal, Decimal]]:
    """(copies of each trade_id, (trades, sum of pnl, sum of quantity)) in the database."""
    with cluster.connect() as conn:
        copies = dict(
            conn.execute("SELECT trade_id, count(*) FROM journal_trade GROUP BY trade_id")
        )
        count, pnl, quantity = conn.execute(
            "SELECT count(*), coalesce(sum(pnl), 0), coalesce(sum(quantity), 0) FROM journal_trade"
        ).fetchone()
    return copies, (count, pnl, quantity)


def timescale_state(cluster: ArchivingCluster) -> dict:
    """The hypertable's chunks (name, compressed) and every continuous aggregate's rows
    (through the view, and the count its materialization holds)."""
    with cluster.connect() as conn:
        chunks = conn.execute(
            "SELECT chunk_name, is_compressed FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'journal_trade' ORDER BY range_start"
        ).fetchall()
        aggregates = {}
        views = conn.execute(
            "SELECT view_name, materialization_hypertable_schema, "
            "materialization_hypertable_name FROM timescaledb_information.continuous_aggregates "
            "WHERE hypertable_name = 'journal_trade' ORDER BY view_name"
        ).fetchall()
        for view, schema, table in views:
            # Names from the catalog, not from input.
            rows = conn.execute(f'SELECT * FROM "{view}" ORDER BY 1, 2, 3').fetchall()  # noqa: S608
            materialized = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()  # noqa: S608
            aggregates[view] = (rows, materialized[0])
    return {"chunks": chunks, "aggregates": aggregates}


def prepare_timescale_before_t(cluster: ArchivingCluster, older_than: datetime) -> None:
    """Compress the chunks that end before ``older_than`` (a time on the test's clock,
    as the trades' are) and materialize every continuous aggregate."""
    with cluster.connect() as conn:
        compressed = conn.execute(
            "SELECT compress_chunk(c) FROM show_chunks('journal_trade', older_than => %s) c",
            [older_than],
        ).fetchall()
        assert compressed, "no chunk old enough to compress"
    refresh_aggregates(cluster)


def refresh_aggregates(cluster: ArchivingCluster) -> None:
    with cluster.connect() as conn:
        for (view,) in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates "
            "WHERE hypertable_name = 'journal_trade'"
        ).fetchall():
            conn.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")


def test_a_restore_to_t_brings_back_exactly_the_trades_acknowledged_before_t(
    cluster, tmp_path, capsys
):
    started = time.monotonic()
    timescale = cluster.timescale
    live = LiveServer(cluster, tmp_path).start()
    try:
        key = live.create_key("pitr-drill", "trades:write,trades:read")
        # 1. The base backup: the stanza, then the crontab's full backup.
        cluster.pgbackrest("stanza-create")
        cluster.scheduled_backup("full")
        # pgBackRest keeps a backup's stop time in whole seconds and restores to a time
        # from a set that stopped in an earlier second: T must not share the backup's.
        time.sleep(1.1)

        # 2. Trades acknowledged before T: some old enough for a compressed chunk.
        now = datetime.now(UTC).replace(microsecond=0)
        before = trades(60, start=now - timedelta(days=75), tag="A-OLD") + trades(
            60, start=now - timedelta(days=2), tag="A-NEW"
        )
        capture(live, key, before)
        if timescale:
            prepare_timescale_before_t(cluster, now - timedelta(days=30))
            at_t = timescale_state(cluster)
            assert any(compressed for _, compressed in at_t["chunks"]), at_t["chunks"]
        with cluster.connect() as conn:
            conn.execute("SELECT pg_create_restore_point(%s)", [RESTORE_POINT])
            # In the form pgBackRest reads (it picks the backup set by it too).
            (t_time,) = conn.execute(
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD HH24:MI:SS.US') || '+00'"
            ).fetchone()
            # The next commit must be later than T on the server's clock.
            conn.execute("SELECT pg_sleep(0.05)")

        # 3. Trades after T: into the compressed chunk's days, the recent ones and
        #    days of their own; then every WAL segment archived, and the crash.
        after = (
            trades(15, start=now - timedelta(days=75, minutes=-3), tag="B-OLD")
            + trades(15, start=now - timedelta(days=2, minutes=-3), tag="B-NEW")
            + trades(15, start=now - timedelta(days=12), tag="B-NEWDAY")
        )
        capture(live, key, after)
        assert stored(cluster)[1] == sums(before + after)
        if timescale:
            # After T: a chunk of its own, rows in the compressed chunk's days, and
            # aggregates that no longer match T's once refreshed.
            refresh_aggregates(cluster)
            assert timescale_state(cluster) != at_t
        cluster.pgbackrest("check")  # switches the WAL segment, waits for its archive
    finally:
        live.stop()
    expected_ids = {trade["trade_id"]: 1 for trade in before}

    # 4. and 5., by the restore point's name, then by the database's time at T.
    for target in (
        ("--type=name", f"--target={RESTORE_POINT}"),
        ("--type=time", f"--target={t_time}"),
    ):
        cluster.wipe()
        cluster.restore(*target)
        copies, figures = stored(cluster)
        assert copies == expected_ids, target
        assert figures == sums(before), target
        if timescale:
            assert timescale_state(cluster) == at_t, target

    engine = "native TimescaleDB" if timescale else "plain PostgreSQL (no native TimescaleDB here)"
    with capsys.disabled():
        print(
            f"\npitr drill: {len(before)} trades before T restored exactly, {len(after)} "
            f"after T absent, by name and by time, on {engine}, in "
            f"{time.monotonic() - started:.1f} s"
        )
