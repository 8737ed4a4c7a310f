"""Load benchmark: each API and admin scenario at rising concurrency, up to its knee.

Starts the project as in production (bench.common.ServedStack: gunicorn with 2 sync
workers, a throwaway PostgreSQL cluster seeded with trades, Redis, one XGBoost model, an
API key and a staff session) and loads it with the asyncio client of bench.serving
(Connection: close on every request). Scenarios:

  predict 1-row     POST /api/v1/models/bench/predict, one row, never seen before
  predict 1000-row  the same with 1,000 rows
  trade capture     POST /api/v1/trades, one new trade (a unique trade id: a real insert)
  trade listing     GET /api/v1/trades?limit=100, the first 20 pages of the cursor chain
  admin changelist  GET /admin/journal/trade/ with a staff session

Each scenario runs for --seconds at 1, 2, 4, 8 ... requests in flight until a level has
errors or a p99 above --p99-ms. The knee is the last level with no error and p99 within
the limit; the target is no error at or below the knee (PASS/MISS).

Run: .venv/bin/python -m bench.load [--seconds 8] [--trades 100000] [--only capture,admin]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.common import FEATURES, SYMBOLS, ServedStack, load_average, verdict
from bench.serving.client import Result, build_get, build_request, run_for, summarize

PREDICT = "/api/v1/models/bench/predict"
TRADES = "/api/v1/trades"
ADMIN_TRADES = "/admin/journal/trade/"
LEVELS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass
class Scenario:
    name: str
    request: Callable[[], bytes]  # the bytes of one more request
    ok: tuple[int, ...] = (200,)


def scenarios(stack: ServedStack, *, tag: str, seed: int = 1) -> list[Scenario]:
    """The five scenarios against ``stack``; ``tag`` keeps captured trade ids unique."""
    port = stack.port
    auth = {"Authorization": f"Api-Key {stack.key}"}
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)  # noqa: S311 - load data, not a secret
    numbers = itertools.count()
    start = datetime.now(UTC) - timedelta(days=3)
    symbols = list(SYMBOLS.items())

    def predict(rows: int) -> Callable[[], bytes]:
        def request() -> bytes:
            body = {"inputs": rng.normal(size=(rows, len(FEATURES))).round(6).tolist()}
            return build_request(port, PREDICT, body, auth)

        return request

    def capture() -> bytes:
        n = next(numbers)
        symbol, price = symbols[n % len(symbols)]
        trade = {
            "trade_id": f"{tag}-{n:09d}",
            "executed_at": (start + timedelta(milliseconds=n * 37)).isoformat(),
            "symbol": symbol,
            "side": "long" if n % 3 else "short",
            "quantity": "2",
            "entry_price": f"{price * (1 + pick.uniform(-0.01, 0.01)):.4f}",
            "strategy": "momentum",
            "account": "ACC-001",
        }
        return build_request(port, TRADES, trade, auth)

    pages = itertools.cycle(
        [build_get(port, path, auth) for path in cursor_pages(port, auth, pages=20)]
    )
    admin = build_get(port, ADMIN_TRADES, {"Cookie": f"sessionid={stack.session}"})
    return [
        Scenario("predict 1-row", predict(1)),
        Scenario("predict 1000-row", predict(1000)),
        Scenario("trade capture", capture, ok=(201,)),
        Scenario("trade listing", lambda: next(pages)),
        Scenario("admin changelist", lambda: admin),
    ]


def cursor_pages(port: int, headers: dict[str, str], *, pages: int) -> list[str]:
    """The paths of the first ``pages`` pages of GET /api/v1/trades?limit=100."""
    paths, path = [], f"{TRADES}?limit=100"
    while path and len(paths) < pages:
        paths.append(path)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={**headers, "Connection": "close"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            following = json.load(response)["next"]
        if following:
            parts = urllib.parse.urlsplit(following)
            path = f"{parts.path}?{parts.query}"
        else:
            path = None
    return paths


def labelled(scenario: Scenario) -> Callable[[], tuple[str, bytes]]:
    return lambda: (scenario.name, scenario.request())


def warm_up(stack: ServedStack, plan: list[Scenario], seconds: float = 2.0) -> None:
    """Each worker's first requests (imports, connections, the model): not measured."""
    for scenario in plan:
        run_for(stack.port, labelled(scenario), concurrency=2, seconds=seconds)


@dataclass
class Level:
    concurrency: int
    result: Result

    def within(self, p99_limit: float) -> bool:
        return self.result.errors == 0 and self.result.p99 <= p99_limit


def ramp(stack: ServedStack, scenario: Scenario, args) -> list[Level]:
    levels: list[Level] = []
    print(f"\n{scenario.name}")
    print(f"{'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for concurrency in LEVELS:
        if concurrency > args.max_clients:
            break
        samples, seconds = run_for(
            stack.port, labelled(scenario), concurrency=concurrency, seconds=args.seconds
        )
        result = summarize(samples, seconds, ok=scenario.ok)
        levels.append(Level(concurrency, result))
        wrong = {s: n for s, n in sorted(result.statuses.items()) if s not in scenario.ok}
        print(
            f"{concurrency:>7} {result.requests + result.errors:>8} {result.rps:>7.0f} "
            f"{result.p50:>7.1f} {result.p99:>7.1f} {result.errors:>6}"
            + (f"  statuses {wrong} (0: connection failed)" if wrong else ""),
            flush=True,
        )
        if not levels[-1].within(args.p99_ms):
            break
    return levels


def knee(levels: list[Level], p99_limit: float) -> Level | None:
    """The last level such that it and every level below it are within the limits."""
    found = None
    for level in levels:
        if not level.within(p99_limit):
            break
        found = level
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8, help="seconds per level")
    parser.add_argument("--trades", type=int, default=100_000, help="trades seeded by COPY")
    parser.add_argument("--p99-ms", type=float, default=100, help="the p99 that ends a ramp")
    parser.add_argument("--max-clients", type=int, default=256)
    parser.add_argument("--only", help="scenarios whose names contain one of these (a,b)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with ServedStack(name="load", trades=args.trades) as stack:
        print(stack.machine_line())
        plan = scenarios(stack, tag=f"LD{int(time.time())}")
        if args.only:
            wanted = args.only.split(",")
            plan = [s for s in plan if any(w in s.name for w in wanted)]
        warm_up(stack, plan)
        print(
            f"\n{args.seconds:g} s per level; a ramp stops at the first level with an error "
            f"or p99 > {args.p99_ms:g} ms"
        )
        knees = {scenario.name: (ramp(stack, scenario, args), scenario) for scenario in plan}
        end_load = load_average()
    print(f"\nknees (last level with no error and p99 <= {args.p99_ms:g} ms):")
    print(
        f"{'scenario':<18} {'knee':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors at or below':>18}"
    )
    every, kneeless, all_errors = True, [], 0
    for name, (levels, _) in knees.items():
        best = knee(levels, args.p99_ms)
        below = [level for level in levels if best and level.concurrency <= best.concurrency]
        errors = sum(level.result.errors for level in below)
        all_errors += sum(level.result.errors for level in levels)
        every = every and errors == 0
        if best is None:
            kneeless.append(name)
            first = levels[0].result
            print(
                f"{name:<18} {'none':>5}  one client: p99 {first.p99:.1f} ms, {first.errors} errors"
            )
            continue
        r = best.result
        print(
            f"{name:<18} {best.concurrency:>5} {r.rps:>7.0f} {r.p50:>7.1f} {r.p99:>7.1f} "
            f"{errors:>18}  {verdict(errors == 0)}"
        )
    print(f"\nerrors at any level of any scenario: {all_errors}")
    if kneeless:
        print(f"no level within p99 {args.p99_ms:g} ms, not even one client: {', '.join(kneeless)}")
    print(f"target, zero errors at or below every knee: {verdict(every)}")
    print(
        f"load average at the end {end_load}; run took {(time.monotonic() - started) / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
