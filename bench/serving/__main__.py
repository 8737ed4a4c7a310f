"""Benchmark: the prediction API under gunicorn against a FastAPI + uvicorn baseline.

Starts a throwaway PostgreSQL cluster and Redis, registers one XGBoost model (120 trees,
depth 5, 8 features), and serves it twice on loopback:
  project   gunicorn, 2 sync workers, the real settings (API key, throttle, Redis
            prediction cache, JSON logs at INFO)
  fastapi   uvicorn, 2 workers, bench/serving/fastapi_app.py on the same artifact
The same asyncio client loads both (Connection: close on every request), 16 requests at
a time; in-process prediction is timed on the project's own predictor. Every scenario
runs --rounds times (3), project and baseline alternating, and the in-process timing once
a round: the machine's speed drifts by tens of percent between minutes, so each ratio is
the median of the rounds' own. Printed: req/s, rows/s, p50 and p99 of each round and of
all rounds, and the ratios the issue sets targets for.

Also printed: the project's GET /healthz, the cost of the stack alone (Django,
middleware, JSON logs, gunicorn), and the CPU each request costs the servers.

Run: .venv/bin/python -m bench.serving [--requests 3000] [--batch-requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import FEATURES, process_children, train_model
from bench.serving.client import Result, build_request, load
from tests.harness.services import PostgresCluster, RedisServer, free_port, port_open
from tests.support import REPO, clean_environment, manage

TARGETS = {
    "single-row throughput vs FastAPI": 1.0,
    "1000-row rows/s vs in-process": 0.7,
    "cached vs uncached (1000-row)": 2.0,
}


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of ``pids`` and all their descendants, in seconds.

    Throughput on a shared two-core machine moves with whatever else runs; the CPU a
    request costs does not, so the figures include it.
    """
    tree, total, todo, seen = process_children(), 0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo += tree.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wait_ready(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server on {port} did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def rows_body(rng: np.random.Generator, rows: int) -> dict:
    return {"inputs": rng.normal(size=(rows, len(FEATURES))).round(6).tolist()}


def run_scenario(
    port, path, headers, *, rows, count, concurrency, cached, seed, pids
) -> tuple[Result, list[float]]:
    """The load's result and the CPU ms per request of each process group in ``pids``."""
    rng = np.random.default_rng(seed)
    if rows == 0:  # a plain GET: what the stack costs without any prediction
        requests = [
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        ] * count
    elif cached:
        one = build_request(port, path, rows_body(rng, rows), headers)
        load(port, [one] * concurrency, concurrency=concurrency, rows=rows)  # fill the cache
        requests = [one] * count
    else:
        requests = [build_request(port, path, rows_body(rng, rows), headers) for _ in range(count)]
    # A short warm-up of connections and code paths, not measured. Uncached scenarios warm
    # up on bodies of their own: the measured ones must all miss the cache.
    warm_up = requests[: min(50, count)]
    if rows and not cached:
        warm_up = [build_request(port, path, rows_body(rng, rows), headers) for _ in warm_up]
    load(port, warm_up, concurrency=concurrency, rows=rows)
    before = [cpu_seconds([pid]) for pid in pids]
    result = load(port, requests, concurrency=concurrency, rows=rows)
    after = [cpu_seconds([pid]) for pid in pids]
    return result, [
        (a - b) * 1000 / max(1, result.requests) for a, b in zip(after, before, strict=True)
    ]


def cluster_pid(cluster) -> int:
    return int((cluster.datadir / "postmaster.pid").read_text().split()[0])


def in_process(artifact: Path) -> dict[int, float]:
    """Rows per second of the project's predictor, one thread, no HTTP."""
    from models_registry.artifacts.loaders import load as load_predictor

    predictor = load_predictor("xgboost", artifact.read_bytes(), threads=1)
    rng = np.random.default_rng(7)
    figures = {}
    for rows, loops in ((1, 3000), (1000, 300)):
        batch = rng.normal(size=(rows, len(FEATURES)))
        predictor.predict(batch)
        started = time.perf_counter()
        for _ in range(loops):
            predictor.predict(batch)
        figures[rows] = rows * loops / (time.perf_counter() - started)
    return figures


def start_servers(
    scratch: Path,
    artifact: Path,
    cluster,
    redis,
    overrides: dict[str, str],
    *,
    compiled: bool = False,
    env: dict[str, str] | None = None,
):
    """The project (gunicorn) and the FastAPI baseline (uvicorn) on the same artifact;
    with ``compiled`` the project serves the model's compiled tree predictor
    (manage.py compile_model), as an operator would run it. ``env``: the project's
    environment (project_env), for a caller that starts more servers on it."""
    env = env or project_env(scratch, cluster, redis, overrides)
    commands = [
        # Only the tables serving reads (API keys, the registry): the bench does not
        # depend on the other apps' migrations.
        ["migrate", "backoffice", "--noinput", "-v", "0"],
        ["migrate", "models_registry", "--noinput", "-v", "0"],
        ["register_model", str(artifact), "--name", "bench", "--alias", "production"],
    ]
    if compiled:
        commands.append(["compile_model", "bench", "1"])
    for command in commands:
        result = manage(*command, env=env, timeout=300)
        if result.returncode:
            raise SystemExit(result.stderr)
    created = manage("create_api_key", "bench", "--scopes", "predict", env=env)
    key = created.stdout.strip().splitlines()[-1]
    project, project_port = start_project(env, scratch)
    baseline_port = free_port()
    baseline_log = scratch / "uvicorn.log"
    baseline_env = {
        **os.environ,
        "BENCH_ARTIFACT": str(artifact),
        "BENCH_FEATURES": ",".join(FEATURES),
    }
    baseline = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.serving.fastapi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(baseline_port),
            "--workers",
            "2",
        ],
        cwd=REPO,
        env=baseline_env,
        stdout=baseline_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(baseline_port, baseline, baseline_log)
    time.sleep(1.0)  # uvicorn's second worker, gunicorn's warm-up on first request
    return (project, project_port, key), (baseline, baseline_port)


def project_env(scratch: Path, cluster, redis, overrides: dict[str, str]) -> dict[str, str]:
    """The project's production settings on the throwaway cluster and Redis."""
    env = clean_environment(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=cluster.url(with_password=False),
        POSTGRES_PASSWORD=cluster.password,
        REDIS_URL=redis.url(),
        REDIS_PASSWORD=redis.password,
        BACKOFFICE_VAR_DIR=str(scratch),
        MODEL_STORAGE_DIR=str(scratch / "models"),
        GUNICORN_WORKERS="2",
        # The throttle stays on (its cost is part of the figures) but never trips.
        SERVING_PREDICT_RATE="1000000/s",
        LOG_LEVEL="INFO",
    )
    env.update(overrides)
    return env


def start_project(
    env: dict[str, str],
    scratch: Path,
    overrides: dict[str, str] | None = None,
    *,
    log: Path | None = None,
) -> tuple[subprocess.Popen, int]:
    """gunicorn with the project's configuration, ``overrides`` over ``env``, its output
    in ``log`` (default: in ``scratch``, named by the port); ready."""
    port = free_port()
    env = {**env, **(overrides or {}), "GUNICORN_BIND": f"127.0.0.1:{port}"}
    log = log or scratch / f"gunicorn-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "backoffice/gunicorn.conf.py",
            "backoffice.wsgi:application",
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(port, process, log)
    return process, port


HEADER = (
    f"{'scenario':<34} {'req/s':>8} {'rows/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'errors':>6} {'CPU ms/req':>10} (project: gunicorn + redis + postgres)"
)


def line(name: str, r: Result, cpu_ms: list[float]) -> str:
    """A scenario's figures; ``cpu_ms`` is per process group (the project's three)."""
    # A process that used no CPU can read a hair below zero (clock ticks): shown as 0.00.
    cpu_ms = [max(0.0, part) for part in cpu_ms]
    split = "" if len(cpu_ms) == 1 else " (" + " + ".join(f"{p:.2f}" for p in cpu_ms) + ")"
    return (
        f"{name:<34} {r.rps:>8.0f} {r.rows_per_second:>10.0f} {r.p50:>7.2f} {r.p99:>7.2f}"
        f" {r.errors:>6} {sum(cpu_ms):>10.2f}{split}"
    )


def in_process_line(rows: int, rows_per_second: float) -> str:
    name = f"in-process {rows}-row (one thread)"
    return f"{name:<34} {rows_per_second / rows:>8.0f} {rows_per_second:>10.0f}"


def merged(results: list[Result]) -> Result:
    """The rounds of one scenario as one: all requests over all seconds, all latencies."""
    statuses: dict[int, int] = {}
    for r in results:
        for status, count in r.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Result(
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        seconds=sum(r.seconds for r in results),
        latencies_ms=[ms for r in results for ms in r.latencies_ms],
        rows_per_request=results[0].rows_per_request,
        statuses=statuses,
    )


def round_ratios(measured: dict[str, tuple[Result, list[float]]], local: dict) -> dict:
    """The ratios of one round: its results and its in-process figures."""
    r = {name: result for name, (result, _) in measured.items()}
    return {
        "single-row throughput vs FastAPI": r["project 1-row uncached"].rps
        / r["fastapi 1-row"].rps,
        "1000-row rows/s vs FastAPI": r["project 1000-row uncached"].rows_per_second
        / r["fastapi 1000-row"].rows_per_second,
        "1000-row rows/s vs in-process": r["project 1000-row uncached"].rows_per_second
        / local[1000],
        "fastapi 1000-row vs in-process": r["fastapi 1000-row"].rows_per_second / local[1000],
        "cached vs uncached (1-row)": r["project 1-row cached"].rps
        / r["project 1-row uncached"].rps,
        "cached vs uncached (1000-row)": r["project 1000-row cached"].rps
        / r["project 1000-row uncached"].rps,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="single-row requests a run")
    parser.add_argument("--batch-requests", type=int, default=300, help="1000-row requests a run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of every scenario, project and baseline alternating; the ratios are "
        "the median of the rounds' (the machine's speed drifts between runs)",
    )
    parser.add_argument(
        "--only", help="run only the scenarios whose names contain one of these (comma-separated)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the project's server (e.g. SERVING_PREDICTION_CACHE_TTL=0)",
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    artifact = scratch / "model.json"
    train_model(artifact)
    cluster = PostgresCluster(name="bench").up()
    redis = RedisServer().start()
    servers = []
    try:
        overrides = dict(item.split("=", 1) for item in args.set)
        (project, project_port, key), (baseline, baseline_port) = start_servers(
            scratch, artifact, cluster, redis, overrides
        )
        servers = [project, baseline]
        auth = {"Authorization": f"Api-Key {key}"}
        c = args.concurrency
        plan = [
            ("project GET /healthz (floor)", project_port, "/healthz", {}, 0, args.requests, False),
            (
                "project 1-row uncached",
                project_port,
                "/api/v1/models/bench/predict",
                auth,
                1,
                args.requests,
                False,
            ),
            ("fastapi 1-row", baseline_port, "/models/bench/predict", {}, 1, args.requests, False),
            (
                "project 1-row cached",
                project_port,
                "/api/v1/models/bench/predict",
                auth,
                1,
                args.requests,
                True,
            ),
            (
                "project 1000-row uncached",
                project_port,
                "/api/v1/models/bench/predict",
                auth,
                1000,
                args.batch_requests,
                False,
            ),
            (
                "fastapi 1000-row",
                baseline_port,
                "/models/bench/predict",
                {},
                1000,
                args.batch_requests,
                False,
            ),
            (
                "project 1000-row cached",
                project_port,
                "/api/v1/models/bench/predict",
                auth,
                1000,
                args.batch_requests,
                True,
            ),
        ]
        if args.only:
            wanted = args.only.split(",")
            plan = [p for p in plan if any(w in p[0] for w in wanted)]
        # The project's CPU includes its Redis and PostgreSQL: the baseline has neither.
        project_pids = [project.pid, redis.process.pid, cluster_pid(cluster)]
        rounds: list[dict[str, tuple[Result, list[float]]]] = []
        local_rounds: list[dict[int, float]] = []
        for number in range(1, args.rounds + 1):
            print(f"round {number} of {args.rounds}")
            print(HEADER)
            measured: dict[str, tuple[Result, list[float]]] = {}
            for index, (name, port, path, headers, rows, count, cached) in enumerate(plan):
                pids = project_pids if port == project_port else [baseline.pid]
                measured[name] = run_scenario(
                    port,
                    path,
                    headers,
                    rows=rows,
                    count=count,
                    concurrency=c,
                    # Each round sends bodies of its own: no round hits another's cache.
                    seed=number * 100 + index,
                    cached=cached,
                    pids=pids,
                )
                print(line(name, *measured[name]), flush=True)
            rounds.append(measured)
            if not args.only:
                # The servers idle meanwhile; measured every round, as it drifts too.
                local_rounds.append(in_process(artifact))
                for rows in (1, 1000):
                    print(in_process_line(rows, local_rounds[-1][rows]), flush=True)
    finally:
        for process in servers:
            process.terminate()
            process.wait(30)
        redis.destroy()
        cluster.destroy()
    shutil.rmtree(scratch, ignore_errors=True)
    if args.only:
        return 0
    results = {name: merged([r[name][0] for r in rounds]) for name in rounds[0]}
    cpu_ms = {
        name: [statistics.mean(parts) for parts in zip(*(r[name][1] for r in rounds), strict=True)]
        for name in rounds[0]
    }
    local = {rows: statistics.median(r[rows] for r in local_rounds) for rows in (1, 1000)}
    print()
    print(f"all {args.rounds} rounds: req/s over all requests, p50 and p99 of all of them")
    print(HEADER)
    for name, result in results.items():
        print(line(name, result, cpu_ms[name]))
    for rows in (1, 1000):
        print(in_process_line(rows, local[rows]) + "  (median)")
    each_round = [round_ratios(r, lr) for r, lr in zip(rounds, local_rounds, strict=True)]
    per_round = {name: [ratios[name] for ratios in each_round] for name in each_round[0]}
    ratios = {name: statistics.median(values) for name, values in per_round.items()}
    print()
    print("ratios: the median of the rounds' (each round's in brackets)")
    for name, value in ratios.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else (" ok" if value >= target else f" MISSED (>= {target})")
        each = " ".join(f"{v:.2f}" for v in per_round[name])
        print(f"{name:<34} {value:>6.2f}x{verdict}  [{each}]")
    for name, scenario, has_target in (
        ("p99 1-row uncached", "project 1-row uncached", True),
        ("fastapi p99 1-row", "fastapi 1-row", False),
    ):
        p99s = [r[scenario][0].p99 for r in rounds]
        p99 = statistics.median(p99s)
        verdict = (" ok" if p99 <= 25 else " MISSED (<= 25 ms)") if has_target else ""
        each = " ".join(f"{v:.1f}" for v in p99s)
        print(f"{name + ', ' + str(c) + ' clients':<34} {p99:>6.2f} ms{verdict}  [{each}]")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    record = {
        "scenarios": {
            name: {
                "rps": r.rps,
                "rows_per_s": r.rows_per_second,
                "p50_ms": r.p50,
                "p99_ms": r.p99,
                "errors": r.errors,
                "statuses": r.statuses,
            }
            for name, r in results.items()
        },
        "in_process_rows_per_s": local,
        "ratios": ratios,
        "ratios_per_round": per_round,
        "rounds": args.rounds,
        "concurrency": c,
    }
    (out / "serving.json").write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
