"""The `make test` harness: start the real servers, run each tier, stop everything.

Tiers:
  postgres   the whole suite but the `timescale` tests, on a throwaway PostgreSQL
             cluster and a throwaway Redis (or TEST_DATABASE_URL / TEST_REDIS_URL)
  timescale  the tests marked `timescale`, on the npm TimescaleDB server
             (or TEST_TIMESCALE_URL, for a native TimescaleDB)
  sqlite     the tests marked `smoke`, on the embedded SQLite default

Usage: python -m tests.harness.run [--tiers postgres,timescale,sqlite] [pytest args]
A tier that cannot start, fails, runs no test, or (timescale) skips a test fails the run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.services import (
    REPO,
    PostgresCluster,
    RedisServer,
    ServiceError,
    TimescaleServer,
    find_postgres_bindir,
    native_timescaledb,
    native_timescaledb_version,
)

RESULTS_DIR = REPO / "var" / "test-results"
TIERS = ("postgres", "timescale", "sqlite")
MARKERS = {"postgres": "not timescale", "timescale": "timescale", "sqlite": "smoke"}


@dataclass
class TierResult:
    tier: str
    exit_code: int
    tests: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_tests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.tests - self.failed - self.skipped

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.problems


def read_junit(path: Path) -> tuple[int, int, int, list[str]]:
    """(tests, failed incl. errors, skipped, skipped test ids with reasons)."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = failed = skipped = 0
    skipped_tests: list[str] = []
    for suite in suites:
        tests += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
        for case in suite.iter("testcase"):
            skip = case.find("skipped")
            if skip is not None:
                name = f"{case.get('classname')}::{case.get('name')}"
                skipped_tests.append(f"{name}: {skip.get('message', '')}")
    return tests, failed, skipped, skipped_tests


def evaluate(tier: str, exit_code: int, junit: Path) -> TierResult:
    """A tier's result from pytest's exit code and JUnit report, with what is wrong."""
    result = TierResult(tier=tier, exit_code=exit_code)
    if junit.exists():
        result.tests, result.failed, result.skipped, result.skipped_tests = read_junit(junit)
    else:
        result.problems.append("pytest wrote no results")
    if result.tests == 0:
        result.problems.append("ran no test")
    if tier == "timescale" and result.skipped:
        result.problems.append(
            f"{result.skipped} timescale test(s) skipped; in make test none may be"
        )
    if exit_code not in (0, 5) and not result.failed:
        result.problems.append(f"pytest exited with code {exit_code}")
    return result


def _files(paths: list[Path]) -> list[Path]:
    out = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            out.append(path)
    return out


def count_files(paths: list[Path]) -> int:
    return len(_files(paths))


def files_showing(paths: list[Path], secrets_in_use: list[str]) -> list[str]:
    """The files (under ``paths``) in which any of the secrets appears, by name only."""
    hits = []
    needles = [secret.encode() for secret in secrets_in_use if secret]
    for path in _files(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(needle in data for needle in needles):
            hits.append(path.name)
    return hits


def base_environment(scratch: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "REDIS_", "POSTGRES_", "DJANGO_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        # A fresh secret for this run; the security tests grep the logs for it.
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_DEBUG="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1,testserver",
        MODEL_STORAGE_DIR=str(scratch / "models"),
        SPOOL_DIR=str(scratch / "spool"),
        LOG_LEVEL="INFO",
        PYTHONDONTWRITEBYTECODE="1",
        # The suite's fixtures trade made-up symbols; the tests of the rule turn it on.
        INSTRUMENTS_REQUIRED="0",
    )
    return env


class Harness:
    def __init__(self, tiers: list[str], pytest_args: list[str]):
        self.tiers = tiers
        self.pytest_args = pytest_args
        self.started: list = []
        self.scratch = Path(tempfile.mkdtemp(prefix="bo-test-"))
        self.results: list[TierResult] = []
        self.timescale_kind = ""

    # -- servers ------------------------------------------------------------------
    def start(self, service):
        self.started.append(service)
        return service.start() if not isinstance(service, PostgresCluster) else service.up()

    def stop_all(self) -> None:
        for service in reversed(self.started):
            try:
                service.destroy()
            except Exception as exc:  # keep stopping the others
                print(f"harness: could not stop {type(service).__name__}: {exc}", file=sys.stderr)
        self.started.clear()

    def postgres_environment(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if os.environ.get("TEST_DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
            print("harness: postgres tier on TEST_DATABASE_URL")
        else:
            cluster = self.start(PostgresCluster())
            # The password travels apart from the URL, as in production.
            env["DATABASE_URL"] = cluster.url(with_password=False)
            env["POSTGRES_PASSWORD"] = cluster.password
            env["TEST_PG_BINDIR"] = str(cluster.bindir)
            print(f"harness: PostgreSQL {cluster.bindir.parent.name} on 127.0.0.1:{cluster.port}")
        if os.environ.get("TEST_REDIS_URL"):
            env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        else:
            redis = self.start(RedisServer())
            env["REDIS_URL"] = redis.url()
            env["REDIS_PASSWORD"] = redis.password
            print(f"harness: Redis on 127.0.0.1:{redis.port}")
        bindir = find_postgres_bindir()
        if bindir and "TEST_PG_BINDIR" not in env:
            env["TEST_PG_BINDIR"] = str(bindir)
        return env

    def timescale_environment(self) -> dict[str, str]:
        """TEST_TIMESCALE_URL; else a native TimescaleDB where this machine's PostgreSQL
        has it (a cluster of its own, with the extension preloaded); else the npm build."""
        if os.environ.get("TEST_TIMESCALE_URL"):
            self.timescale_kind = "TEST_TIMESCALE_URL"
            print("harness: timescale tier on TEST_TIMESCALE_URL")
            return {"DATABASE_URL": os.environ["TEST_TIMESCALE_URL"]}
        started = time.monotonic()
        bindir = find_postgres_bindir()
        if native_timescaledb(bindir):
            cluster = self.start(PostgresCluster(bindir, name="timescale", timescale=True))
            self.timescale_kind = (
                f"native TimescaleDB {native_timescaledb_version(bindir)} "
                f"(PostgreSQL {bindir.parent.name})"
            )
            print(
                f"harness: {self.timescale_kind} on 127.0.0.1:{cluster.port}, ready in "
                f"{time.monotonic() - started:.1f} s"
            )
            return {
                "DATABASE_URL": cluster.url(with_password=False),
                "POSTGRES_PASSWORD": cluster.password,
                "TEST_PG_BINDIR": str(bindir),
            }
        server = self.start(TimescaleServer())
        self.timescale_kind = f"TimescaleDB {server.version} (npm, WebAssembly)"
        print(
            f"harness: {self.timescale_kind} on 127.0.0.1:{server.port}, "
            f"ready in {time.monotonic() - started:.1f} s"
        )
        return {
            "DATABASE_URL": server.url(),
            "TSDB_SERVER_PID": str(server.process.pid),
            # One connection at a time: no pool, no persistent second connection.
            "DB_CONN_MAX_AGE": "0",
        }

    # -- tiers --------------------------------------------------------------------
    def run_tier(self, tier: str, extra_env: dict[str, str]) -> TierResult:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        # Read from this run's own scratch (two runs at once must not read each other's
        # results), then kept in var/test-results/ for CI and people.
        junit = self.scratch / f"{tier}.xml"
        junit.unlink(missing_ok=True)
        env = base_environment(self.scratch / tier)
        env.update(extra_env)
        env["BACKOFFICE_TEST_TIER"] = tier
        # Live servers started by the tests write their logs here (tests/support.py);
        # the harness reads them all, with the services' own logs, for secrets.
        log_dir = self.scratch / tier / "server-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        env["BACKOFFICE_TEST_LOG_DIR"] = str(log_dir)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            MARKERS[tier],
            f"--junitxml={junit}",
            "-o",
            f"junit_suite_name={tier}",
            *self.pytest_args,
        ]
        print(f"\nharness: === tier {tier}: pytest -m '{MARKERS[tier]}' ===", flush=True)
        secrets_in_use = [
            env[name]
            for name in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD")
            if len(env.get(name, "")) >= 8
        ]
        leaked: set[str] = set()
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            leaked.update(name for name in secrets_in_use if name in line)
            sys.stdout.write(line)
        sys.stdout.flush()
        result = evaluate(tier, process.wait(), junit)
        if junit.exists():
            shutil.copyfile(junit, RESULTS_DIR / f"{tier}.xml")
        if leaked:
            # Logs and reports of the run must never show a configured secret.
            result.problems.append(f"{len(leaked)} configured secret(s) appeared in the output")
        logs = [log_dir, *self.service_logs()]
        in_logs = files_showing(logs, secrets_in_use)
        print(
            f"harness: tier {tier}: {count_files(logs)} server log file(s) read for "
            f"{len(secrets_in_use)} configured secret(s): "
            + ("none found" if not in_logs else f"found in {', '.join(in_logs)}"),
            flush=True,
        )
        if in_logs:
            result.problems.append(
                f"a configured secret appeared in {len(in_logs)} server log file(s)"
            )
        return result

    def service_logs(self) -> list[Path]:
        """The log files of the servers this tier started (PostgreSQL, Redis, ...)."""
        return [service.logfile for service in self.started if hasattr(service, "logfile")]

    def run(self) -> int:
        try:
            for tier in self.tiers:
                try:
                    if tier == "postgres":
                        env = self.postgres_environment()
                    elif tier == "timescale":
                        env = self.timescale_environment()
                    else:
                        env = {"DJANGO_DEBUG": "1"}  # the embedded default's mode
                except ServiceError as exc:
                    self.results.append(
                        TierResult(tier=tier, exit_code=1, problems=[f"cannot start: {exc}"])
                    )
                    continue
                result = self.run_tier(tier, env)
                if tier == "timescale":
                    self.check_timescale_server(result)
                self.results.append(result)
                self.stop_all()
        finally:
            self.stop_all()
            shutil.rmtree(self.scratch, ignore_errors=True)
        return self.report()

    def check_timescale_server(self, result: TierResult) -> None:
        for service in self.started:
            if isinstance(service, TimescaleServer) and not service.alive():
                result.problems.append(
                    f"the TimescaleDB test server died during the run (exit code "
                    f"{service.process.returncode}): "
                    + (" | ".join(service.stderr_lines[-3:]) or "no message")
                )

    def report(self) -> int:
        print("\nharness: ====== results ======")
        for r in self.results:
            status = "ok" if r.ok else "FAILED"
            print(
                f"harness: tier {r.tier:<9} {status:<6} {r.passed} passed, {r.failed} failed, "
                f"{r.skipped} skipped"
            )
            if r.tier == "timescale" and self.timescale_kind:
                print(f"harness:   on {self.timescale_kind}")
            for problem in r.problems:
                print(f"harness:   problem: {problem}")
            for skipped in r.skipped_tests:
                print(f"harness:   skipped: {skipped}")
        passed = sum(r.passed for r in self.results)
        failed = sum(r.failed for r in self.results)
        skipped = sum(r.skipped for r in self.results)
        ok = bool(self.results) and all(r.ok for r in self.results)
        print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
        if not ok:
            print("harness: the run FAILED (see the problems above)")
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiers",
        default=os.environ.get("TEST_TIERS", ",".join(TIERS)),
        help="comma-separated tiers to run (default: all)",
    )
    args, pytest_args = parser.parse_known_args(argv)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    unknown = sorted(set(tiers) - set(TIERS))
    if unknown:
        parser.error(f"unknown tier(s) {', '.join(unknown)}; choose from {', '.join(TIERS)}")

    harness = Harness(tiers, pytest_args)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return harness.run()
    except KeyboardInterrupt:
        harness.stop_all()
        print("harness: interrupted; every server it started is stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
