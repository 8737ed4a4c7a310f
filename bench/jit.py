"""Benchmark: what PostgreSQL's JIT does to the application's analytic queries.

Issue 17: on a native TimescaleDB, an aggregate over 200,000 closed trades in 85 daily
chunks ran 8.8 s, 8.5 s of it compiling 598 functions; 0.22 s without JIT. This bench
measures, on plain PostgreSQL and on a native TimescaleDB when one is installed
(TEST_PG_BINDIR or --timescale-bindir), the queries the dashboard, the report and the
risk gate run, with the server's JIT on (its default thresholds), on with the
thresholds raised tenfold, and off; with each plan's estimated cost and how many
functions JIT compiled. It is the measurement behind DB_JIT (off by default) in
backoffice/settings.py and `jit=off` in docker-compose.yml.

Run: .venv/bin/python -m bench.jit [--rows 200000] [--days 85] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from bench import admin_pages as admin_bench
from bench.common import trades_by_day
from bench.idea_submit import PLAIN_BINDIR, Cluster, timescale_bindir

REPO = Path(__file__).resolve().parents[1]
MODES = {
    "jit on": ["SET jit = on"],
    "on, thresholds x10": [
        "SET jit = on",
        "SET jit_above_cost = 1000000",
        "SET jit_inline_above_cost = 5000000",
        "SET jit_optimize_above_cost = 5000000",
    ],
    "jit off": ["SET jit = off"],
}


def child(repeat: int) -> dict:
    import time

    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from journal.analytics import metrics
    from journal.models import Trade

    today = timezone.now().date()
    queries = {
        "by_day (all closed trades)": trades_by_day,
        "report (all time)": lambda: metrics.report(),
        "daily_pnl (90 days)": lambda: metrics.daily_pnl(since=today - timedelta(days=90)),
        "trade list page": lambda: list(Trade.objects.order_by("-executed_at")[:100]),
    }
    sql_of = {}
    for name, run in queries.items():
        with CaptureQueriesContext(connection) as captured:
            run()
        sql_of[name] = max((q["sql"] for q in captured.captured_queries), key=len)
    results: dict = {}
    for mode, statements in MODES.items():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        for name, run in queries.items():
            run()  # warm: the first run reads the chunks
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                run()
                timings.append((time.perf_counter() - started) * 1000)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql_of[name]}")
                plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
            results.setdefault(name, {})[mode] = {
                "ms": statistics.median(timings),
                "cost": plan["Plan"]["Total Cost"],
                "functions": plan.get("JIT", {}).get("Functions", 0),
            }
    return results


def run_database(label: str, cluster: Cluster, rows: int, args) -> None:
    admin_bench.DAYS = args.days  # the trades' span: one chunk a day on TimescaleDB
    cluster.create(rows)
    seconds = admin_bench.load(cluster, rows)["total"]
    settled = cluster.settle(rows)
    print(f"\n{label}: {rows:,} trades over {args.days} days loaded in {seconds:.0f} s ({settled})")
    result = subprocess.run(
        [sys.executable, "-m", "bench.jit", "--child", "--repeat", str(args.repeat)],
        env={**cluster.env(rows), "DB_JIT": "1"},  # the server's default; the child SETs
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench child failed:\n{result.stderr[-3000:]}")
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{'query':<28}{'plan cost':>12}" + "".join(f"{mode:>22}" for mode in MODES))
    for name, modes in answer.items():
        cost = modes["jit off"]["cost"]
        texts = [f"{m['ms']:.0f} ms ({m['functions']} fn)" for m in modes.values()]
        cells = "".join(f"{text:>22}" for text in texts)
        print(f"{name:<28}{cost:>12,.0f}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=85)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timescale-bindir")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat)))
        return
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, load {load}")
    print("median of --repeat runs; (n fn) = functions JIT compiled for the query")
    databases = [("plain PostgreSQL", PLAIN_BINDIR, False)]
    native = timescale_bindir(args.timescale_bindir)
    if native is not None:
        databases.append(("native TimescaleDB", native, True))
    for label, bindir, timescale in databases:
        cluster = Cluster(bindir, timescale)
        try:
            run_database(label, cluster, args.rows, args)
        finally:
            cluster.destroy()


if __name__ == "__main__":
    main()
