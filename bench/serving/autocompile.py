"""A freshly registered booster against the bare FastAPI baseline, before and after the
job engine compiled it in the background (issue 30).

As a user would: the race's XGBoost model (bench.common.train_model: 120 trees, depth
5, 8 features) is registered with ``register_model --alias production`` and nothing
else; gunicorn serves it (2 sync workers, the production settings: API key, throttle,
Redis prediction cache, JSON logs, prediction records) beside the FastAPI baseline on
the same artifact (uvicorn, 2 workers, no auth). Raced with `wrk` as in
bench/serving/race.py (fresh random rows, Connection: close), at 16 clients and at one:

  before  the booster serves: the version was registered, no job has run
  after   a Celery worker and beat (the job engine, as the compose file runs them)
          were started; the compile-models job compiled the version and every worker
          serves the compiled library (GET /api/v1/cache of each worker says so); the
          job engine keeps running during the race, as in production

Printed: each round's figures, the medians, and project / FastAPI at 16 clients before
and after (the target: the compiled path's ~1x once the job has run), with how long the
job took to get every worker onto the compiled library.

Run: .venv/bin/python -m bench.serving.autocompile [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import orjson

from bench.common import load_average, train_model
from bench.serving.__main__ import project_env, start_servers
from bench.serving.race import BODIES, Figures, Target, check_answers, run_wrk
from tests.harness.services import PostgresCluster, RedisServer
from tests.support import REPO, manage

TARGET = 0.95  # project / FastAPI at 16 clients once compiled: level, within the noise


def start_job_engine(env: dict[str, str], scratch: Path) -> list[subprocess.Popen]:
    """A Celery worker (concurrency 1, as the compose file) and beat, compiling every
    second instead of every 15 (the bench waits for it, not the interval)."""
    env = {**env, "MODEL_COMPILE_EVERY_SECONDS": "1", "CELERY_KEY_PREFIX": "bench-jobs:"}
    processes = []
    for name, args in (
        ("worker", ["--concurrency", "1", "--loglevel", "INFO"]),
        ("beat", ["--loglevel", "INFO", "--schedule", str(scratch / "celerybeat-schedule")]),
    ):
        log = (scratch / f"celery-{name}.log").open("w")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "backoffice", name, *args],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return processes


def predict_once(target: Target) -> None:
    """One prediction of fresh random values (a cache hit would not load a predictor)."""
    row = ",".join(f"{random.uniform(-2, 2):.6f}" for _ in range(8))  # noqa: S311
    body = target.body.replace("%ROW%", row).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{target.port}{target.path}",
        data=body,
        headers={"Content-Type": "application/json", "Connection": "close", **target.headers},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def served_by_workers(port: int, key: str, workers: int = 2) -> dict[int, str]:
    """worker pid -> the predictor serving bench@1 there (GET /api/v1/cache)."""
    seen: dict[int, str] = {}
    for _ in range(50):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/cache",
            headers={"Authorization": f"Api-Key {key}", "Connection": "close"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            state = orjson.loads(response.read())
        for entry in state["loaded"]:
            if entry["model"] == "bench":
                seen[state["worker"]] = entry["predictor"]
        if len(seen) == workers:
            break
    return seen


def race(targets: list[Target], rounds: int, seconds: int, scratch: Path, phase: str):
    results: dict[tuple[str, int], list[Figures]] = {}
    for number in range(1, rounds + 1):
        print(f"\n{phase}: round {number} of {rounds} (load average {load_average()})")
        print(
            f"{'target':<18} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
        )
        order = targets if number % 2 else list(reversed(targets))
        for clients in (16, 1):
            for index, target in enumerate(order):
                figures = run_wrk(
                    target,
                    clients=clients,
                    seconds=seconds,
                    seed=(5000 if phase.startswith("after") else 0)
                    + number * 100
                    + clients * 10
                    + index,
                    scratch=scratch,
                )
                results.setdefault((target.name, clients), []).append(figures)
                print(
                    f"{target.name:<18} {clients:>7} {figures.rps:>8.0f} {figures.p50_ms:>8.2f} "
                    f"{figures.p99_ms:>8.2f} {figures.errors:>6}",
                    flush=True,
                )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="per target and concurrency")
    parser.add_argument("--rounds", type=int, default=2, help="before and after each")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    print(f"machine: {os.cpu_count()} cores, load average at start {load_average()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-autocompile-"))
    artifact = scratch / "model.json"
    train_model(artifact)
    cluster = PostgresCluster(name="autocompile").up()
    redis = RedisServer().start()
    processes: list[subprocess.Popen] = []
    try:
        env = project_env(scratch, cluster, redis, {})
        # The whole schema: the job engine's other jobs read their tables too.
        result = manage("migrate", "--noinput", "-v", "0", env=env, timeout=600)
        if result.returncode:
            raise SystemExit(result.stderr)
        (project, project_port, key), (baseline, baseline_port) = start_servers(
            scratch, artifact, cluster, redis, {}, compiled=False, env=env
        )
        processes += [project, baseline]
        admin = manage("create_api_key", "bench-ops", "--scopes", "cache:admin", env=env)
        ops_key = admin.stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Api-Key {key}"}
        targets = [
            Target("project /api/v1", project_port, "/api/v1/models/bench/predict",
                   BODIES["predict"], auth),
            Target("fastapi", baseline_port, "/models/bench/predict", BODIES["predict"], {}),
        ]  # fmt: skip
        print("one request each:")
        check_answers(targets)
        print(f"served before the job: {served_by_workers(project_port, ops_key)}")
        before = race(targets, args.rounds, args.seconds, scratch, "before (booster)")

        started = time.monotonic()
        processes += start_job_engine(env, scratch)
        served: dict[int, str] = {}
        while time.monotonic() - started < 300:
            # A worker reads the alias stamps with a prediction's round trip: predictions
            # keep arriving, as they would in production.
            for _ in range(8):
                predict_once(targets[0])
            served = served_by_workers(project_port, ops_key)
            if served and set(served.values()) == {"compiled"} and len(served) == 2:
                break
            time.sleep(0.5)
        waited = time.monotonic() - started
        if set(served.values()) != {"compiled"}:
            log = (scratch / "celery-worker.log").read_text()[-3000:]
            raise SystemExit(f"the job engine did not compile the version: {served}\n{log}")
        print(f"\nthe job engine compiled bench@1; every worker serves it {waited:.1f} s after "
              f"it started: {served}")  # fmt: skip
        after = race(targets, args.rounds, args.seconds, scratch, "after (compiled by the job)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.destroy()
        cluster.destroy()
        shutil.rmtree(scratch, ignore_errors=True)
    report(before, after, args.rounds)
    return 0


def report(before, after, rounds: int) -> None:
    def med(results, name, clients, field):
        return statistics.median(getattr(f, field) for f in results[(name, clients)])

    print(f"\nmedians of {rounds} rounds each")
    print(f"{'phase':<28} {'target':<16} {'req/s @16':>10} {'p99 @16':>8} {'req/s @1':>9} "
          f"{'p50 @1':>7}")  # fmt: skip
    for phase, results in (("before (booster)", before), ("after (compiled by the job)", after)):
        for name in ("project /api/v1", "fastapi"):
            print(
                f"{phase:<28} {name:<16} {med(results, name, 16, 'rps'):>10.0f} "
                f"{med(results, name, 16, 'p99_ms'):>8.2f} {med(results, name, 1, 'rps'):>9.0f} "
                f"{med(results, name, 1, 'p50_ms'):>7.2f}"
            )
    print()
    for phase, results in (("before", before), ("after", after)):
        ratios = [
            p.rps / f.rps
            for p, f in zip(results[("project /api/v1", 16)], results[("fastapi", 16)], strict=True)
        ]
        ratio = statistics.median(ratios)
        verdict = "" if phase == "before" else ("  ok" if ratio >= TARGET else "  MISSED")
        print(
            f"project / fastapi at 16 clients, {phase}: {ratio:.2f}x "
            f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}){verdict}"
        )
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    sys.exit(main())
