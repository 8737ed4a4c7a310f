"""Benchmark: the journal's performance figures in SQL against a naive Python computation
(issue 3, item 7b).

Loads N trades (psql \\copy of a generated trade file, then one INSERT ... SELECT; then
VACUUM ANALYZE, as autovacuum would) into a throwaway PostgreSQL cluster migrated with the
project's migrations, and times, in a child process configured for that cluster:
  sql    journal.analytics.metrics.report_for(), as GET /metrics and performance_report call it:
         on plain PostgreSQL it reads the daily summary that triggers keep
         (journal/analytics/summary.py); only one row a day reaches Python for drawdown,
         Sharpe and Sortino
  scan   journal.analytics.metrics.report() on the trades themselves (one grouped scan), the
         path where the summary cannot answer (TimescaleDB, SQLite, other filters)
  naive  every closed trade's (closed_at, pnl) loaded through the ORM
         (list(values_list(...))), then the summary figures and the per-day series
         computed in Python, with the same definitions (journal.analytics.performance)
The naive side computes less than report() (no holding time, no symbol and strategy
groups, two columns instead of all that report() aggregates), so the speed-up is a
lower bound. Each is timed 3 times, alternately; the median counts. Both must agree on
net P&L, trade count, wins and max drawdown (and on the whole per-day series).

Target: the report (as served) >= 20x faster than the naive computation.

Run: .venv/bin/python -m bench.metrics [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.common import (
    REPO,
    BenchDatabase,
    generate_trades,
    median,
    parse_settings,
    run_child,
    verdict,
)

TARGET = 20.0


# -- the two computations, in a child process ---------------------------------------------


def naive_report() -> dict:
    """What a report written without the database's help does: load, then loop."""
    from decimal import Decimal

    from journal.analytics import performance
    from journal.models import Trade, TradeStatus

    rows = list(Trade.objects.filter(status=TradeStatus.CLOSED).values_list("closed_at", "pnl"))
    zero = Decimal(0)
    trades = wins = losses = 0
    net = gross_profit = gross_loss = zero
    largest_win = largest_loss = None
    days: dict = {}
    for closed_at, pnl in rows:
        day = closed_at.date()  # the connection's time zone is UTC (settings.TIME_ZONE)
        figures = days.get(day)
        if figures is None:
            figures = days[day] = [0, 0, 0, zero]
        figures[0] += 1
        figures[3] += pnl
        trades += 1
        net += pnl
        if pnl > 0:
            wins += 1
            figures[1] += 1
            gross_profit += pnl
            largest_win = pnl if largest_win is None else max(largest_win, pnl)
        elif pnl < 0:
            losses += 1
            figures[2] += 1
            gross_loss += pnl
            largest_loss = pnl if largest_loss is None else min(largest_loss, pnl)
    by_day = [
        {"day": day, "trades": t, "wins": w, "losses": lo, "net_pnl": n}
        for day, (t, w, lo, n) in sorted(days.items())
    ]
    daily = [row["net_pnl"] for row in by_day]
    for row, level, fall in zip(
        by_day, performance.equity_curve(daily), performance.drawdowns(daily), strict=True
    ):
        row["equity"] = level
        row["drawdown"] = fall
    summary = {
        "trades": trades,
        "wins": wins,
        "losses": losses,
        "net_pnl": net,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "win_rate": performance.ratio(wins, trades),
        "profit_factor": performance.profit_factor(gross_profit, gross_loss),
        "expectancy": performance.ratio(net, trades),
        "average_win": gross_profit / wins if wins else None,
        "average_loss": gross_loss / losses if losses else None,
        "largest_win": largest_win,
        "largest_loss": largest_loss,
        "max_drawdown": performance.max_drawdown(daily),
        "sharpe": performance.sharpe(daily),
        "sortino": performance.sortino(daily),
        "days": len(by_day),
    }
    return {"summary": summary, "by_day": by_day}


SERIES_KEYS = ("day", "trades", "wins", "losses", "net_pnl", "equity", "drawdown")
CHECKED = ("net_pnl", "trades", "wins", "max_drawdown")


def _same(a, b) -> bool:
    """Equal; averages and ratios (SQL's numeric division rounds differently) to 1e-9."""
    if a is None or b is None or isinstance(a, int):
        return a == b
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))


def child(repeats: int) -> dict:
    import django

    django.setup()
    from journal.analytics.metrics import report, report_for
    from journal.models import Trade
    from journal.query_filters import MetricsFilter

    def served():
        filterset = MetricsFilter({}, queryset=Trade.objects.all())
        assert filterset.is_valid()
        return report_for(filterset)

    sql_times, scan_times, naive_times = [], [], []
    sql = scan = naive = None
    for _ in range(repeats):
        started = time.perf_counter()
        sql = served()
        sql_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        scan = report()
        scan_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        naive = naive_report()
        naive_times.append(time.perf_counter() - started)
    series_equal = [{k: row[k] for k in SERIES_KEYS} for row in sql["by_day"]] == [
        {k: row[k] for k in SERIES_KEYS} for row in naive["by_day"]
    ]
    return {
        "sql_times": sql_times,
        "naive_times": naive_times,
        "scan_times": scan_times,
        "scan_equal": scan == sql,
        "sql": {k: str(sql["summary"][k]) for k in (*CHECKED, "losses", "days")},
        "naive": {k: str(naive["summary"][k]) for k in (*CHECKED, "losses", "days")},
        "summaries_equal": all(
            _same(sql["summary"][k], naive["summary"][k]) for k in naive["summary"]
        ),
        "series_equal": series_equal,
        "groups": {"symbols": len(sql["by_symbol"]), "strategies": len(sql["by_strategy"])},
    }


# -- the parent ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per step")
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting for the throwaway cluster, e.g. shared_buffers=1GB (repeatable)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeats)))
        return

    sys.path.insert(0, str(REPO))
    total_started = time.perf_counter()
    with BenchDatabase(name="bench_metrics", settings=parse_settings(args.pg_set)) as db:
        print(db.machine_facts())
        print("note: other work may share this machine; the figures are noisy")
        trades = generate_trades(db.tmp / "trades.csv", args.rows)
        print(
            f"generated {trades.rows:,} trades ({trades.closed:,} closed) in "
            f"{trades.seconds:.1f} s: {trades.megabytes:.0f} MB of CSV"
        )
        load_seconds = db.load_with_copy(trades.path, timeout=args.timeout)
        db.sql("VACUUM ANALYZE journal_trade", timeout=args.timeout)
        stored = db.count("journal_trade")
        print(f"loaded {stored:,} trades (psql \\copy, INSERT ... SELECT) in {load_seconds:.1f} s")
        if stored != args.rows:
            raise SystemExit(f"expected {args.rows:,} trades in journal_trade, found {stored:,}")
        _seconds, answer = run_child(
            "bench.metrics", ["--repeats", str(args.repeats)], db.env, args.timeout * 2, "metrics"
        )

    sql_median = median(answer["sql_times"])
    naive_median = median(answer["naive_times"])
    speedup = naive_median / sql_median
    print(
        f"\nperformance figures over {args.rows:,} trades ({trades.closed:,} closed, "
        f"{answer['sql']['days']} days, {answer['groups']['symbols']} symbols, "
        f"{answer['groups']['strategies']} strategies)"
    )
    print(f"{'figure':<14} {'report() (SQL)':>22} {'naive (Python)':>22}")
    for key in ("net_pnl", "trades", "wins", "losses", "max_drawdown", "days"):
        print(f"{key:<14} {answer['sql'][key]:>22} {answer['naive'][key]:>22}")
    agree = all(answer["sql"][k] == answer["naive"][k] for k in CHECKED)
    print(
        f"agree: checked figures {'yes' if agree else 'NO'}, whole summary "
        f"{'yes' if answer['summaries_equal'] else 'NO'}, per-day series "
        f"{'yes' if answer['series_equal'] else 'NO'}; report_for() == report() "
        f"(the scan) {'yes' if answer['scan_equal'] else 'NO'}"
    )
    runs = lambda times: ", ".join(f"{t:.2f}" for t in times)  # noqa: E731
    print(
        f"\n{'computation':<38} {'median s':>9}  runs (s)\n"
        f"{'report_for() (the daily summary)':<38} {sql_median:>9.2f}  "
        f"{runs(answer['sql_times'])}\n"
        f"{'report() (one grouped scan)':<38} {median(answer['scan_times']):>9.2f}  "
        f"{runs(answer['scan_times'])}\n"
        f"{'naive (ORM load + Python loop)':<38} {naive_median:>9.2f}  "
        f"{runs(answer['naive_times'])}"
    )
    print(
        f"speed-up naive / report_for() = {speedup:.1f}x  (target >= {TARGET:g}x)  "
        f"{verdict(speedup >= TARGET)}"
    )
    scan_speedup = naive_median / median(answer["scan_times"])
    print(f"speed-up naive / report() (the scan) = {scan_speedup:.1f}x")
    print(f"total benchmark time {time.perf_counter() - total_started:.0f} s")
    checks = ("summaries_equal", "series_equal", "scan_equal")
    if not (agree and all(answer[name] for name in checks)):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
