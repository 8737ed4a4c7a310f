"""What recording every prediction costs a single-row prediction (issue 19: at most 5 %).

Two servers of the project, each gunicorn with 2 sync workers and the production
settings of bench.serving (API key, throttle, Redis prediction cache, JSON logs at
INFO), on the same throwaway PostgreSQL (migrated, the records table included) and
Redis, serving the same XGBoost model (bench.common.train_model: 120 trees, depth 5):

  recording   SERVING_RECORD_SAMPLE_RATE=1: every prediction is recorded (each worker's
              writer thread COPYs its queue every SERVING_RECORD_FLUSH_MS)
  off         SERVING_RECORD_SAMPLE_RATE=0: every answer still has its prediction ids;
              nothing is queued or written

raced with `wrk` (one thread; a Lua script makes every body, fresh random rows so that
no cache answers; Connection: close), at 16 clients and at one, in --rounds rounds whose
order alternates. Printed per run: req/s, p50, p99, errors and the CPU milliseconds per
request of the server's processes plus PostgreSQL's (only one server is loaded at a
time, so the database's CPU in a run is that server's); then the medians, the ratios
recording / off, and the records written against the requests answered.

Run: .venv/bin/python -m bench.serving.recording [--seconds 10] [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.common import train_model
from bench.serving.__main__ import cluster_pid, cpu_seconds, project_env, start_project
from bench.serving.race import BODIES, Target, check_answers, lua_script
from tests.harness.services import PostgresCluster, RedisServer
from tests.support import manage

TARGET = 0.05  # the most recording may cost, as a share of single-row throughput
MODES = {"recording": "1", "off": "0"}


@dataclass
class Run:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # per request: the server's processes and PostgreSQL


def start(scratch: Path, cluster, redis, name: str, rate: str) -> tuple[subprocess.Popen, int]:
    overrides = {
        "SERVING_RECORD_SAMPLE_RATE": rate,
        "PROMETHEUS_MULTIPROC_DIR": str(scratch / f"prometheus-{name}"),
    }
    return start_project(
        environment(scratch, cluster, redis),
        scratch,
        overrides,
        log=scratch / f"gunicorn-{name}.log",
    )


def environment(scratch: Path, cluster, redis) -> dict[str, str]:
    # One secret key for every server and command of the run.
    return project_env(scratch, cluster, redis, {"DJANGO_SECRET_KEY": SECRET})


SECRET = secrets.token_urlsafe(50)


def prepare(scratch: Path, artifact: Path, cluster, redis) -> str:
    """Migrate, register the model, make a key; the key."""
    env = environment(scratch, cluster, redis)
    for command in (
        ["migrate", "--noinput", "-v", "0"],
        ["register_model", str(artifact), "--name", "bench", "--alias", "production"],
    ):
        result = manage(*command, env=env, timeout=600)
        if result.returncode:
            raise SystemExit(result.stderr)
    created = manage("create_api_key", "bench", "--scopes", "predict", env=env)
    return created.stdout.strip().splitlines()[-1]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(target: Target, *, clients: int, seconds: int, seed: int, scratch: Path, pids) -> Run:
    script = scratch / f"{target.name}-{seed}.lua"
    script.write_text(lua_script(target, seed))
    before = sum(cpu_seconds([pid]) for pid in pids)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{target.port}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    cpu = sum(cpu_seconds([pid]) for pid in pids) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * _UNITS[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Run(
        requests=requests,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        errors=errors,
        cpu_ms=cpu * 1000 / max(1, requests),
    )


def records_written(cluster) -> int:
    with psycopg.connect(cluster.url().replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM serving_predictionrecord").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per server and concurrency")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--clients", default="16,1", help="concurrencies, comma-separated")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="bench-recording-"))
    artifact = scratch / "model.json"
    train_model(artifact)
    cluster = PostgresCluster(name="recording").up()
    redis = RedisServer().start()
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    results: dict[tuple[str, int], list[Run]] = {}
    answered = {name: 0 for name in MODES}
    try:
        key = prepare(scratch, artifact, cluster, redis)
        for name, rate in MODES.items():
            servers[name] = start(scratch, cluster, redis, name, rate)
        auth = {"Authorization": f"Api-Key {key}"}
        targets = {
            name: Target(name, port, "/api/v1/models/bench/predict", BODIES["predict"], auth)
            for name, (_, port) in servers.items()
        }
        print("one request each:")
        check_answers(list(targets.values()))
        time.sleep(1.0)
        warm = records_written(cluster)
        postgres = cluster_pid(cluster)
        clients = [int(c) for c in args.clients.split(",")]
        for number in range(1, args.rounds + 1):
            order = list(MODES) if number % 2 else list(reversed(MODES))
            print(f"\nround {number} of {args.rounds}")
            print(
                f"{'server':<10} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
                f"{'errors':>6} {'CPU ms/req':>10}"
            )
            for count in clients:
                for name in order:
                    run = run_wrk(
                        targets[name],
                        clients=count,
                        seconds=args.seconds,
                        seed=number * 100 + count,
                        scratch=scratch,
                        pids=[servers[name][0].pid, postgres],
                    )
                    answered[name] += run.requests - run.errors
                    results.setdefault((name, count), []).append(run)
                    print(
                        f"{name:<10} {count:>7} {run.rps:>8.0f} {run.p50_ms:>8.2f} "
                        f"{run.p99_ms:>8.2f} {run.errors:>6} {run.cpu_ms:>10.3f}",
                        flush=True,
                    )
        time.sleep(2.0)  # the writers' last flush
        written = records_written(cluster) - warm
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.destroy()
        cluster.destroy()
    shutil.rmtree(scratch, ignore_errors=True)
    report(results, clients, args.rounds, written, answered, load_before, os.getloadavg())
    return 0


def report(results, clients, rounds, written, answered, load_before, load_after) -> None:
    def med(name, count, field):
        return statistics.median(getattr(r, field) for r in results[(name, count)])

    print(f"\nmedians of {rounds} rounds")
    print(
        f"{'server':<10} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10}"
    )
    for count in clients:
        for name in MODES:
            print(
                f"{name:<10} {count:>7} {med(name, count, 'rps'):>8.0f} "
                f"{med(name, count, 'p50_ms'):>8.2f} {med(name, count, 'p99_ms'):>8.2f} "
                f"{med(name, count, 'cpu_ms'):>10.3f}"
            )
    print("\nrecording / off (median of the rounds' own ratios; the target: at most 5 % lost)")
    for count in clients:
        pairs = list(zip(results[("recording", count)], results[("off", count)], strict=True))
        throughput = statistics.median(r.rps / o.rps for r, o in pairs)
        cpu = statistics.median(r.cpu_ms / o.cpu_ms for r, o in pairs)
        verdict = "ok" if throughput >= 1 - TARGET else f"MISSED (>= {1 - TARGET:.2f})"
        print(
            f"  {count:>2} clients: throughput {throughput:.3f}x {verdict}; "
            f"CPU per request {cpu:.3f}x"
        )
    print(
        f"\nrecords written: {written} of the {answered['recording']} predictions "
        "that 'recording' answered"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    sys.exit(main())
