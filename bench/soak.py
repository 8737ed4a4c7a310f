"""Soak benchmark: mixed traffic for minutes; errors, latency and worker memory over time.

The stack and the scenarios of bench.load (gunicorn with 2 sync workers, PostgreSQL,
Redis, one model), mixed by weight, with --concurrency requests in flight (2 by default:
one per worker, a moderate load). After a warm-up, each minute prints its requests,
errors, p50 and p99 and each worker's resident memory (VmRSS from /proc); the end prints
the total error count, each worker's memory at the start and the end with the growth,
and checks that every captured trade (201) is stored once.

Targets: no error; worker memory grows less than 10 % (PASS/MISS).

Run: .venv/bin/python -m bench.soak [--minutes 10] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from bench.common import ServedStack, load_average, rss_kb, verdict
from bench.load import scenarios
from bench.serving.client import Sample, run_for, summarize

# Mostly what bots do (predict, record trades), some reading, a little admin work.
WEIGHTS = {
    "predict 1-row": 40,
    "trade capture": 30,
    "trade listing": 12,
    "admin changelist": 10,
    "predict 1000-row": 8,
}
GROWTH_LIMIT = 10.0  # per cent


def mixed(plan, seed: int = 2):
    chooser = random.Random(seed)  # noqa: S311 - a traffic mix, not a secret
    by_name = {scenario.name: scenario for scenario in plan}
    names = list(WEIGHTS)
    weights = [WEIGHTS[name] for name in names]

    def request():
        name = chooser.choices(names, weights)[0]
        return name, by_name[name].request()

    return request


def megabytes(kb: int) -> str:
    return f"{kb / 1024:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2, help="requests in flight")
    parser.add_argument("--warmup-seconds", type=float, default=60)
    parser.add_argument("--trades", type=int, default=100_000, help="trades seeded by COPY")
    args = parser.parse_args(argv)
    tag = f"SK{int(time.time())}"
    with ServedStack(name="soak", trades=args.trades) as stack:
        print(stack.machine_line())
        mix = " ".join(f"{name} {weight}%" for name, weight in WEIGHTS.items())
        print(f"mix: {mix}; {args.concurrency} requests in flight, Connection: close")
        # Every scenario answers 200 or 201 only when it succeeds (capture 201, the rest 200).
        request = mixed(scenarios(stack, tag=tag))
        warm, _ = run_for(
            stack.port, request, concurrency=args.concurrency, seconds=args.warmup_seconds
        )
        workers = stack.worker_pids()
        start = {pid: rss_kb(pid) for pid in workers}
        print(
            f"warm-up {args.warmup_seconds:g} s: {len(warm)} requests; workers "
            + ", ".join(f"{pid} {megabytes(kb)} MB" for pid, kb in start.items())
        )
        print(
            f"\n{'minute':>6} {'requests':>8} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'errors':>6}  worker RSS MB"
        )
        every: list[Sample] = []
        for minute in range(1, args.minutes + 1):
            samples, seconds = run_for(
                stack.port, request, concurrency=args.concurrency, seconds=60
            )
            every += samples
            r = summarize(samples, seconds)
            wrong = {s: n for s, n in sorted(r.statuses.items()) if s not in (200, 201)}
            print(
                f"{minute:>6} {len(samples):>8} {len(samples) / seconds:>6.0f} {r.p50:>7.1f} "
                f"{r.p99:>7.1f} {r.errors:>6}  "
                + " ".join(megabytes(rss_kb(pid)) for pid in workers)
                + (f"  statuses {wrong}" if wrong else ""),
                flush=True,
            )
        end = {pid: rss_kb(pid) for pid in workers}
        now = stack.worker_pids()
        captured = sum(1 for s in warm + every if s.kind == "trade capture" and s.status == 201)
        stored = int(
            stack.db.sql(f"SELECT count(*) FROM journal_trade WHERE trade_id LIKE '{tag}-%'")  # noqa: S608
        )
        end_load = load_average()

    total = summarize(every, args.minutes * 60)
    print(
        f"\ntotal: {len(every)} requests in {args.minutes} min, {total.errors} errors, "
        f"p50 {total.p50:.1f} ms, p99 {total.p99:.1f} ms"
    )
    for name in WEIGHTS:
        r = summarize([s for s in every if s.kind == name], args.minutes * 60)
        print(
            f"  {name:<18} {r.requests + r.errors:>7} requests  p50 {r.p50:>6.1f}  "
            f"p99 {r.p99:>6.1f}  errors {r.errors}"
        )
    print(f"captured trades answered 201: {captured}, stored: {stored}")
    print("\nworker memory (VmRSS), after warm-up -> end:")
    growths = []
    for pid in workers:
        growth = (end[pid] - start[pid]) * 100 / start[pid] if end[pid] else float("inf")
        growths.append(growth)
        print(
            f"  worker {pid}: {start[pid] / 1024:.1f} MB -> {end[pid] / 1024:.1f} MB "
            f"({growth:+.1f} %)"
        )
    restarted = sorted(set(now) ^ set(workers))
    if restarted:
        print(f"  workers changed during the soak (a restart): {restarted}")
    print(f"\nerrors: {total.errors} (target 0): {verdict(total.errors == 0)}")
    print(f"captured once each: {verdict(captured == stored)}")
    print(
        f"worker memory growth: max {max(growths):+.1f} % (target < {GROWTH_LIMIT:g} %): "
        f"{verdict(max(growths) < GROWTH_LIMIT and not restarted)}"
    )
    print(f"load average at the end {end_load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
