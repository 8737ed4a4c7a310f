"""The project under a real gunicorn, on a PostgreSQL cluster of its own.

Tests that need several worker processes (alias hot swap, outage drills) start one with
``LiveServer(cluster, scratch, **env).start()``; ``manage()`` runs commands against the
same database and settings, and ``stop()`` ends gunicorn. The tier's Redis is shared
(REDIS_URL / REDIS_PASSWORD from the environment) under a key prefix of the server's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.clock import subprocess_environment
from tests.harness.services import PostgresCluster, ServiceError
from tests.support import GunicornServer, clean_environment, manage


def own_cluster(name: str):
    """A module's own PostgreSQL cluster, for a fixture to ``yield from``: the test fails
    (never skips) when it cannot start, and the cluster is destroyed afterwards."""
    try:
        cluster = PostgresCluster(name=name).up()
    except ServiceError as exc:
        pytest.fail(f"cannot start a PostgreSQL cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.destroy()


class LiveServer(GunicornServer):
    def __init__(self, cluster: PostgresCluster, scratch: Path, **overrides: str):
        env = clean_environment(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "x" * 60),
            DJANGO_SECURE_SSL_REDIRECT="0",
            DATABASE_URL=cluster.url(with_password=False),
            POSTGRES_PASSWORD=cluster.password,
            REDIS_URL=os.environ["REDIS_URL"],
            REDIS_PASSWORD=os.environ.get("REDIS_PASSWORD", ""),
            CACHE_KEY_PREFIX=f"live{uuid.uuid4().hex[:8]}",
            MODEL_STORAGE_DIR=str(scratch / "models"),
            SPOOL_DIR=str(scratch / "spool"),
            **overrides,
        )
        super().__init__(env, scratch, workers=2)

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run manage.py with the server's settings; fails loudly on a non-zero exit."""
        result = manage(*args, env=self.env, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def create_key(self, name: str, scopes: str) -> str:
        """A new API key with ``scopes`` (comma-separated), as create_api_key prints it."""
        printed = self.manage("create_api_key", name, "--scopes", scopes).stdout
        return printed.strip().splitlines()[-1]

    def start(
        self, *, migrate: bool = True, collectstatic: bool = False, timeout: float = 60
    ) -> LiveServer:
        if migrate:
            self.manage("migrate", "--noinput")
        if collectstatic:
            self.manage("collectstatic", "--noinput")
        try:
            super().start(timeout=timeout)
        except RuntimeError as exc:
            self.stop()
            raise AssertionError(str(exc)) from None
        return self

    def log_lines(self) -> list[dict]:
        """The JSON log lines so far (a line being written is skipped)."""
        lines = []
        for line in self.logs.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines

    def log_lines_once(self, ready, timeout: float = 10) -> list[dict]:
        """The JSON log lines once ``ready(lines)`` holds: a request's lines are written
        after its answer has been sent (backoffice.core.http.middleware), so a test that has the
        answer may read the log a moment before them."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            lines = self.log_lines()
            if ready(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


class JobEngine:
    """A real Celery worker and beat (backoffice.celery) for a live server's settings,
    with a broker key prefix of their own on the tier's Redis; logs to files the harness
    reads for secrets. ``start()`` waits until the worker is ready; ``stop()`` ends both.
    """

    def __init__(self, live: LiveServer, scratch: Path, **overrides: str):
        self.env = {
            **live.env,
            "CELERY_KEY_PREFIX": f"jobs-{uuid.uuid4().hex[:8]}:",
            **overrides,
        }
        log_dir = Path(os.environ.get("BACKOFFICE_TEST_LOG_DIR") or scratch)
        self.logs = {
            name: log_dir / f"celery-{name}-{uuid.uuid4().hex[:6]}.log"
            for name in ("worker", "beat")
        }
        self.schedule = scratch / "celerybeat-schedule"
        self.processes: list[subprocess.Popen] = []

    def _spawn(self, name: str, *args: str) -> None:
        import sys

        from tests.support import REPO

        with self.logs[name].open("a") as out:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "backoffice", name, *args],
                    cwd=REPO,
                    env=subprocess_environment(dict(self.env)),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def start(self, timeout: float = 60) -> JobEngine:
        import time

        self._spawn("worker", "--concurrency", "1", "--pool", "solo", "--loglevel", "INFO")
        self._spawn("beat", "--loglevel", "INFO", "--schedule", str(self.schedule))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise AssertionError(f"celery exited: {self.log_text()[-3000:]}")
            if "ready" in self.logs["worker"].read_text(errors="replace"):
                return self
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"the celery worker was not ready in time: {self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in self.logs.values() if path.exists()
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.processes = []
