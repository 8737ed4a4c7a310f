"""migrate where TimescaleDB is installed but not preloaded: plain PostgreSQL, no crash.

The issue: `migrate` crashed with a traceback on such a server (CREATE EXTENSION fails
there, and TimescaleDB's loader ends the session with a FATAL error). The README
promises plain PostgreSQL then. The test makes such a server on any machine: a copy of
this machine's PostgreSQL with a `timescaledb` extension that is available (listed in
pg_available_extensions) and not in shared_preload_libraries. Where a native
TimescaleDB is installed, its own files are used instead of the stand-in.
"""

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from tests.harness.services import PostgresCluster, find_postgres_bindir, native_timescaledb
from tests.live_server import LiveServer

STAND_IN_SQL = "DO $$ BEGIN RAISE EXCEPTION 'a stand-in: never created here'; END $$;\n"


def postgres_with_timescaledb_available(root: Path) -> Path:
    """A bindir of a PostgreSQL copy whose extension directory lists timescaledb."""
    bindir = find_postgres_bindir()
    if native_timescaledb(bindir):
        return bindir
    version = bindir.parent.name
    lib_root = root / "usr" / "lib" / "postgresql"
    share = root / "usr" / "share" / "postgresql" / version
    shutil.copytree(bindir.parent, lib_root / version, symlinks=True)
    shutil.copytree(bindir.parents[3] / "share" / "postgresql" / version, share, symlinks=True)
    extension = share / "extension"
    (extension / "timescaledb.control").write_text(
        "default_version = '9.9.9'\nmodule_pathname = '$libdir/timescaledb'\nrelocatable = false\n"
    )
    (extension / "timescaledb--9.9.9.sql").write_text(STAND_IN_SQL)
    return lib_root / version / "bin"


@pytest.fixture
def unpreloaded_cluster():
    # Outside pytest's temporary directories (mode 700): the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="bo-pgcopy-"))
    root.chmod(0o755)
    cluster = PostgresCluster(postgres_with_timescaledb_available(root), name="not_preloaded")
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


def test_migrate_runs_as_plain_postgresql_where_timescaledb_is_not_preloaded(
    unpreloaded_cluster, tmp_path
):
    cluster = unpreloaded_cluster
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
    assert available, "the server does not list timescaledb as available"
    live = LiveServer(cluster, tmp_path)
    result = live.manage("migrate", "--noinput")  # raises on a non-zero exit
    assert "Traceback" not in result.stderr
    assert "not in shared_preload_libraries" in result.stdout + result.stderr
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        assert conn.execute("SELECT to_regclass('journal_trade')").fetchone()[0]
        installed = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    assert installed is None
