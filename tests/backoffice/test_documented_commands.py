"""A newcomer's first hour, as written: every shell command of the README and of the API
docs' quick start, against a fresh ``make run``.

``make run`` starts in a scratch data directory on a free port (the README's command, with
``BACKOFFICE_VAR_DIR`` and ``PORT`` so that it leaves the checkout's own database alone);
the ``export BASE=... KEY=...`` line it prints last is pasted before each command, as the
README says to. A command the README shows that this test does not run is listed in
NOT_RUN_HERE with the reason; a ``manage.py`` reference example with placeholder files has
its arguments parsed by the command itself. A command in neither list fails the test, so
a new one cannot slip past it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import REPO, clean_environment

pytestmark = pytest.mark.smoke

README = REPO / "README.md"
INTRODUCTION = REPO / "backoffice" / "core" / "api" / "introduction.md"

NOT_RUN_HERE = {
    "make run": "the fixture starts it, and every other command runs against it",
    "make test": "this test runs inside it",
    "make fuzz": "the long schemathesis run; make test runs its bounded version",
    "docker compose up -d": "no Docker engine runs here; make check-compose validates the file",
    "make load": "a benchmark (bench/README.md), minutes long",
    "make soak": "a ten-minute benchmark",
    "make audit": "asks PyPI's advisory database about every pin",
    "make serve": "production settings and PostgreSQL; tests/backoffice/test_gunicorn.py "
    "starts gunicorn with the same configuration",
    ".venv/bin/celery -A backoffice worker": "needs Redis; tests/journal/test_outage.py and "
    "tests/ops start the job engine",
    ".venv/bin/celery -A backoffice beat": "needs Redis; started with the worker in those tests",
    "make backup": "PostgreSQL only: tests/ops/test_backup_restore.py",
    'pgbackrest --stanza=backoffice --delta --type=time        --target="2026-12-07 15:59:30+00" '
    "--target-action=promote restore": "the point-in-time drill "
    "(tests/ops/test_point_in_time_recovery.py) restores to a time on a throwaway cluster",
    "pgbackrest --stanza=backoffice --delta --type=name        "
    "--target=before-import-2026-12-07 --target-action=promote restore": "the same drill "
    "restores to a named restore point",
    "pgbackrest --stanza=backoffice info": "the backup figures' test "
    "(tests/ops/test_backup_figures.py) runs it through a real Celery worker",
    "make restore BACKUP=var/backups/20261124T040000Z DATABASE=backoffice_restored": (
        "PostgreSQL only: tests/ops/test_backup_restore.py"
    ),
}


def shell_commands(path: Path) -> list[str]:
    """The commands of the ``sh`` blocks of a Markdown file, one per logical line
    (continuations joined), without comments."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split("  #")[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MakeRun:
    """``make run`` in its own process group, its output in a file."""

    def __init__(self, scratch: Path):
        self.port = _free_port()
        self.output = scratch / "make-run.log"
        self.env = clean_environment(BACKOFFICE_VAR_DIR=str(scratch / "var"))
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        # A person's shell, not a recipe of `make test`: a make inside make prints
        # "Entering directory" lines around a command's output (the key is its last line).
        for name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 240) -> MakeRun:
        with self.output.open("w") as out:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run", f"PORT={self.port}"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"make run exited:\n{self.text()[-3000:]}")
            if "Quit the server with" in self.text():
                return self
            time.sleep(0.25)
        raise AssertionError(f"make run served nothing in {timeout} s:\n{self.text()[-3000:]}")

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def export_line(self) -> str:
        found = re.findall(r"^\s*(export BASE=\S+ KEY=\S+)\s*$", self.text(), flags=re.M)
        assert found, self.text()[-2000:]
        return found[-1]

    def request_lines(self) -> list[dict]:
        lines = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("logger") in ("backoffice.request", "django.server"):
                    lines.append(record)
        return lines

    def sh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """``command`` in bash after the printed export line, in the checkout."""
        return subprocess.run(
            ["bash", "-c", f"set -e\n{self.export_line()}\n{command}"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.fail("make is not installed: the README's commands need it")
    run = MakeRun(tmp_path_factory.mktemp("make-run")).start()
    try:
        yield run
    finally:
        run.stop()


def _json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_make_run_is_quiet_and_ends_with_where_to_go_and_who_to_be(instance):
    # From the demo on (a first run's install lines come before it).
    text = instance.text().split("manage.py demo", 1)[1]
    before_server = text.split("Watching for file changes")[0]
    lines = [line for line in before_server.splitlines() if line.strip()]
    assert len(lines) < 60, f"{len(lines)} lines before the server starts"
    assert not re.search(r"Treelite version|(?i:warning)", before_server), before_server
    assert '"message": "prediction"' not in before_server
    tail = "\n".join(lines[-16:])
    base = f"http://127.0.0.1:{instance.port}"
    assert f"Admin:    {base}/admin/" in tail and f"API docs: {base}/api/docs/" in tail
    for persona in ("reviewer", "risk-manager", "model-manager", "operator"):
        assert re.search(rf"^  {persona}\s+\S{{16}}\s", tail, flags=re.M), tail
    assert f"export BASE={base} KEY=bo_" in tail


def test_the_api_docs_quick_start_works_as_written(instance):
    commands = shell_commands(INTRODUCTION)
    assert commands[0].startswith("export BASE=")  # the line make run prints instead
    answers = [_json(instance.sh(command)) for command in commands[1:]]
    recorded, closed, listed, predicted, idea, positions = answers
    assert recorded == {"created": 1, "duplicates": 0, "closed": 0, "warnings": []}, recorded
    assert closed == {"created": 0, "duplicates": 0, "closed": 1, "warnings": []}, closed
    assert [t["trade_id"] for t in listed["results"]][:1] == ["BOT1-000042"], listed
    assert predicted["model"] == "trade-outcome-xgboost" and len(predicted["predictions"]) == 1
    assert idea["status"] in ("auto_executed", "needs_approval", "rejected", "halted_by_risk")
    assert idea["risk_check_result"]["checks"], idea
    assert isinstance(positions["results"], list), positions  # the open positions
    again = _json(instance.sh(commands[1]))  # the first trade again: stored once
    assert again == {"created": 0, "duplicates": 1, "closed": 0, "warnings": []}, again


def test_every_readme_command_works_as_written_or_says_why_not(instance, tmp_path):
    from django.core.management import load_command_class

    ran, parsed = [], []
    for command in shell_commands(README):
        if command in NOT_RUN_HERE:
            continue
        words = shlex.split(command)
        if words[0] == "manage.py":
            # A reference example with placeholder files: its arguments must parse.
            app = _command_app(words[1])
            parser = load_command_class(app, words[1]).create_parser("manage.py", words[1])
            parser.parse_args(words[2:])
            parsed.append(command)
        elif command == "make secrets":
            # Writes ./secrets beside the Makefile: in a copy, not in the checkout.
            (tmp_path / "scripts").mkdir()
            shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
            shutil.copy(REPO / "scripts" / "gen_secrets.sh", tmp_path / "scripts")
            result = subprocess.run(
                ["make", "--no-print-directory", "secrets"], cwd=tmp_path, capture_output=True
            )
            assert result.returncode == 0, result.stderr
            assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == [
                "django_secret_key",
                "postgres_password",
                "redis_password",
            ]
            ran.append(command)
        else:
            result = instance.sh(command)
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            ran.append(command)
    assert 'curl -sS "$BASE/healthz"' in ran and len(parsed) >= 10, (ran, parsed)
    # The key make api-key printed works for what its scopes allow.
    made = instance.sh("make api-key NAME=second-bot SCOPES=trades:read")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    listed = instance.sh(
        f'curl -sS "$BASE/api/v1/trades?limit=1" -H "Authorization: Api-Key {key}"'
    )
    assert "results" in _json(listed), (made.stdout, made.stderr, listed.stdout)


def _command_app(name: str) -> str:
    from django.core.management import get_commands

    commands = get_commands()
    assert name in commands, f"manage.py {name}: no such command"
    return commands[name]


def test_the_front_door_leads_somewhere_and_no_page_is_a_debug_page(instance):
    def head(path: str) -> tuple[str, str]:
        result = instance.sh(
            f'curl -sS -o /dev/null -w "%{{http_code}} %{{redirect_url}}" "$BASE{path}"'
        )
        assert result.returncode == 0, result.stderr
        code, _, target = result.stdout.partition(" ")
        return code, target

    assert head("/") == ("302", f"http://127.0.0.1:{instance.port}/api/docs/")
    assert head("/admin")[0] == "301"
    for path in ("/nothing-here", "/api/v1/nothing", "/static/nothing.css"):
        page = instance.sh(f'curl -sS "$BASE{path}"')
        assert "URLconf" not in page.stdout and "DEBUG = True" not in page.stdout, path


def test_each_request_is_logged_once(instance):
    before = len(instance.request_lines())
    result = instance.sh('curl -sS "$BASE/api/v1/trades?limit=1" -H "Authorization: Api-Key $KEY"')
    assert result.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(instance.request_lines()) == before:
        time.sleep(0.1)
    time.sleep(0.5)
    new = instance.request_lines()[before:]
    assert [line["logger"] for line in new] == ["backoffice.request"], new
