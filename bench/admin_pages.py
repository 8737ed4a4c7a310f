"""Benchmark: the trade admin and the dashboard on a large journal, on plain PostgreSQL and
on a native TimescaleDB (when the machine has one), against a default ModelAdmin.

On a throwaway cluster per engine (migrated with the project's migrations), trades are
generated and COPY'd straight into journal_trade (70 % with an initial stop, 2 % with a
review, a grade and tags), with five-minute market bars for the last 30 days, then
ANALYZE'd. On TimescaleDB the continuous aggregates are then refreshed over all history
(as import_trades does) and the compression policy is run once (chunks older than 30
days compressed, as in production). A child process configured for the cluster
(DJANGO_DEBUG=0) times pages with Django's test Client as a logged-in superuser, the
median of several requests each:
  project changelist      /admin/journal/trade/
  project filtered        /admin/journal/trade/?symbol=...&review=unreviewed&executed=30d
  project search          /admin/journal/trade/?q=<a trade id>
  trade page              /admin/journal/trade/<id>/change/
  dashboard               /admin/journal/trade/dashboard/ (last 90 days, the default;
                          all time; one symbol over all time)
  default changelist      a plain ModelAdmin: full count + date_hierarchy (bench/admin_urls)
  default + list_filter   the same with symbol/strategy/side/account filters
and, as the baseline of the dashboard, the same report computed from the trades
(metrics.report over the selection's trades: what the dashboard read before the daily
rows answered it) against the report from the daily rows (metrics.report_of), 90 days
and all time, in the same child. Sizes --small and --rows (one database each), in rounds
that alternate between them. The filter choices' cache is cleared before every request.

Targets: the project's changelist >= 10x faster than the default one at --rows, and
its time at --rows within 2x of its time at --small; the dashboard <= 1 s at --rows, 90
days and all time, on each engine.

Run: .venv/bin/python -m bench.admin_pages [--rows 1000000] [--small 10000] [--rounds 3]
     [--repeat 3] [--engines postgresql,timescaledb]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The same universe of instruments as the ingest and metrics benchmarks.
from bench.common import ACCOUNTS, MODEL_VERSIONS, STRATEGIES, SYMBOLS

REPO = Path(__file__).resolve().parents[1]

DAYS = 365
COLUMNS = (
    "trade_id, executed_at, closed_at, symbol, side, quantity, entry_price, exit_price, fees, "
    "pnl, status, strategy, account, broker_order_id, agent_votes, signals, model_version, "
    "confidence, stop_loss, recorded_at"
)
TARGET_MS = 1000.0  # the dashboard at --rows, 90 days and all time
REPORT_SELECTIONS = (("90 days", 90), ("all time", None))
PAGES = (
    ("project changelist", "/admin/journal/trade/"),
    # issue 29: the list sorted by a trade's figure (within the period that bounds it),
    # a calendar day's trades, the list by tag, the trade on its chart, the dashboard's
    # new filters (read from the trades: the daily rows keep no side, tag or model), and
    # the API's trades with their figures and the open positions.
    ("sort by P&L (30 days)", "/admin/journal/trade/?o={pnl}&executed=30d"),
    ("sort by R (30 days)", "/admin/journal/trade/?o={r}&executed=30d"),
    ("sort by R, best (30 days)", "/admin/journal/trade/?o=-{r}&executed=30d"),
    ("sort by held (30 days)", "/admin/journal/trade/?o=-{held}&executed=30d"),
    ("sort by closed (30 days)", "/admin/journal/trade/?o=-{closed}&executed=30d"),
    ("sort by R (90 days)", "/admin/journal/trade/?o={r}&executed=90d"),
    ("sort by R (365 days)", "/admin/journal/trade/?o={r}&executed_from={year_ago}"),
    ("sort by R, NVDA (90 days)", "/admin/journal/trade/?o={r}&executed=90d&symbol=NVDA"),
    ("a calendar day's trades", "/admin/journal/trade/?closed_from={day}&closed_to={day}"),
    ("a day's trades by P&L", "/admin/journal/trade/?closed_from={day}&closed_to={day}&o={pnl}"),
    ("list by tag", "/admin/journal/trade/?tag=News"),
    ("trade page with chart", "/admin/journal/trade/{recent_pk}/change/"),
    ("dashboard (long, 90 days)", "/admin/journal/trade/dashboard/?side=long"),
    ("dashboard (tag, 90 days)", "/admin/journal/trade/dashboard/?tag=breakout"),
    ("dashboard (model, 90 days)", "/admin/journal/trade/dashboard/?model_version=regime-lstm@1"),
    ("API trades (100)", "/api/v1/trades?limit=100"),
    ("API positions (100)", "/api/v1/positions?limit=100"),
    ("project filtered", "/admin/journal/trade/?symbol=NVDA&review=unreviewed&executed=30d"),
    ("project search", "/admin/journal/trade/?q={trade_id}"),
    ("trade page", "/admin/journal/trade/{pk}/change/"),
    ("dashboard (90 days)", "/admin/journal/trade/dashboard/"),
    ("dashboard (all time)", "/admin/journal/trade/dashboard/?period=all"),
    ("dashboard (NVDA, all)", "/admin/journal/trade/dashboard/?period=all&symbol=NVDA"),
    ("default changelist", "/default-admin/journal/trade/"),
    ("default + list_filter", "/default-admin-filters/journal/trade/"),
)


# -- the child: a configured Django, timing pages ------------------------------------------


def child(repeat: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    # Pages render without a collectstatic run (as in the test suite).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.ROOT_URLCONF = "bench.admin_urls"
    from journal.models import Trade

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    # A trade a few pages down the list, as a reviewer would open one.
    offset = min(5000, Trade.objects.count() // 2)
    middle = Trade.objects.order_by("-executed_at").values("pk", "trade_id")[offset]
    # A closed trade of last week, which the market bars cover (for its chart).
    now = datetime.now(UTC)
    recent = (
        Trade.objects.filter(
            status="closed", executed_at__gte=now - timedelta(days=7), symbol="NVDA"
        )
        .order_by("-executed_at")
        .values("pk")
        .first()
    )
    from journal.admin.trades import TradeAdmin

    columns = list(TradeAdmin.list_display)
    places = {
        "pnl": columns.index("pnl_checks") + 1,  # after the action checkbox
        "r": columns.index("r_column") + 1,
        "held": columns.index("held") + 1,
        "closed": columns.index("closed") + 1,
        "day": (now - timedelta(days=1)).date().isoformat(),
        "year_ago": (now - timedelta(days=365)).date().isoformat(),
        "recent_pk": recent["pk"] if recent else middle["pk"],
    }
    results = {}
    for name, template in PAGES:
        url = template.format(pk=middle["pk"], trade_id=middle["trade_id"], **places)
        timings, status = [], None
        for attempt in range(repeat + 1):  # the first request warms up, not counted
            cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            status = response.status_code
            if attempt:
                timings.append(elapsed)
        if status != 200:
            raise SystemExit(f"{name}: {url} answered {status}")
        results[name] = [t * 1000 for t in timings]
    page = client.get("/admin/journal/trade/").content.decode()
    shown = re.search(r'class="trade-count"[^>]*>(.*?)</span>', page, re.S)
    results["_count_text"] = " ".join(shown.group(1).split()) if shown else "?"
    results.update(report_timings(repeat))
    results.update(sorts_without_their_indexes(client, repeat, places))
    return results


SORT_INDEXES = ("journal_trade_r_idx", "journal_trade_held_idx", "journal_trade_pnl_idx")


def sorts_without_their_indexes(client, repeat: int, places: dict) -> dict[str, list[float]]:
    """The sorted pages again with migration 0018's indexes dropped (inside a
    transaction rolled back at the end: the database keeps them): the "before"."""
    from django.core.cache import cache
    from django.db import connection, transaction

    out: dict[str, list[float]] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {', '.join(SORT_INDEXES)}")
        for name, template in PAGES:
            if not name.startswith("sort by") or "closed" in name:
                continue  # closed_at's index is the list's own, from before
            url = template.format(**places)
            timings = []
            for attempt in range(repeat + 1):
                cache.clear()
                started = time.perf_counter()
                status = client.get(url).status_code
                if attempt:
                    timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{name} without its index: {url} answered {status}")
            out[f"{name}, no index"] = timings
        transaction.set_rollback(True)
    return out


def report_timings(repeat: int) -> dict[str, list[float]]:
    """The dashboard's report from the daily rows against the same report from the
    trades (the baseline), for each selection; they must agree."""
    from journal.analytics import metrics, sources

    today = datetime.now(UTC).date()
    out: dict[str, list[float]] = {}
    for label, days in REPORT_SELECTIONS:
        until = today + timedelta(days=1)
        where = sources.DayFilter(since=until - timedelta(days=days) if days else None, until=until)
        answers = {}
        for name, compute in (
            ("daily rows", lambda w=where: metrics.report_of(w)),
            ("trades", lambda w=where: metrics.report(sources.trades_of(w))),
        ):
            timings = []
            for attempt in range(repeat + 1):
                started = time.perf_counter()
                answers[name] = compute()
                if attempt:
                    timings.append((time.perf_counter() - started) * 1000)
            out[f"report from {name} ({label})"] = timings
        if answers["daily rows"]["summary"] != answers["trades"]["summary"]:
            raise SystemExit(f"the daily rows and the trades disagree ({label})")
    return out


# -- the parent: cluster, data, phases ---------------------------------------------------


class Cluster:
    """A throwaway cluster with one migrated database per journal size; ``timescale``
    preloads the native TimescaleDB of the same binaries."""

    def __init__(self, engine: str, *, bindir: Path | None = None, name: str = "bench_admin"):
        sys.path.insert(0, str(REPO))
        from tests.harness.services import PostgresCluster, find_postgres_bindir

        self.engine = engine
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bo-{name}-{engine}-"))
        self.cluster = PostgresCluster(
            bindir or find_postgres_bindir(),
            name=f"{name}_{engine}",
            timescale=engine == "timescaledb",
        ).up()
        var = self.tmp / "var"
        var.mkdir()
        self.base_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 60),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
            "BACKOFFICE_VAR_DIR": str(var),
            "SPOOL_DIR": str(var / "spool"),
            "POSTGRES_PASSWORD": self.cluster.password,
            "INSTRUMENTS_REQUIRED": "0",
        }
        self.base_env.pop("REDIS_URL", None)

    def database(self, rows: int) -> str:
        return f"bench_{rows}"

    def env(self, rows: int) -> dict[str, str]:
        url = self.cluster.url(self.database(rows), with_password=False)
        return {**self.base_env, "DATABASE_URL": url}

    def create(self, rows: int) -> None:
        self.cluster.create_database(self.database(rows))
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            env=self.env(rows),
            cwd=REPO,
            check=True,
            timeout=900,
        )

    def connect(self, rows: int):
        import psycopg

        return psycopg.connect(self.cluster.url(self.database(rows)), autocommit=True)

    def server(self) -> str:
        with self.connect_any() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            row = conn.execute(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
        if self.engine == "timescaledb":
            return f"PostgreSQL {version} + native TimescaleDB {row[0] if row else '?'}"
        return f"PostgreSQL {version} (no extension loaded)"

    def connect_any(self):
        import psycopg

        return psycopg.connect(self.cluster.url("postgres"), autocommit=True)

    def destroy(self) -> None:
        try:
            self.cluster.destroy()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def trade_lines(start: int, count: int, rng: random.Random, end: datetime):
    """Tab-separated COPY lines of ``count`` trades spread over DAYS days before ``end``."""
    symbols = list(SYMBOLS.items())
    first = (end - timedelta(days=DAYS)).timestamp()
    span = DAYS * 86400
    recorded = end.isoformat()
    votes = '{"trend": "long", "risk": "ok"}'
    for n in range(start, start + count):
        symbol, price = symbols[int(rng.random() * len(symbols))]
        executed = datetime.fromtimestamp(first + rng.random() * span, UTC)
        long = rng.random() < 0.55
        quantity = int(1 + rng.expovariate(1 / 40))
        entry = price * (1 + rng.gauss(0, 0.03))
        fees = quantity * entry * 0.0002
        if rng.random() < 0.05:
            closed = exit_text = pnl_text = r"\N"
            status = "open"
        else:
            closed = (executed + timedelta(seconds=5 + rng.expovariate(1 / 1800))).isoformat()
            move = rng.gauss(0.0004, 0.006)
            exit_price = entry * (1 + move if long else 1 - move)
            pnl = (exit_price - entry) * quantity * (1 if long else -1) - fees
            exit_text, pnl_text, status = f"{exit_price:.4f}", f"{pnl:.2f}", "closed"
        signals = f'{{"rsi": {rng.uniform(5, 95):.1f}}}'
        # 70 % carry their initial stop, about 1 % from the entry on the losing side.
        if rng.random() < 0.7:
            risk = entry * rng.uniform(0.003, 0.015)
            stop = f"{entry - risk if long else entry + risk:.4f}"
        else:
            stop = r"\N"
        yield (
            f"BT{n:09d}\t{executed.isoformat()}\t{closed}\t{symbol}\t"
            f"{'long' if long else 'short'}\t{quantity}\t{entry:.4f}\t{exit_text}\t{fees:.4f}\t"
            f"{pnl_text}\t{status}\t{STRATEGIES[n % 7 % 6]}\t{ACCOUNTS[n % 6]}\tORD-{n:010d}\t"
            f"{votes}\t{signals}\t{MODEL_VERSIONS[n % 4]}\t{rng.random():.4f}\t{stop}\t"
            f"{recorded}\n"
        )


def bar_lines(rng: random.Random, end: datetime):
    """Five-minute bars of every symbol over the last 30 days (the bars' retention)."""
    start = end - timedelta(days=30)
    steps = 30 * 24 * 12
    for symbol, price in SYMBOLS.items():
        level = price
        for step in range(steps):
            at = (start + timedelta(minutes=5 * step)).isoformat()
            move = level * rng.gauss(0, 0.0008)
            high = max(level, level + move) * (1 + abs(rng.gauss(0, 0.0003)))
            low = min(level, level + move) * (1 - abs(rng.gauss(0, 0.0003)))
            yield (
                f"{at}\t{symbol}\tM5\t{level:.4f}\t{high:.4f}\t{low:.4f}\t"
                f"{level + move:.4f}\t{rng.randint(10, 5000)}\n"
            )
            level += move


def _copy(cursor, sql: str, lines) -> None:
    with cursor.copy(sql) as copy:
        buffer = io.StringIO()
        for index, line in enumerate(lines, 1):
            buffer.write(line)
            if index % 20_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(cluster: Cluster, rows: int) -> dict[str, float]:
    """COPY ``rows`` trades (a review for 2 % of them) and the bars, then ANALYZE; on
    TimescaleDB refresh the continuous aggregates over all history and compress the
    chunks older than 30 days. Seconds taken, by step."""
    rng = random.Random(rows)  # noqa: S311 - reproducible data, not a secret
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with cluster.connect(rows) as conn, conn.cursor() as cursor:
        cursor.execute("SET jit = off")  # as the project's connections run (DB_JIT)
        _copy(cursor, f"COPY journal_trade ({COLUMNS}) FROM STDIN", trade_lines(0, rows, rng, end))
        steps["COPY trades"] = time.perf_counter() - started
        cursor.execute(
            """
            INSERT INTO journal_tradereview (trade_id, status, grade, tags, notes, mistakes)
            SELECT id, CASE WHEN id % 5 = 0 THEN 'flagged' ELSE 'reviewed' END,
                   (ARRAY['A', 'B', 'C', 'D'])[1 + id % 4],
                   CASE id % 3 WHEN 0 THEN '["breakout"]' WHEN 1 THEN '["news", "late"]'
                        ELSE '[]' END::jsonb,
                   '',
                   CASE id % 7 WHEN 0 THEN '["chased"]' WHEN 1 THEN '["moved stop"]'
                        ELSE '[]' END::jsonb
            FROM journal_trade WHERE id % 50 = 0
            """
        )
        mark = time.perf_counter()
        _copy(
            cursor,
            "COPY desk_marketbar (captured_at, symbol, timeframe, open, high, low, close, volume)"
            " FROM STDIN",
            bar_lines(rng, end),
        )
        steps["COPY bars"] = time.perf_counter() - mark
        if cluster.engine == "timescaledb":
            mark = time.perf_counter()
            from journal.timescale import CAGG_VIEWS

            for view in CAGG_VIEWS.values():
                cursor.execute("CALL refresh_continuous_aggregate(%s, NULL, NULL)", [view])
            steps["refresh aggregates"] = time.perf_counter() - mark
            mark = time.perf_counter()
            cursor.execute(
                "SELECT count(compress_chunk(c)) FROM show_chunks('journal_trade', "
                "older_than => INTERVAL '30 days') c"
            )
            steps["compress old chunks"] = time.perf_counter() - mark
        cursor.execute("ANALYZE")
    steps["total"] = time.perf_counter() - started
    return steps


def measure(cluster: Cluster, rows: int, repeat: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.admin_pages", "--child", "--repeat", str(repeat)],
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


REPORTS = tuple(
    f"report from {source} ({label})"
    for label, _ in REPORT_SELECTIONS
    for source in ("daily rows", "trades")
)


def report(
    engine: str, sizes: list[int], timings: dict[int, dict], counts: dict[int, str], runs: int
) -> None:
    small, large = sizes
    unindexed = sorted({name for n in sizes for name in timings[n] if name.endswith("no index")})
    names = [name for name, _ in PAGES] + list(REPORTS) + unindexed
    median = {n: {name: statistics.median(timings[n][name]) for name in names} for n in sizes}
    print(f"\n== {engine}: median of {runs} requests per page (ms), Django test Client, DEBUG off")
    print(f"{'page':<40}" + "".join(f"{f'{n:,} rows':>16}" for n in sizes))
    for name in names:
        if name == REPORTS[0]:
            print("the dashboard's report alone (the baseline reads the trades):")
        if unindexed and name == unindexed[0]:
            print("the sorts again without migration 0018's indexes (the before):")
        print(f"{name:<40}" + "".join(f"{median[n][name]:>16.1f}" for n in sizes))
    for n in sizes:
        print(f"the list at {n:,} rows says: {counts[n]}")
    for name in unindexed:
        page = name.removesuffix(", no index")
        with_index, without = median[large][page], median[large][name]
        print(
            f"{page} at {large:,} rows: {with_index:.0f} ms with its index, "
            f"{without:.0f} ms without ({without / with_index:.1f}x)"
        )
    project = {n: median[n]["project changelist"] for n in sizes}
    speedup = median[large]["default changelist"] / project[large]
    growth = project[large] / project[small]
    print(
        f"default / project changelist at {large:,} rows: {speedup:.1f}x "
        f"(target >= 10x): {verdict(speedup >= 10)}"
    )
    print(
        f"project changelist at {large:,} / at {small:,} rows: {growth:.2f}x "
        f"(target <= 2x): {verdict(growth <= 2)}"
    )
    for page in ("dashboard (90 days)", "dashboard (all time)", "dashboard (NVDA, all)"):
        ms = median[large][page]
        print(
            f"{page} at {large:,} rows: {ms:.0f} ms (target <= {TARGET_MS:.0f} ms): "
            f"{verdict(ms <= TARGET_MS)}"
        )
    for label, _ in REPORT_SELECTIONS:
        rows_ms = median[large][f"report from daily rows ({label})"]
        trades_ms = median[large][f"report from trades ({label})"]
        print(
            f"report ({label}) at {large:,} rows: daily rows {rows_ms:.0f} ms, trades "
            f"{trades_ms:.0f} ms: {trades_ms / rows_ms:.1f}x faster from the daily rows"
        )


def engines_present(wanted: list[str]) -> list[str]:
    """The engines asked for that this machine has: plain PostgreSQL always, a native
    TimescaleDB where its library is installed beside the server binaries."""
    sys.path.insert(0, str(REPO))
    from tests.harness.services import find_postgres_bindir, native_timescaledb

    present = ["postgresql"]
    if native_timescaledb(find_postgres_bindir()):
        present.append("timescaledb")
    missing = [engine for engine in wanted if engine not in present]
    for engine in missing:
        print(f"{engine}: not installed here (set TEST_PG_BINDIR to its server's bin); skipped")
    return [engine for engine in wanted if engine in present]


def run_engine(engine: str, sizes: list[int], rounds: int, repeat: int) -> None:
    cluster = Cluster(engine)
    try:
        print(f"\n{engine}: {cluster.server()} (throwaway cluster, fsync off, loopback)")
        for size in sizes:
            cluster.create(size)
            steps = load(cluster, size)
            print(
                f"{size:,} trades loaded in {steps['total']:.1f} s ("
                + ", ".join(f"{name} {sec:.1f} s" for name, sec in steps.items() if name != "total")
                + ")",
                flush=True,
            )
        # Rounds alternate between the sizes, so that a busy moment of the (shared)
        # machine does not land on one size only.
        timings: dict[int, dict[str, list[float]]] = {n: {} for n in sizes}
        counts: dict[int, str] = {}
        for round_number in range(1, rounds + 1):
            for size in sizes:
                answer = measure(cluster, size, repeat)
                counts[size] = answer.pop("_count_text")
                for page, values in answer.items():
                    timings[size].setdefault(page, []).extend(values)
            print(f"round {round_number} of {rounds} done", flush=True)
        report(engine, sizes, timings, counts, rounds * repeat)
    finally:
        cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per page and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", default="postgresql,timescaledb")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat)))
        return
    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average at start {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    for engine in engines_present(args.engines.split(",")):
        run_engine(engine, [args.small, args.rows], args.rounds, args.repeat)
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
