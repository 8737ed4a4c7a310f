"""Helpers shared by tests: running manage.py in a clean environment."""

import os
import subprocess
import sys
from pathlib import Path

from tests.clock import subprocess_environment

REPO = Path(__file__).resolve().parents[1]

# Variables that would change how settings load in a child process.
_CONFIG_PREFIXES = (
    "DJANGO_",
    "DATABASE_URL",
    "POSTGRES_",
    "REDIS_",
    "PYTEST_",
    "BACKOFFICE_TEST_TIER",
    "DB_",
    "LOG_LEVEL",
    "GUNICORN_",
)


def clean_environment(**overrides: str) -> dict[str, str]:
    """os.environ without any project configuration, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    env["DJANGO_SETTINGS_MODULE"] = "backoffice.settings"
    env.update(overrides)
    return subprocess_environment(env)


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``manage.py`` with exactly ``env`` and capture its output."""
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=subprocess_environment(dict(env)),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


class GunicornServer:
    """The project under gunicorn on a free port, logging to a file; for live drills.

    ``env`` is the complete environment (see clean_environment); the database is
    migrated and static files collected before the server starts.
    """

    def __init__(self, env: dict[str, str], scratch: Path, *, workers: int = 2):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # Under make test, in the directory whose every file the harness reads for secrets.
        log_dir = os.environ.get("BACKOFFICE_TEST_LOG_DIR")
        self.logs = (Path(log_dir) if log_dir else scratch) / f"gunicorn-{self.port}.log"
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "BACKOFFICE_VAR_DIR": str(scratch),
        }
        self.process: subprocess.Popen | None = None

    def prepare(self) -> None:
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            result = manage(*command, env=self.env, timeout=300)
            if result.returncode != 0:
                raise RuntimeError(f"{command[0]} failed: {result.stderr[-2000:]}")

    def start(self, timeout: float = 30) -> "GunicornServer":
        import time

        from tests.harness.services import port_open

        with self.logs.open("a") as out:
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
                env=subprocess_environment(dict(self.env)),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.logs.read_text()[-2000:]}")
            if port_open(self.port):
                return self
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not listen in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
