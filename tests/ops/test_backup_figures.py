"""The WAL archive and the newest backup on /readyz's staff view and in Prometheus
(backoffice.core.ops.recovery): read for real, from pg_stat_archiver and from `pgbackrest info`
run by the Celery job on a real worker, with the thresholds that turn them into
warnings (never a 503: an old backup must not take the web workers out of service)."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from backoffice.core.ops import recovery
from tests.live_server import JobEngine, LiveServer
from tests.ops.pitr import STANZA, ArchivingCluster
from tests.ops.staff import staff_session
from tests.support import REPO

needs_pgbackrest = pytest.mark.skipif(
    shutil.which("pgbackrest") is None,
    reason="pgbackrest is not installed (scripts/ensure_system_deps.sh installs it)",
)


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return None


def readyz_backups(session: requests.Session, live: LiveServer) -> tuple[int, dict]:
    response = session.get(f"{live.url}/readyz", timeout=30)
    return response.status_code, response.json()


@needs_pgbackrest
def test_backups_and_the_wal_archive_show_on_readyz_and_in_prometheus(tmp_path):
    cluster = ArchivingCluster(timescale=False).up()
    token = secrets.token_urlsafe(24)
    live = engine = None
    try:
        cluster.pgbackrest("stanza-create")
        cluster.scheduled_backup("full")
        live = LiveServer(
            cluster,
            tmp_path,
            PGBACKREST_STANZA=STANZA,
            PGBACKREST_CONFIG=str(cluster.config),
            PROMETHEUS_SCRAPE_TOKEN=token,
            BACKUP_MAX_AGE_HOURS="26",
            WAL_ARCHIVE_MAX_AGE_SECONDS="600",
        ).start(collectstatic=True)
        session = staff_session(live)

        # Before the job has run: ready, with a warning that names what is missing.
        status, body = readyz_backups(session, live)
        assert status == 200 and body["status"] == "ready", body
        assert body["warnings"] == ["backups"], body
        assert "no backup figures yet" in body["checks"]["backups"]["warning"]
        public = requests.get(f"{live.url}/readyz", timeout=30).json()
        assert public["checks"]["backups"] == "warning" and public["warnings"] == ["backups"]

        # The job, on a real worker: `pgbackrest info` read into the shared cache.
        engine = JobEngine(live, tmp_path).start()
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "call",
                "backoffice.record_backup_info",
            ],
            env=engine.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body = readyz_backups(session, live)
            if body["checks"]["backups"]["backup"].get("newest"):
                break
            time.sleep(0.5)
        backups = body["checks"]["backups"]
        assert status == 200 and "warnings" not in body, body
        info = json.loads(cluster.pgbackrest("--output=json", "info").stdout)
        (label,) = [b["label"] for b in info[0]["backup"]]
        assert backups["backup"]["newest"]["label"] == label
        assert backups["backup"]["newest"]["type"] == "full"
        assert 0 <= backups["backup"]["newest_age_seconds"] < 300
        assert backups["wal"]["archive_mode"] == "on"
        assert backups["wal"]["last_archived_wal"] and backups["wal"]["failing"] is False

        scrape = requests.get(
            f"{live.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).text
        assert 0 <= metric(scrape, "backoffice_backup_newest_age_seconds") < 300
        assert metric(scrape, "backoffice_backup_newest_full_age_seconds") is not None
        assert metric(scrape, "backoffice_wal_archive_failures") == 0
        assert metric(scrape, "backoffice_recovery_warnings") == 0

        # The archive breaks (its folder cannot be written): archive_command fails, and
        # /readyz says so within a probe, still 200; /metrics counts the failures.
        archive = cluster.repo / "archive"
        archive.chmod(0o000)
        try:
            with cluster.connect() as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS drill_wal (n int)")
                conn.execute("INSERT INTO drill_wal VALUES (1)")
                conn.execute("SELECT pg_switch_wal()")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status, body = readyz_backups(session, live)
                if body.get("warnings"):
                    break
                time.sleep(0.5)
            assert status == 200 and body["warnings"] == ["backups"], body
            assert "archiving WAL fails" in body["checks"]["backups"]["warning"]
            time.sleep(FIGURES_MEMORY)
            scrape = requests.get(
                f"{live.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30
            ).text
            assert metric(scrape, "backoffice_wal_archive_failures") >= 1
            assert metric(scrape, "backoffice_recovery_warnings") >= 1
        finally:
            archive.chmod(0o750)
    finally:
        if engine:
            engine.stop()
        if live:
            live.stop()
        cluster.destroy()


FIGURES_MEMORY = recovery.FIGURES_MEMORY_SECONDS + 0.5


@pytest.mark.django_db
def test_a_cluster_that_archives_nothing_is_a_warning_not_a_failure(staff_client):
    """The tier's own cluster runs without archive_mode: no point-in-time recovery."""
    body = staff_client.get("/readyz").json()
    assert body["status"] == "ready"
    backups = body["checks"]["backups"]
    assert backups["ok"] is True and backups["wal"]["archive_mode"] == "off"
    assert "WAL archiving is off" in backups["warning"]


def db_epoch() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM now())::float8")
        return cursor.fetchone()[0]


@pytest.mark.django_db
@override_settings(PGBACKREST_STANZA="backoffice", BACKUP_MAX_AGE_HOURS=26)
def test_a_backup_older_than_the_threshold_is_named_with_its_age():
    stop = db_epoch() - 30 * 3600  # on the database's clock, as pgBackRest stamps it
    newest = {"label": "20260101-013000F", "type": "full", "stop_epoch": stop}
    cache.set(
        recovery.BACKUP_INFO_KEY,
        {
            "stanza": "backoffice",
            "backups": 1,
            "newest": newest,
            "newest_full": newest,
            "recorded_epoch": db_epoch(),
        },
    )
    try:
        figures = recovery.recovery_figures()
        assert any("the newest backup is 30.0 h old" in w for w in figures["warnings"])
        assert 30 * 3600 <= figures["backup"]["newest_age_seconds"] < 30 * 3600 + 60
        with override_settings(BACKUP_MAX_AGE_HOURS=31):
            assert not any("newest backup" in w for w in recovery.recovery_figures()["warnings"])
        with override_settings(BACKUP_MAX_AGE_HOURS=0, WAL_ARCHIVE_MAX_AGE_SECONDS=0):
            assert recovery.recovery_figures()["warnings"] == []
    finally:
        cache.delete(recovery.BACKUP_INFO_KEY)


def test_pgbackrest_info_is_summarised_by_its_newest_backups():
    info = [
        {
            "name": "backoffice",
            "status": {"code": 0, "message": "ok"},
            "archive": [{"max": "000000010000000000000009"}],
            "backup": [
                {"label": "F1", "type": "full", "error": False, "timestamp": {"stop": 100}},
                {"label": "D1", "type": "diff", "error": False, "timestamp": {"stop": 200}},
                {"label": "D2", "type": "diff", "error": True, "timestamp": {"stop": 300}},
            ],
        }
    ]
    summary = recovery.summarise_info(info, "backoffice")
    assert summary["newest"] == {"label": "D1", "type": "diff", "stop_epoch": 200}
    assert summary["newest_full"]["label"] == "F1"
    assert summary["backups"] == 2 and summary["archive_max_wal"] == "000000010000000000000009"
    assert "does not list" in recovery.summarise_info(info, "other")["problem"]
