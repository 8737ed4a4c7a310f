"""Throwaway servers for the test suite: PostgreSQL, Redis and the TimescaleDB server.

Used by the `make test` harness (tests/harness/run.py) and by tests that need a server
of their own to stop and start (outage drills). No Django import here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class ServiceError(RuntimeError):
    """A test server could not be started; the message names the server and the cause."""


def free_port() -> int:
    """A loopback port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL server binaries, or TEST_PG_BINDIR."""
    configured = os.environ.get("TEST_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def native_timescaledb(bindir: Path | None) -> bool:
    """True when the PostgreSQL of ``bindir`` has TimescaleDB installed (its library)."""
    return bool(bindir) and any((bindir.parent / "lib").glob("timescaledb*.so"))


def native_timescaledb_version(bindir: Path) -> str:
    """The installed TimescaleDB's version, from its control file ("?" if unreadable)."""
    share = bindir.parents[3] / "share" / "postgresql" / bindir.parent.name / "extension"
    try:
        for line in (share / "timescaledb.control").read_text().splitlines():
            if line.startswith("default_version"):
                return line.split("=", 1)[1].strip().strip("'")
    except OSError:
        pass
    return "?"


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory, on a free loopback port.

    initdb refuses to run as root, so as root every server command runs as the
    `postgres` system user. The superuser has a random password (scram-sha-256), so
    the suite exercises the password path of DATABASE_URL / POSTGRES_PASSWORD.
    """

    def __init__(
        self, bindir: Path | None = None, *, name: str = "backoffice", timescale: bool = False
    ):
        self.bindir = bindir or find_postgres_bindir()
        # Preload TimescaleDB (it must be, to be created). Only when asked: the plain
        # tier stays plain PostgreSQL on a machine where TimescaleDB is installed.
        self.timescale = timescale
        if self.bindir is None or not (self.bindir / "initdb").exists():
            raise ServiceError(
                "PostgreSQL: no server binaries (looked for /usr/lib/postgresql/*/bin; "
                "install Debian's postgresql or set TEST_PG_BINDIR or TEST_DATABASE_URL)"
            )
        self.name = name
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.base = Path(tempfile.mkdtemp(prefix="bo-pg-"))
        self.datadir = self.base / "data"
        self.logfile = self.base / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    # -- commands ---------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        env = {**os.environ, "PGPASSWORD": self.password}
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.base, env=env
        )

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            log_tail = self.log_tail()
            raise ServiceError(
                f"PostgreSQL on port {self.port}: {what} failed: {' | '.join(detail)}"
                + (f"\n--- server log ---\n{log_tail}" if log_tail else "")
            )

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.logfile.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    # -- life cycle -------------------------------------------------------------
    def init(self) -> PostgresCluster:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password)
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self.base.chmod(0o700)
        result = self._run(
            self.bindir / "initdb",
            "-D",
            self.datadir,
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        pwfile.unlink()
        self._check(result, "initdb")
        return self

    def server_options(self) -> str:
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.base}",
            # A throwaway cluster: durability across an OS crash is not needed.
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=200",
        ]
        if self.timescale:
            if not native_timescaledb(self.bindir):
                raise ServiceError(f"PostgreSQL in {self.bindir}: TimescaleDB is not installed")
            options += [
                "-c shared_preload_libraries=timescaledb",
                "-c timescaledb.telemetry_level=off",
            ]
        return " ".join(options)

    def start(self) -> PostgresCluster:
        if port_open(self.port):
            raise ServiceError(f"PostgreSQL: port 127.0.0.1:{self.port} is already taken")
        result = self._run(
            self.bindir / "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            self.datadir,
            "-l",
            self.logfile,
            "-o",
            self.server_options(),
        )
        self._check(result, "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        if not self.datadir.exists():
            return
        self._run(self.bindir / "pg_ctl", "stop", "-w", "-t", "60", "-m", mode, "-D", self.datadir)

    def running(self) -> bool:
        result = self._run(self.bindir / "pg_ctl", "status", "-D", self.datadir)
        return result.returncode == 0

    def create_database(self, name: str) -> None:
        result = self._run(
            self.bindir / "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            name,
        )
        if result.returncode != 0 and "already exists" not in result.stderr:
            self._check(result, f"createdb {name}")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str | None = None, *, with_password: bool = True) -> str:
        auth = f"postgres:{self.password}" if with_password else "postgres"
        return f"postgres://{auth}@127.0.0.1:{self.port}/{database or self.name}"

    def up(self) -> PostgresCluster:
        """init, start, and create the named database."""
        self.init().start()
        self.create_database(self.name)
        return self


class RedisServer:
    """redis-server on a free loopback port, with a password and no persistence."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if not self.binary:
            raise ServiceError(
                "Redis: redis-server is not installed (apt-get install redis-server, "
                "or set TEST_REDIS_URL)"
            )
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.dir = Path(tempfile.mkdtemp(prefix="bo-redis-"))
        self.logfile = self.dir / "redis.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> RedisServer:
        if port_open(self.port):
            raise ServiceError(f"Redis: port 127.0.0.1:{self.port} is already taken")
        config = self.dir / "redis.conf"
        # The password goes in a file of mode 600, not on a command line that ps shows.
        config.write_text(
            f'port {self.port}\nbind 127.0.0.1\nsave ""\nappendonly no\n'
            f"dir {self.dir}\nrequirepass {self.password}\nlogfile {self.logfile}\n"
        )
        config.chmod(0o600)
        self.process = subprocess.Popen(
            [self.binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(
                    f"Redis on port {self.port} exited at start: "
                    f"{self.process.stderr.read().decode(errors='replace').strip()}"
                )
            if port_open(self.port):
                return self
            time.sleep(0.05)
        raise ServiceError(f"Redis on port {self.port} did not listen within {timeout:g} s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class TimescaleServer:
    """The npm TimescaleDB build (PGlite + timescaledb, WASM) served over the wire.

    One connection at a time, no COPY FROM STDIN, sslmode=disable, any password
    (tests/tsdb/README.md).
    """

    SCRIPT = REPO / "tests" / "tsdb" / "server.mjs"

    def __init__(self):
        self.node = shutil.which("node")
        if not self.node:
            raise ServiceError("TimescaleDB test server: node is not installed")
        if not (self.SCRIPT.parent / "node_modules" / "@unni-craftsman" / "pglite").exists():
            raise ServiceError(
                "TimescaleDB test server: npm packages missing in tests/tsdb "
                "(run `npm ci --prefix tests/tsdb`)"
            )
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.version: str | None = None
        self.stderr_lines: list[str] = []

    def start(self, timeout: float = 90) -> TimescaleServer:
        if port_open(self.port):
            raise ServiceError(f"TimescaleDB test server: port {self.port} is already taken")
        self.process = subprocess.Popen(
            [self.node, str(self.SCRIPT), "--port", str(self.port), "--host", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        ready = threading.Event()

        def read_stdout():
            for line in self.process.stdout:
                if line.startswith("READY "):
                    self.version = line.split()[-1]
                    ready.set()

        def read_stderr():
            for line in self.process.stderr:
                self.stderr_lines.append(line.rstrip())
                del self.stderr_lines[:-50]

        threading.Thread(target=read_stdout, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the stderr reader catch the last line
                raise ServiceError(
                    f"TimescaleDB test server exited at start (code {self.process.returncode}): "
                    + (" | ".join(self.stderr_lines[-3:]) or "no message")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(
                    f"TimescaleDB test server did not become ready within {timeout:g} s"
                )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    destroy = stop

    def url(self) -> str:
        # The database name is ignored by the server; the password is required but any.
        return f"postgres://postgres:tsdb@127.0.0.1:{self.port}/postgres?sslmode=disable"
