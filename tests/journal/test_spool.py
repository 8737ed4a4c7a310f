"""The durable spool: appends, sealing under concurrent writers, replay, crash safety."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from journal.models import QuarantinedLine, Trade
from journal.write.capture import get_spool, record_trades
from journal.write.replay import ReplayBusy, _replay_lock, spool_replay
from journal.write.spool import Spool
from tests.journal.conftest import trade_data
from tests.support import REPO, clean_environment


def spooled_records(n, prefix="S"):
    return [trade_data(trade_id=f"{prefix}-{i:06d}") for i in range(n)]


@pytest.mark.smoke
def test_a_batch_is_appended_as_json_lines_and_counted(tmp_path):
    spool = Spool(tmp_path)
    assert spool.append(spooled_records(3)) == 3
    assert spool.append(spooled_records(2, "T")) == 2
    backlog = spool.backlog()
    assert (backlog["trades"], backlog["files"]) == (5, 1)
    assert time.time() - 10 < backlog["oldest_spooled_at"] <= time.time()
    (path,) = tmp_path.glob("active-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["trade"]["trade_id"] == "S-000000"
    assert len({line["batch"] for line in lines}) == 2


@pytest.mark.smoke
def test_sealing_while_writers_append_loses_and_doubles_nothing(tmp_path):
    """Two writers (separate Spool objects, like two processes) and a replayer race."""
    writers = [Spool(tmp_path), Spool(tmp_path)]
    seen: list[str] = []
    done = threading.Event()

    def write(spool, name):
        for i in range(200):
            spool.append([{"trade_id": f"{name}-{i}"}])

    def replay():
        replayer = Spool(tmp_path)
        while True:
            finished = done.is_set()
            for path in replayer.seal():
                seen.extend(line.entry["trade"]["trade_id"] for line in replayer.read(path))
                replayer.remove(path)
            if finished:
                return

    threads = [threading.Thread(target=write, args=(w, f"w{n}")) for n, w in enumerate(writers)]
    reader = threading.Thread(target=replay)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert len(seen) == 400
    assert len(set(seen)) == 400


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_torn_line_is_quarantined_byte_for_byte_not_dropped(tmp_path, settings):
    settings.SPOOL_DIR = tmp_path
    spool = get_spool()
    spool.append(spooled_records(2))
    (path,) = tmp_path.glob("active-*.jsonl")
    torn = b'{"batch": "x", "trade": {"trade_id": "TORN"'
    with path.open("ab") as handle:
        handle.write(torn)  # power cut mid-write
    result = spool_replay()
    assert result.quarantined == 1 and result.stored.created == 2
    (kept,) = spool.quarantined()
    assert kept.read_bytes() == torn
    assert kept.stat().st_mode & 0o777 == 0o600
    about = json.loads(kept.with_name(kept.name.replace(".jsonl", ".reason.json")).read_text())
    assert "unreadable line" in about["reason"] and about["line"] == 3
    line = QuarantinedLine.objects.get()
    assert bytes(line.raw) == torn and line.line_number == 3
    assert not list(tmp_path.glob("sealed-*.jsonl")), "the replayed file is removed"


@pytest.mark.smoke
@pytest.mark.django_db
def test_replay_stores_spooled_trades_once_and_empties_the_spool(spool_dir):
    records = spooled_records(25)
    get_spool().append(records[:20])
    record_trades(records[15:20])  # some already reached the database
    get_spool().append(records[20:])
    out = io.StringIO()
    call_command("replay_spool", "--no-progress", stdout=out)
    assert "replayed 25 spooled trade(s) from 1 file(s): 20 created, 5 already stored" in (
        out.getvalue()
    )
    assert Trade.objects.count() == 25
    assert get_spool().backlog() == {"trades": 0, "files": 0, "oldest_spooled_at": None}
    call_command("replay_spool", "--no-progress", stdout=io.StringIO())
    assert Trade.objects.count() == 25


@pytest.mark.smoke
@pytest.mark.django_db
def test_a_second_replay_is_refused_while_one_runs(spool_dir):
    with _replay_lock(spool_dir), pytest.raises(ReplayBusy):
        spool_replay()


@pytest.mark.smoke
@pytest.mark.django_db
def test_readyz_shows_the_backlog(staff_client, spool_dir):
    get_spool().append(spooled_records(4))
    body = staff_client.get("/readyz").json()
    assert body["checks"]["spool"]["backlog"] == 4
    assert body["status"] == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_spools_the_batch_instead_of_losing_it(spool_dir):
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        dbname=settings_dict["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])
    result = record_trades(spooled_records(3, "CUT"))
    assert result.spooled == 3 and result.created == 0
    assert get_spool().backlog()["trades"] == 3
    # The next call reconnects; the replay stores the spooled trades.
    assert spool_replay().stored.created == 3
    assert Trade.objects.filter(trade_id__startswith="CUT-").count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_replay_killed_halfway_loses_and_doubles_nothing(spool_dir):
    total = 20_000
    spool = get_spool()
    for start in range(0, total, 2000):
        spool.append(spooled_records(2000, f"K{start}")[: min(2000, total - start)])
    settings_dict = connection.settings_dict
    env = clean_environment(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "k" * 60),
        DATABASE_URL=(
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}"
        ),
        POSTGRES_PASSWORD=settings_dict["PASSWORD"],
        SPOOL_DIR=str(spool_dir),
    )
    replay = subprocess.Popen(
        [sys.executable, "manage.py", "replay_spool", "--batch-size", "50", "--no-progress"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while Trade.objects.count() < 500 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        replay.send_signal(signal.SIGKILL)
        replay.wait()
    stored_at_kill = Trade.objects.count()
    assert 0 < stored_at_kill < total, "the replay was not interrupted halfway"
    assert list(spool_dir.glob("sealed-*.jsonl")), "the sealed file must survive the crash"
    result = spool_replay()
    assert result.stored.created == total - stored_at_kill
    assert result.stored.duplicates == stored_at_kill
    assert Trade.objects.count() == total
    assert Trade.objects.values("trade_id").distinct().count() == total
    assert get_spool().backlog()["trades"] == 0
