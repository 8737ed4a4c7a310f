"""Helpers shared by tests: running manage.py in a clean environment."""

import os
import subprocess
import sys
from pathlib import Path

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
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``manage.py`` with exactly ``env`` and capture its output."""
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
