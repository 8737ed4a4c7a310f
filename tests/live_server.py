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
import sys
import time
import uuid
from pathlib import Path

from tests.harness.services import PostgresCluster, free_port, port_open
from tests.support import REPO, clean_environment, manage


class LiveServer:
    def __init__(self, cluster: PostgresCluster, scratch: Path, **overrides: str):
        self.port = free_port()
        self.scratch = scratch
        self.logs = scratch / "gunicorn.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_environment(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "x" * 60),
            DJANGO_SECURE_SSL_REDIRECT="0",
            DATABASE_URL=cluster.url(with_password=False),
            POSTGRES_PASSWORD=cluster.password,
            REDIS_URL=os.environ["REDIS_URL"],
            REDIS_PASSWORD=os.environ.get("REDIS_PASSWORD", ""),
            CACHE_KEY_PREFIX=f"live{uuid.uuid4().hex[:8]}",
            GUNICORN_BIND=f"127.0.0.1:{self.port}",
            GUNICORN_WORKERS="2",
            BACKOFFICE_VAR_DIR=str(scratch),
            MODEL_STORAGE_DIR=str(scratch / "models"),
            SPOOL_DIR=str(scratch / "spool"),
            **overrides,
        )
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run manage.py with the server's settings; fails loudly on a non-zero exit."""
        result = manage(*args, env=self.env, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def start(
        self, *, migrate: bool = True, collectstatic: bool = False, timeout: float = 60
    ) -> LiveServer:
        if migrate:
            self.manage("migrate", "--noinput")
        if collectstatic:
            self.manage("collectstatic", "--noinput")
        with self.logs.open("w") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "backoffice/gunicorn.conf.py",
                    "backoffice.wsgi:application",
                ],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"gunicorn did not start:\n{self.logs.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_lines(self) -> list[dict]:
        """The JSON log lines so far (a line being written is skipped)."""
        lines = []
        for line in self.logs.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines
