"""The race: the prediction API against the serving tools a user would pick instead.

One XGBoost model (bench.common.train_model: 120 trees, depth 5, 8 features), single-row
requests with fresh random values every request (so no cache answers), 2 workers each,
connections closed on both sides, driven by `wrk` (C, one thread: the client must not eat
the two cores the servers share):

  project /api/v1   gunicorn, 2 sync workers, the production settings (API key,
                    throttle, Redis prediction cache, JSON logs, prediction records),
                    the model compiled (compile_model; --booster: not): POST .../predict
  project /v2       the same server: the Open Inference Protocol's infer
  project mlflow    the same server: MLflow's dataframe_split on .../invocations
  project bare      a second gunicorn doing only the baseline's work (BASELINES_WORK:
                    the key check, no log lines, records, cache or throttle)
  fastapi           bench/serving/fastapi_app.py under uvicorn, 2 workers, no auth
  mlflow            `mlflow models serve --env-manager local -w 2` (MLflow 3.17.2)
  mlserver          MLServer 1.7.1 with mlserver-xgboost, 2 parallel workers, V2 infer

MLflow and MLServer are installed by this benchmark, each in a throwaway virtualenv
under var/bench-venvs/ (kept for the next run), never in the project's requirements
(mlflow 3.18 does not install here; MLServer needs uvloop<0.21).

Each target runs at 16 clients (throughput) and at one (latency), in --rounds rounds,
targets alternating. Printed: req/s, p50 and p99 per target and round, then the medians
and the issue's targets: single-row throughput >= 2x MLflow's, >= 5x MLServer's,
>= 1.0x the bare FastAPI baseline, and median latency at one client <= 1.0 ms.

Run: .venv/bin/python -m bench.serving.race [--seconds 10] [--rounds 2] [--only ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import FEATURES, train_model
from bench.serving.__main__ import project_env, start_project, start_servers, wait_ready
from tests.harness.services import PostgresCluster, RedisServer, free_port
from tests.support import REPO

VENVS = REPO / "var" / "bench-venvs"
PEERS = {
    "mlflow": ["mlflow==3.17.2", "xgboost-cpu==3.2.0"],
    "mlserver": [
        "mlserver==1.7.1",
        "mlserver-xgboost==1.7.1",
        "uvloop<0.21",
        "xgboost-cpu==3.2.0",
    ],
}
# "project bare": the same server doing only what the FastAPI baseline does (the key
# check stays): no JSON log lines, no prediction records, no prediction cache and no
# throttle (the two that cost the Redis round trip). What each of those costs is the gap
# between "project /api/v1" and this row.
BASELINES_WORK = {
    "LOG_LEVEL": "WARNING",
    "SERVING_RECORD_SAMPLE_RATE": "0",
    "SERVING_PREDICTION_CACHE_TTL": "0",
    "SERVING_PREDICT_RATE": "off",
}
ROW = "%ROW%"  # where the Lua script puts a row's eight values
BODIES = {
    "predict": '{"inputs":[[' + ROW + "]]}",
    "v2": '{"inputs":[{"name":"input__0","datatype":"FP32","shape":[1,8],"data":[' + ROW + "]}]}",
    "mlflow": '{"dataframe_split":{"columns":'
    + json.dumps(FEATURES, separators=(",", ":"))
    + ',"data":[['
    + ROW
    + "]]}}",
}
LUA = """
math.randomseed(%SEED%)
local headers = {%HEADERS%}
local template = %TEMPLATE%
request = function()
  local v = {}
  for i = 1, 8 do v[i] = string.format("%.6f", math.random() * 4 - 2) end
  local body = template:gsub("%%ROW%%", table.concat(v, ","))
  return wrk.format("POST", "%PATH%", headers, body)
end
"""


@dataclass
class Target:
    name: str
    port: int
    path: str
    body: str
    headers: dict[str, str]


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def ensure_venv(name: str) -> Path:
    """A virtualenv with the peer installed (once; reused by later runs)."""
    venv = VENVS / name
    stamp = venv / ".installed"
    if stamp.exists():
        return venv
    print(f"installing {name} into {venv} (once) ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *PEERS[name]],
        check=True,
    )
    stamp.touch()
    return venv


def start_mlflow(scratch: Path, artifact: Path) -> tuple[subprocess.Popen, int]:
    venv = ensure_venv("mlflow")
    model_dir = scratch / "mlflow-model"
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sys, xgboost, mlflow.xgboost\n"
            "booster = xgboost.Booster(); booster.load_model(sys.argv[1])\n"
            "mlflow.xgboost.save_model(booster, sys.argv[2])",
            str(artifact),
            str(model_dir),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = scratch / "mlflow.log"
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}  # its uvicorn
    process = subprocess.Popen(
        [
            str(venv / "bin" / "mlflow"),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "--env-manager",
            "local",
            "-w",
            "2",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(port, process, log, timeout=120)
    return process, port


def start_mlserver(scratch: Path, artifact: Path) -> tuple[subprocess.Popen, int]:
    venv = ensure_venv("mlserver")
    root = scratch / "mlserver"
    (root / "bench").mkdir(parents=True)
    shutil.copy(artifact, root / "bench" / "model.json")
    port = free_port()
    (root / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",  # it binds 0.0.0.0 otherwise
                "http_port": port,
                "grpc_port": free_port(),
                "metrics_port": free_port(),
                "parallel_workers": 2,
                # Its Prometheus files; by default ./.metrics of the working directory.
                "metrics_dir": str(root / "metrics"),
            }
        )
    )
    (root / "bench" / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "implementation": "mlserver_xgboost.XGBoostModel",
                "parameters": {"uri": "./model.json"},
            }
        )
    )
    log = scratch / "mlserver.log"
    process = subprocess.Popen(
        [str(venv / "bin" / "mlserver"), "start", str(root)],
        cwd=root,
        env={**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_ready(port, process, log, timeout=180)
    wait_http_ok(f"http://127.0.0.1:{port}/v2/models/bench/ready", process, log)
    return process, port


def wait_http_ok(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """MLServer listens before its workers have loaded the model: wait for ready."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} never answered 200:\n{log.read_text()[-2000:]}")


def lua_script(target: Target, seed: int) -> str:
    headers = {"Content-Type": "application/json", "Connection": "close", **target.headers}
    return (
        LUA.replace("%SEED%", str(seed))
        .replace("%HEADERS%", ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()))
        .replace("%TEMPLATE%", json.dumps(target.body))
        .replace("%PATH%", target.path)
    )


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(target: Target, *, clients: int, seconds: int, seed: int, scratch: Path) -> Figures:
    script = scratch / f"{target.name.replace(' ', '-').replace('/', '')}-{seed}.lua"
    script.write_text(lua_script(target, seed))
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
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * _UNITS[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    errors += sum(map(int, socket.groups())) if socket else 0
    return Figures(rps=rps, p50_ms=percentile("50"), p99_ms=percentile("99"), errors=errors)


def check_answers(targets: list[Target]) -> None:
    """One request each before the race: a 200 with a prediction, or stop here."""
    import urllib.error
    import urllib.request

    for target in targets:
        body = target.body.replace(ROW, ",".join(["0.5"] * 8)).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{target.port}{target.path}",
            data=body,
            headers={"Content-Type": "application/json", **target.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                status, answer = response.status, response.read()[:200]
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()[:300]
        print(f"  {target.name:<16} {status} {answer.decode(errors='replace')}")
        if status != 200:
            raise SystemExit(f"{target.name} does not answer 200: stopping before the race")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per target and concurrency")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", help="targets whose names contain one of these (comma-separated)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--booster",
        action="store_true",
        help="serve the project's model with its booster, not compiled (compile_model)",
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    scratch = Path(tempfile.mkdtemp(prefix="bench-race-"))
    artifact = scratch / "model.json"
    train_model(artifact)
    cluster = PostgresCluster(name="race").up()
    redis = RedisServer().start()
    processes: list[subprocess.Popen] = []
    wanted = args.only.split(",") if args.only else None
    try:
        overrides = dict(item.split("=", 1) for item in args.set)
        env = project_env(scratch, cluster, redis, overrides)
        (project, project_port, key), (baseline, baseline_port) = start_servers(
            scratch, artifact, cluster, redis, overrides, compiled=not args.booster, env=env
        )
        processes += [project, baseline]
        auth = {"Authorization": f"Api-Key {key}"}
        bare, bare_port = start_project(env, scratch, BASELINES_WORK)
        processes.append(bare)
        targets = [
            Target(
                "project /api/v1",
                project_port,
                "/api/v1/models/bench/predict",
                BODIES["predict"],
                auth,
            ),
            Target("project /v2", project_port, "/v2/models/bench/infer", BODIES["v2"], auth),
            Target(
                "project mlflow",
                project_port,
                "/api/v1/models/bench/invocations",
                BODIES["mlflow"],
                auth,
            ),
            Target(
                "project bare",
                bare_port,
                "/api/v1/models/bench/predict",
                BODIES["predict"],
                auth,
            ),
            Target("fastapi", baseline_port, "/models/bench/predict", BODIES["predict"], {}),
        ]
        if not wanted or any(w in "mlflow" for w in wanted):
            mlflow, port = start_mlflow(scratch, artifact)
            processes.append(mlflow)
            targets.append(Target("mlflow", port, "/invocations", BODIES["mlflow"], {}))
        if not wanted or any(w in "mlserver" for w in wanted):
            mlserver, port = start_mlserver(scratch, artifact)
            processes.append(mlserver)
            targets.append(Target("mlserver", port, "/v2/models/bench/infer", BODIES["v2"], {}))
        if wanted:
            targets = [t for t in targets if any(w in t.name for w in wanted)]
        print("one request each:")
        check_answers(targets)
        results: dict[tuple[str, int], list[Figures]] = {}
        for number in range(1, args.rounds + 1):
            print(f"\nround {number} of {args.rounds}")
            print(
                f"{'target':<18} {'clients':>7} {'req/s':>8} {'p50 ms':>8} "
                f"{'p99 ms':>8} {'errors':>6}"
            )
            for clients in (16, 1):
                for index, target in enumerate(targets):
                    figures = run_wrk(
                        target,
                        clients=clients,
                        seconds=args.seconds,
                        seed=number * 1000 + clients * 10 + index,
                        scratch=scratch,
                    )
                    results.setdefault((target.name, clients), []).append(figures)
                    print(
                        f"{target.name:<18} {clients:>7} {figures.rps:>8.0f} "
                        f"{figures.p50_ms:>8.2f} {figures.p99_ms:>8.2f} {figures.errors:>6}",
                        flush=True,
                    )
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
    report(results, [t.name for t in targets], args.rounds)
    return 0


def report(results, names: list[str], rounds: int) -> None:
    def med(name, clients, field):
        return statistics.median(getattr(f, field) for f in results[(name, clients)])

    print(f"\nmedians of {rounds} rounds")
    print(
        f"{'target':<18} {'req/s @16':>10} {'p50 @16':>8} {'p99 @16':>8} "
        f"{'req/s @1':>9} {'p50 @1':>7}"
    )
    for name in names:
        print(
            f"{name:<18} {med(name, 16, 'rps'):>10.0f} {med(name, 16, 'p50_ms'):>8.2f} "
            f"{med(name, 16, 'p99_ms'):>8.2f} {med(name, 1, 'rps'):>9.0f} "
            f"{med(name, 1, 'p50_ms'):>7.2f}"
        )
    project = "project /api/v1"
    if (project, 16) not in results:
        return
    ours = med(project, 16, "rps")
    print("\ntargets (single-row, 16 clients; latency at one client)")
    for peer, target in (("mlflow", 2.0), ("mlserver", 5.0), ("fastapi", 1.0)):
        if (peer, 16) in results:
            ratio = ours / med(peer, 16, "rps")
            verdict = "ok" if ratio >= target else f"MISSED (>= {target})"
            print(f"{project} vs {peer:<10} {ratio:>6.2f}x  {verdict}")
            for variant in ("project /v2", "project mlflow"):
                if (variant, 16) in results:
                    print(
                        f"  {variant} vs {peer:<10} "
                        f"{med(variant, 16, 'rps') / med(peer, 16, 'rps'):>6.2f}x"
                    )
    if ("project bare", 16) in results and ("fastapi", 16) in results:
        print(
            "like for like: project bare vs fastapi "
            f"{med('project bare', 16, 'rps') / med('fastapi', 16, 'rps'):.2f}x; "
            "what the logs, records, cache and throttle cost: project /api/v1 vs project bare "
            f"{ours / med('project bare', 16, 'rps'):.2f}x"
        )
    p50 = med(project, 1, "p50_ms")
    print(
        f"{project} p50 at one client {p50:.2f} ms  {'ok' if p50 <= 1.0 else 'MISSED (<= 1.0 ms)'}"
    )


if __name__ == "__main__":
    sys.exit(main())
