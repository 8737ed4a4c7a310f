"""Benchmark: the compiled tree predictor against the booster, in-process and through the API.

The race's model (bench.common.train_model: XGBoost, 120 trees, depth 5, 8 features):

  in-process  the project's own predictors, one thread, no HTTP: XGBoost
              ``inplace_predict`` (models_registry.artifacts.loaders) and the compiled library
              (models_registry.artifacts.native), alternating in --rounds rounds; per call, p50
              and p99 of a single row, and rows/s of 1,000-row batches
  API         one throwaway PostgreSQL and Redis, the model registered and compiled by
              the operator's commands (register_model, compile_model), and two gunicorn
              servers (2 sync workers each, the production settings) that differ only
              in SERVING_COMPILED: 1 serves the compiled library, 0 the booster. Both
              answer POST /api/v1/models/bench/predict and the V2 infer, driven by `wrk`
              as in the race (fresh random rows every request, connections closed), at
              one client (latency) and at 16 (throughput), servers alternating. And the
              server's own predict stage (the answer's Server-Timing) over sequential
              requests.

Printed with the machine's load average before and after: the machine is shared.

Run: .venv/bin/python -m bench.compiled [--seconds 8] [--rounds 3] [--calls 3000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.common import FEATURES, load_average, train_model
from bench.serving.__main__ import project_env, start_project
from bench.serving.race import BODIES, Target, check_answers, run_wrk
from tests.harness.services import PostgresCluster, RedisServer
from tests.support import manage

MODES = ("booster", "compiled")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def in_process_round(predictors: dict, *, calls: int, seed: int) -> dict[str, dict[str, float]]:
    """Per mode: single-row p50 and p99 (µs), and 1,000-row batches' rows/s."""
    rng = np.random.default_rng(seed)
    singles = rng.normal(size=(calls, len(FEATURES)))
    batch = rng.normal(size=(1000, len(FEATURES)))
    out = {}
    for mode, predictor in predictors.items():
        predictor.predict(singles[:1])  # warm
        times = []
        for row in singles:
            one = row.reshape(1, -1)
            started = time.perf_counter()
            predictor.predict(one)
            times.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        loops = 50
        for _ in range(loops):
            predictor.predict(batch)
        rows_per_second = 1000 * loops / (time.perf_counter() - started)
        out[mode] = {
            "p50_us": percentile(times, 50),
            "p99_us": percentile(times, 99),
            "rows_per_s": rows_per_second,
        }
    return out


def build_predictors(artifact: Path) -> tuple[dict, float, float]:
    """The booster, the compiled library, the compile's seconds and its max difference."""
    from models_registry.artifacts import loaders, native

    booster = loaders.load("xgboost", artifact.read_bytes(), threads=1)
    library = native.compile_library("xgboost", booster)
    compiled = native.CompiledPredictor(
        library.data, framework="xgboost", n_features=len(FEATURES), threads=1
    )
    return {"booster": booster, "compiled": compiled}, library.compile_seconds, library.max_error


def prepare_project(scratch: Path, artifact: Path, cluster, redis) -> tuple[dict, str]:
    """Migrate, register and compile with the operator's commands; the env and API key."""
    env = project_env(scratch, cluster, redis, {})
    for command in (
        ["migrate", "backoffice", "--noinput", "-v", "0"],
        ["migrate", "models_registry", "--noinput", "-v", "0"],
        ["register_model", str(artifact), "--name", "bench", "--alias", "production"],
        ["compile_model", "bench", "production"],
    ):
        result = manage(*command, env=env, timeout=600)
        if result.returncode:
            raise SystemExit(result.stderr)
        if command[0] == "compile_model":
            print("  " + result.stdout.strip().splitlines()[-2])
    created = manage("create_api_key", "bench", "--scopes", "predict", env=env)
    return env, created.stdout.strip().splitlines()[-1]


def start_gunicorn(env: dict, scratch: Path, mode: str) -> tuple[subprocess.Popen, int]:
    var = scratch / mode
    var.mkdir()
    overrides = {
        "BACKOFFICE_VAR_DIR": str(var),
        "SERVING_COMPILED": "1" if mode == "compiled" else "0",
    }
    return start_project(env, scratch, overrides, log=var / "gunicorn.log")


def server_timing_predict(port: int, key: str, *, requests: int, seed: int) -> float:
    """Median of the answer's ``predict;dur`` (ms) over sequential single-row requests."""
    rng = np.random.default_rng(seed)
    durations = []
    for _ in range(requests):
        row = rng.normal(size=len(FEATURES)).round(6).tolist()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/models/bench/predict",
            data=json.dumps({"inputs": [row]}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Api-Key {key}",
                "Connection": "close",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            timing = response.headers["Server-Timing"]
        durations.append(float(re.search(r"predict;dur=([\d.]+)", timing).group(1)))
    return statistics.median(durations)


def loaded_predictor(log: Path) -> str:
    """Which predictor the server's workers loaded, from their 'model loaded' lines."""
    kinds = set()
    for line in log.read_text().splitlines():
        if '"model loaded"' in line:
            kinds.add(json.loads(line).get("predictor", "?"))
    return ", ".join(sorted(kinds)) or "none yet"


def print_loaded(scratch: Path) -> None:
    for mode in MODES:
        loaded = loaded_predictor(scratch / mode / "gunicorn.log")
        print(f"  the {mode} server's workers loaded: {loaded}")


def check_difference(predictors: dict, compile_seconds: float, max_error: float) -> None:
    rows = np.random.default_rng(3).normal(size=(2000, len(FEATURES)))
    rows[np.random.default_rng(4).random(rows.shape) < 0.1] = np.nan
    ours = np.array(predictors["compiled"].predict(rows))
    theirs = np.array(predictors["booster"].predict(rows))
    print(
        f"compiled in {compile_seconds:.1f} s; largest difference from the booster: "
        f"{max_error:.2g} on the compile's probe rows, {np.abs(ours - theirs).max():.2g} on "
        "2,000 random rows with NaN"
    )


def run_round(number: int, args, predictors, targets, servers, key, scratch, results) -> None:
    """One round: in-process, then every API target at 1 and 16 clients, modes alternating,
    then the server's predict stage."""
    local, api, timing = results
    print(f"\nround {number} of {args.rounds} (load average {load_average()})")
    local.append(in_process_round(predictors, calls=args.calls, seed=number))
    for mode in MODES:
        f = local[-1][mode]
        print(
            f"  in-process {mode:<9} 1 row p50 {f['p50_us']:7.1f} µs  p99 {f['p99_us']:7.1f} µs"
            f"  1,000 rows {f['rows_per_s']:>10,.0f} rows/s"
        )
    for clients in (1, 16):
        for index in range(2):
            for mode in MODES:
                target = targets[mode][index]
                seed = number * 1000 + clients * 10 + index * 2 + MODES.index(mode)
                f = run_wrk(
                    target, clients=clients, seconds=args.seconds, seed=seed, scratch=scratch
                )
                api.setdefault((target.name, clients), []).append(f)
                print(
                    f"  {target.name:<18} clients {clients:>2}  {f.rps:>6.0f} req/s  "
                    f"p50 {f.p50_ms:6.2f} ms  p99 {f.p99_ms:6.2f} ms  errors {f.errors}",
                    flush=True,
                )
    for mode in MODES:
        seed = number * 7 + MODES.index(mode)
        port = servers[mode][1]
        timing[mode].append(
            server_timing_predict(port, key, requests=args.timing_requests, seed=seed)
        )
        print(f"  {mode:<9} predict stage (Server-Timing, median) {timing[mode][-1]:.3f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="per target and concurrency")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3000, help="in-process calls a round")
    parser.add_argument("--timing-requests", type=int, default=300)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    print(f"load average at the start: {load_average()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-compiled-"))
    artifact = scratch / "model.json"
    train_model(artifact)
    predictors, compile_seconds, max_error = build_predictors(artifact)
    check_difference(predictors, compile_seconds, max_error)
    cluster = PostgresCluster(name="compiled").up()
    redis = RedisServer().start()
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    results = ([], {}, {mode: [] for mode in MODES})
    try:
        env, key = prepare_project(scratch, artifact, cluster, redis)
        for mode in MODES:
            servers[mode] = start_gunicorn(env, scratch, mode)
        time.sleep(1.0)
        auth = {"Authorization": f"Api-Key {key}"}
        predict, infer = "/api/v1/models/bench/predict", "/v2/models/bench/infer"
        targets = {
            mode: [
                Target(f"{mode} /api/v1", port, predict, BODIES["predict"], auth),
                Target(f"{mode} /v2", port, infer, BODIES["v2"], auth),
            ]
            for mode, (_, port) in servers.items()
        }
        print("one request each:")
        check_answers([t for mode in MODES for t in targets[mode]])
        print_loaded(scratch)
        for number in range(1, args.rounds + 1):
            run_round(number, args, predictors, targets, servers, key, scratch, results)
        print_loaded(scratch)
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
    report(*results, args.rounds)
    print(f"load average at the end: {load_average()}")
    return 0


def report(local: list[dict], api: dict, timing: dict, rounds: int) -> None:
    """Medians of the rounds; the ratio is how many times better the compiled one is."""
    med = statistics.median
    print(f"\nmedians of {rounds} rounds")
    print(f"{'':<30} {'booster':>10} {'compiled':>10} {'better':>7}")
    for field, label in (
        ("p50_us", "in-process 1 row p50 (µs)"),
        ("p99_us", "in-process 1 row p99 (µs)"),
        ("rows_per_s", "in-process 1,000 rows (rows/s)"),
    ):
        b = med([r["booster"][field] for r in local])
        c = med([r["compiled"][field] for r in local])
        better = c / b if field == "rows_per_s" else b / c
        print(f"{label:<30} {b:>10.1f} {c:>10.1f} {better:>6.2f}x")
    b, c = med(timing["booster"]), med(timing["compiled"])
    print(f"{'API predict stage (ms)':<30} {b:>10.3f} {c:>10.3f} {b / c:>6.2f}x")
    for route in ("/api/v1", "/v2"):
        for clients, field, label in (
            (1, "p50_ms", "p50 ms, 1 client"),
            (1, "p99_ms", "p99 ms, 1 client"),
            (1, "rps", "req/s, 1 client"),
            (16, "rps", "req/s, 16 clients"),
        ):
            b = med([getattr(f, field) for f in api[(f"booster {route}", clients)]])
            c = med([getattr(f, field) for f in api[(f"compiled {route}", clients)]])
            better = c / b if field == "rps" else b / c
            print(f"{route + ' ' + label:<30} {b:>10.2f} {c:>10.2f} {better:>6.2f}x")


if __name__ == "__main__":
    sys.exit(main())
