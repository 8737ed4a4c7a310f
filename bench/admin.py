"""Benchmark: the trade admin on a large journal, against a default ModelAdmin.

On a throwaway PostgreSQL cluster (migrated with the project's migrations), trades are
generated and COPY'd straight into journal_trade (2 % of them with a review), then
ANALYZE'd. A child process configured for the cluster (DJANGO_DEBUG=0) times pages with
Django's test Client as a logged-in superuser, the median of several requests each:
  project changelist      /admin/journal/trade/
  project filtered        /admin/journal/trade/?symbol=...&review=unreviewed&executed=30d
  project search          /admin/journal/trade/?q=<a trade id>
  trade page              /admin/journal/trade/<id>/change/
  dashboard               /admin/journal/trade/dashboard/ (last 90 days, the default; 30)
  default changelist      a plain ModelAdmin: full count + date_hierarchy (bench/admin_urls)
  default + list_filter   the same with symbol/strategy/side/account filters
at --small rows and at --rows rows (one database each), in rounds that alternate between
the two, in the same run. The filter choices' cache is cleared before every request, so
each figure includes finding them.

Targets: the project's changelist >= 10x faster than the default one at --rows, and
its time at --rows within 2x of its time at --small.

Run: .venv/bin/python -m bench.admin [--rows 1000000] [--small 10000] [--rounds 3] [--repeat 3]
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
    "confidence, recorded_at"
)
PAGES = (
    ("project changelist", "/admin/journal/trade/"),
    ("project filtered", "/admin/journal/trade/?symbol=NVDA&review=unreviewed&executed=30d"),
    ("project search", "/admin/journal/trade/?q={trade_id}"),
    ("trade page", "/admin/journal/trade/{pk}/change/"),
    ("dashboard (90 days)", "/admin/journal/trade/dashboard/"),
    ("dashboard (30 days)", "/admin/journal/trade/dashboard/?period=30"),
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
    results = {}
    for name, template in PAGES:
        url = template.format(pk=middle["pk"], trade_id=middle["trade_id"])
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
    return results


# -- the parent: cluster, data, phases ---------------------------------------------------


class Cluster:
    """A throwaway cluster with one migrated database per journal size."""

    def __init__(self):
        sys.path.insert(0, str(REPO))
        from tests.harness.services import PostgresCluster

        self.tmp = Path(tempfile.mkdtemp(prefix="bo-bench-admin-"))
        self.cluster = PostgresCluster(name="bench_admin").up()
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
            timeout=600,
        )

    def connect(self, rows: int):
        import psycopg

        return psycopg.connect(self.cluster.url(self.database(rows)), autocommit=True)

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
        yield (
            f"BT{n:09d}\t{executed.isoformat()}\t{closed}\t{symbol}\t"
            f"{'long' if long else 'short'}\t{quantity}\t{entry:.4f}\t{exit_text}\t{fees:.4f}\t"
            f"{pnl_text}\t{status}\t{STRATEGIES[n % 7 % 6]}\t{ACCOUNTS[n % 6]}\tORD-{n:010d}\t"
            f"{votes}\t{signals}\t{MODEL_VERSIONS[n % 4]}\t{rng.random():.4f}\t{recorded}\n"
        )


def load(cluster: Cluster, rows: int) -> float:
    """COPY ``rows`` trades (and a review for 2 % of them), then ANALYZE; seconds taken."""
    rng = random.Random(rows)  # noqa: S311 - reproducible data, not a secret
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    with cluster.connect(rows) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY journal_trade ({COLUMNS}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for index, line in enumerate(trade_lines(0, rows, rng, end), 1):
                buffer.write(line)
                if index % 20_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        cursor.execute(
            """
            INSERT INTO journal_tradereview (trade_id, status, grade, tags, notes, mistakes)
            SELECT id, CASE WHEN id % 5 = 0 THEN 'flagged' ELSE 'reviewed' END, 'B', '[]',
                   '', ''
            FROM journal_trade WHERE id % 50 = 0
            """
        )
        cursor.execute("ANALYZE journal_trade")
        cursor.execute("ANALYZE journal_tradereview")
    return time.perf_counter() - started


def measure(cluster: Cluster, rows: int, repeat: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.admin", "--child", "--repeat", str(repeat)],
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


def report(sizes: list[int], timings: dict[int, dict], counts: dict[int, str], runs: int) -> None:
    small, large = sizes
    median = {n: {page: statistics.median(timings[n][page]) for page, _ in PAGES} for n in sizes}
    print(f"\nmedian of {runs} requests per page (ms), Django test Client, superuser, DEBUG off")
    print(f"{'page':<24}" + "".join(f"{f'{n:,} rows':>16}" for n in sizes))
    for name, _ in PAGES:
        print(f"{name:<24}" + "".join(f"{median[n][name]:>16.1f}" for n in sizes))
    for n in sizes:
        print(f"the list at {n:,} rows says: {counts[n]}")
    project = {n: median[n]["project changelist"] for n in sizes}
    speedup = median[large]["default changelist"] / project[large]
    growth = project[large] / project[small]
    print(
        f"\ndefault / project changelist at {large:,} rows: {speedup:.1f}x "
        f"(target >= 10x): {verdict(speedup >= 10)}"
    )
    print(
        f"project changelist at {large:,} / at {small:,} rows: {growth:.2f}x "
        f"(target <= 2x): {verdict(growth <= 2)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per page and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeat)))
        return
    cluster = Cluster()
    sizes = [args.small, args.rows]
    try:
        print(
            f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"PostgreSQL {cluster.cluster.bindir.parent.name} (throwaway cluster, fsync off, "
            f"loopback), load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
        )
        for size in sizes:
            cluster.create(size)
            seconds = load(cluster, size)
            print(f"{size:,} trades loaded by COPY in {seconds:.1f} s", flush=True)
        # Rounds alternate between the sizes, so that a busy moment of the (shared)
        # machine does not land on one size only.
        timings: dict[int, dict[str, list[float]]] = {n: {p: [] for p, _ in PAGES} for n in sizes}
        counts: dict[int, str] = {}
        for round_number in range(1, args.rounds + 1):
            for size in sizes:
                answer = measure(cluster, size, args.repeat)
                counts[size] = answer.pop("_count_text")
                for page, values in answer.items():
                    timings[size][page].extend(values)
            print(f"round {round_number} of {args.rounds} done", flush=True)
        report(sizes, timings, counts, args.rounds * args.repeat)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
