"""Faults: the database down and the spool disk full at once."""

import os
import subprocess

import psycopg
import pytest
from django.db import connection

from journal.models import Trade
from journal.write.capture import get_spool
from journal.write.spool import SpoolError
from tests.journal.conftest import trade_data


def small_disk(tmp_path, free: int):
    """Yield a 16 KiB tmpfs with about ``free`` bytes left; unmount it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (make test runs as root in CI)")
    mount = tmp_path / "spool"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], check=True)
    try:
        fd = os.open(mount / "ballast", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"x" * 512)
        except OSError:
            pass  # ENOSPC: the disk is full
        finally:
            os.close(fd)
        if free:
            os.truncate(mount / "ballast", os.path.getsize(mount / "ballast") - free)
        yield mount
    finally:
        # Lazy: the spool may still hold its active file open; the tmpfs goes when it closes.
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


@pytest.fixture
def full_spool(tmp_path, settings):
    """SPOOL_DIR on a disk filled to the last byte."""
    for mount in small_disk(tmp_path, free=0):
        settings.SPOOL_DIR = mount
        yield mount


@pytest.fixture
def nearly_full_spool(tmp_path, settings):
    """SPOOL_DIR on a disk with one page free: a batch fits only in part."""
    for mount in small_disk(tmp_path, free=4096):
        settings.SPOOL_DIR = mount
        yield mount


def drop_this_connection():
    """Kill this test's server connection from another one: a real outage for it."""
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"],
        port=s["PORT"],
        user=s["USER"],
        password=s["PASSWORD"],
        dbname=s["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend])


@pytest.mark.django_db(transaction=True)
def test_a_full_spool_with_the_database_down_is_a_503_that_takes_nothing(full_spool, bot):
    assert bot.get("/api/v1/trades").status_code == 200  # the worker has seen the key
    drop_this_connection()
    response = bot.post("/api/v1/trades", [trade_data() for _ in range(20)], format="json")
    assert response.status_code == 503
    assert "spool cannot be written" in response.json()["detail"]
    assert response["Retry-After"]
    assert get_spool().backlog()["trades"] == 0, "a partial batch must not stay in the spool"
    assert Trade.objects.count() == 0


def test_a_batch_that_fits_only_in_part_is_cut_off_not_left_torn(nearly_full_spool):
    spool = get_spool()
    records = [trade_data(signals={"note": "x" * 300}) for _ in range(20)]
    with pytest.raises(SpoolError):
        spool.append(records)
    assert spool.backlog()["trades"] == 0
    active = list(nearly_full_spool.glob("active-*.jsonl"))
    assert all(path.stat().st_size == 0 for path in active)
    # With room again, the same spool writes whole batches.
    (nearly_full_spool / "ballast").unlink()
    assert spool.append(records) == 20
    assert spool.backlog()["trades"] == 20


@pytest.mark.django_db(transaction=True)
def test_refused_requests_leave_no_empty_spool_files_and_readyz_fails(full_spool, bot, client):
    assert bot.get("/api/v1/trades").status_code == 200  # the worker has seen the key
    for _ in range(29):
        drop_this_connection()
        assert bot.post("/api/v1/trades", [trade_data()], format="json").status_code == 503
    assert list(full_spool.glob("active-*.jsonl")) == []
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "spool" in ready.json()["failed"]
