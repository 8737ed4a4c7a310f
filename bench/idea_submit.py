"""Benchmark: submitting a trade idea through the risk gate, at 10,000 and 1,000,000 trades.

Issue 17 measured 34 ms at 2,000 trades and 9.7 s at 200,000 on a native TimescaleDB:
the gate read every closed trade's daily P&L (``bench.common.trades_by_day()`` over the trades,
JIT-compiled) on every idea, holding the risk config's row lock. Now its figures come
from the daily summary (plain PostgreSQL) or the continuous aggregate (TimescaleDB)
and from indexes; the P&L before today is kept for a minute.

For each database (plain PostgreSQL; a native TimescaleDB when one is installed, e.g.
TEST_PG_BINDIR=/opt/tsdb/usr/lib/postgresql/15/bin or --timescale-bindir) and each size,
a throwaway cluster is migrated, trades spread over a year are COPY'd in (5 % open;
bench.admin_pages's generator), the daily summary compacted or the aggregate refreshed, and
a child process (DEBUG off, the app's connection settings: JIT off) times, median of
--repeat each:

  submit                  idea_submit with the P&L history's checkpoint in the cache
                          (the job engine renews it every half minute)
  submit, a day to add    the first idea after midnight: the checkpoint plus one day
  submit, no checkpoint   an empty cache (no job engine, or a cache flush): the whole
                          history read, for information (no target: it is the job's)
  old observations        what the gate read before (by_day over every trade), as the
                          baseline, once per size (it takes seconds at 1M)

Targets: the first two at 1M trades <= 50 ms, and within 1.5x of their time at 10k, on
each database.

Run: .venv/bin/python -m bench.idea_submit [--rows 1000000] [--small 10000] [--repeat 30]
     [--databases plain,timescale]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import admin_pages as admin_bench
from bench.admin_pages import load as load_trades
from bench.common import trades_by_day

REPO = Path(__file__).resolve().parents[1]
PLAIN_BINDIR = Path("/usr/lib/postgresql/15/bin")


# -- the child: a configured Django, timing idea_submit ---------------------------------------


def child(repeat: int, baseline: bool) -> dict:
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection
    from django.utils import timezone

    from desk.models import AccountSnapshot, MarketBar, Strategy, TradeIdea
    from desk.services import forget_pnl_history, idea_submit, pnl_history, risk_config_update
    from journal.analytics import performance
    from journal.instruments import instruments_seed
    from journal.models import Trade, TradeStatus

    now = timezone.now()
    instruments_seed()
    AccountSnapshot.objects.create(
        captured_at=now, account="desk-main", balance=Decimal(10**6), equity=Decimal(10**6)
    )
    MarketBar.objects.create(
        captured_at=now,
        symbol="EURUSD",
        timeframe="M1",
        open=Decimal("1.085"),
        high=Decimal("1.085"),
        low=Decimal("1.085"),
        close=Decimal("1.085"),
    )
    strategy, _ = Strategy.objects.get_or_create(
        name="bench-breakout",
        defaults={
            "risk_caps": {"max_open_trades": 10**6, "max_trades_per_day": 10**6},
            "rr_expectation": Decimal("1.5"),
        },
    )
    risk_config_update(
        changes={
            "ai_trading_enabled": True,
            "watchlist": ["EURUSD"],
            "max_concurrent_trades": 10**6,
            "max_drawdown_amount": Decimal(10**9),
            "daily_profit_target": Decimal(10**9),
            "max_daily_loss": Decimal(10**9),
        },
        actor="bench",
        reason="benchmark: limits that no idea of the run reaches",
    )

    def submit() -> tuple[float, str]:
        idea = TradeIdea(
            symbol="EURUSD",
            direction="long",
            entry_price=Decimal("1.0850"),
            stop_loss=Decimal("1.0800"),
            take_profit=Decimal("1.0950"),
            lot_size=Decimal("0.1"),
            confidence_score=Decimal("0.9"),
            strategy=strategy,
        )
        started = time.perf_counter()
        submitted, _ = idea_submit(idea=idea, actor="bench")
        return (time.perf_counter() - started) * 1000, submitted.status

    statuses = set()
    for _ in range(3):  # connections, caches, the instruments' lookup
        statuses.add(submit()[1])
    today = timezone.now().date()
    cached, day, read = [], [], []
    for _ in range(repeat):
        elapsed, status = submit()
        cached.append(elapsed)
        statuses.add(status)
        pnl_history(today - timedelta(days=1), refresh=True)  # a checkpoint of the day before
        elapsed, status = submit()
        day.append(elapsed)
        statuses.add(status)
        forget_pnl_history()
        elapsed, status = submit()
        read.append(elapsed)
        statuses.add(status)
    result = {"cached": cached, "day": day, "read": read, "statuses": sorted(statuses)}
    if baseline:
        started = time.perf_counter()
        daily = [row["net_pnl"] for row in trades_by_day()]
        performance.drawdowns(daily)
        Trade.objects.filter(status=TradeStatus.OPEN).count()
        result["old"] = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        result["jit"] = cursor.fetchone()[0]
    return result


# -- the parent -------------------------------------------------------------------------------


def timescale_bindir(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("TEST_PG_BINDIR")):
        if candidate and (Path(candidate).parents[3] / "lib").exists():
            bindir = Path(candidate)
            lib = bindir.parents[3] / "lib" / "postgresql" / bindir.parent.name / "lib"
            if (lib / "timescaledb.so").exists():
                return bindir
    return None


class Cluster(admin_bench.Cluster):
    """bench.admin_pages's throwaway cluster, on the given binaries, TimescaleDB preloaded when
    they have it; its sessions run as the application's (JIT off)."""

    def __init__(self, bindir: Path, timescale: bool):
        super().__init__(
            "timescaledb" if timescale else "postgresql", bindir=bindir, name="bench_idea"
        )
        self.timescale = timescale
        self.base_env.pop("DB_JIT", None)  # the application's setting: JIT off

    def settle(self, rows: int) -> str:
        """What production's jobs would have done by now: the summary compacted, or the
        continuous aggregate refreshed."""
        with self.connect(rows) as conn, conn.cursor() as cursor:
            if self.timescale:
                # bench.admin_pages.load refreshed the aggregates; the same count as before.
                cursor.execute("SELECT count(*) FROM journal_daily_pnl")
                return f"{cursor.fetchone()[0]:,} aggregate rows"
        subprocess.run(
            [sys.executable, "manage.py", "compact_trade_summary"],
            env=self.env(rows),
            cwd=REPO,
            check=True,
            timeout=900,
            capture_output=True,
        )
        with self.connect(rows) as conn, conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM journal_daily_summary")
            return f"{cursor.fetchone()[0]:,} summary rows"


def measure(cluster: Cluster, rows: int, repeat: int, baseline: bool) -> dict:
    command = [sys.executable, "-m", "bench.idea_submit", "--child", "--repeat", str(repeat)]
    result = subprocess.run(
        [*command, *(["--baseline"] if baseline else [])],
        env=cluster.env(rows),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run_database(label: str, cluster: Cluster, sizes: list[int], args) -> list[str]:
    lines = []
    answers = {}
    for size in sizes:
        cluster.create(size)
        seconds = load_trades(cluster, size)["total"]
        settled = cluster.settle(size)
        print(f"{label}: {size:,} trades loaded in {seconds:.1f} s ({settled})", flush=True)
    for size in sizes:
        answers[size] = measure(cluster, size, args.repeat, baseline=True)
    for _ in range(args.rounds - 1):  # more rounds, alternating, for a busy machine
        for size in sizes:
            more = measure(cluster, size, args.repeat, baseline=False)
            for figure in ("cached", "day", "read"):
                answers[size][figure] += more[figure]
    small, large = sizes
    print(
        f"\n{label} (jit {answers[large]['jit']}), median of {len(answers[large]['cached'])} (ms)"
    )
    print(f"{'':<28}" + "".join(f"{f'{n:,} trades':>18}" for n in sizes))
    medians = {n: statistics.median(answers[n]["cached"]) for n in sizes}
    days = {n: statistics.median(answers[n]["day"]) for n in sizes}
    reads = {n: statistics.median(answers[n]["read"]) for n in sizes}
    print(f"{'submit':<28}" + "".join(f"{medians[n]:>18.1f}" for n in sizes))
    print(f"{'submit, a day to add':<28}" + "".join(f"{days[n]:>18.1f}" for n in sizes))
    print(f"{'submit, no checkpoint':<28}" + "".join(f"{reads[n]:>18.1f}" for n in sizes))
    print(
        f"{'old observations (once)':<28}" + "".join(f"{answers[n]['old']:>18.1f}" for n in sizes)
    )
    print(f"verdicts seen: {', '.join(answers[large]['statuses'])}")
    for name, figures in (("checkpoint kept", medians), ("a day to add", days)):
        growth = figures[large] / figures[small]
        line = (
            f"{label}: submit ({name}) at {large:,}: {figures[large]:.1f} ms (target <= 50): "
            f"{verdict(figures[large] <= 50)}; {growth:.2f}x its time at {small:,} "
            f"(target <= 1.5x): {verdict(growth <= 1.5)}"
        )
        print(line)
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timescale-bindir")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument(
        "--databases", default="plain,timescale", help="which to run: plain, timescale or both"
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat, args.baseline)))
        return
    sizes = [args.small, args.rows]
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, load average "
        f"{load} at the start"
    )
    wanted = set(args.databases.split(","))
    databases = [("plain PostgreSQL", PLAIN_BINDIR, False)] if "plain" in wanted else []
    native = timescale_bindir(args.timescale_bindir)
    if native is not None and "timescale" in wanted:
        databases.append(("native TimescaleDB", native, True))
    elif "timescale" in wanted:
        print("no native TimescaleDB found (TEST_PG_BINDIR): plain PostgreSQL only")
    summary = []
    for label, bindir, timescale in databases:
        cluster = Cluster(bindir, timescale)
        try:
            summary += run_database(label, cluster, sizes, args)
        finally:
            cluster.destroy()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nload average {load} at the end")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
