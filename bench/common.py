"""Shared pieces of the journal benchmarks (bench.ingest, bench.metrics).

- ``BenchDatabase``: a throwaway PostgreSQL cluster on a free loopback port, migrated
  with the project's migrations of the journal app (and what it depends on), with the
  environment a child process needs to run Django against it (and psql, through
  PGPASSWORD, never on a command line).
- ``generate_trades``: N trades in the trade record format (journal.domain.trade_record.FIELDS) as a
  CSV file, written with csv.writer from precomputed pools, a few seconds a million.
- ``timed`` / ``run_child``: run a command or a ``--child`` of a bench module and time it.
No Django import here: the parent never configures Django, its children do.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# The record format's columns, in order (journal.domain.trade_record imports no Django).
from journal.domain.trade_record import FIELDS

REPO = Path(__file__).resolve().parents[1]
PSQL = shutil.which("psql") or "/usr/bin/psql"

# -- machine ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


# -- database -----------------------------------------------------------------------


class _Started:
    """``with X() as x:`` runs ``up()`` and always ``close()``, also when ``up()`` fails
    halfway (whatever it started is stopped)."""

    def __enter__(self):
        try:
            self.up()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BenchDatabase(_Started):
    """A migrated throwaway cluster; ``with BenchDatabase() as db: ...`` removes it all."""

    def __init__(
        self,
        name: str = "bench",
        apps: tuple[str, ...] = ("journal",),
        settings: dict[str, str] | None = None,
    ):
        self.name = name
        # Server settings to change from the cluster's (ALTER SYSTEM, then a restart).
        self.settings = settings or {}
        # Only the apps a benchmark needs (and what they depend on): a half-written
        # migration elsewhere in a working tree must not stop a journal benchmark.
        self.apps = apps
        self.cluster = None
        self.tmp = Path(tempfile.mkdtemp(prefix="bo-bench-"))
        self.env: dict[str, str] = {}

    def up(self) -> None:
        sys.path.insert(0, str(REPO))
        from tests.harness.services import PostgresCluster

        self.cluster = PostgresCluster(name=self.name).up()
        if self.settings:
            for name, value in self.settings.items():
                self._superuser_sql(f"ALTER SYSTEM SET {name} = '{value}'")
            self.cluster.stop()
            self.cluster.start()
        var = self.tmp / "var"
        var.mkdir()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 60),
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "WARNING",
            "BACKOFFICE_VAR_DIR": str(var),
            "SPOOL_DIR": str(var / "spool"),
            # The password travels in the environment, not in a URL that ps shows.
            "DATABASE_URL": self.cluster.url(with_password=False),
            "POSTGRES_PASSWORD": self.cluster.password,
            "PGPASSWORD": self.cluster.password,
            "PGCONNECT_TIMEOUT": "10",
        }
        self.env.pop("REDIS_URL", None)
        for app in self.apps:
            result = subprocess.run(
                [sys.executable, "manage.py", "migrate", app, "--noinput", "-v", "0"],
                env=self.env,
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode != 0:
                raise SystemExit(f"migrate {app} failed:\n{result.stderr[-3000:]}")

    def close(self) -> None:
        try:
            if self.cluster is not None:
                self.cluster.destroy()
        finally:
            self.cluster = None
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _superuser_sql(self, statement: str) -> None:
        env = {**os.environ, "PGPASSWORD": self.cluster.password}
        subprocess.run(
            [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, "-c", statement],
            env=env,
            check=True,
            timeout=60,
        )

    @property
    def url(self) -> str:
        return self.cluster.url(with_password=False)

    def psql_command(self, *args: str) -> list[str]:
        return [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url, *args]

    def sql(self, statement: str, timeout: float = 600) -> str:
        """Run one statement with psql; the unaligned, tuples-only output."""
        result = subprocess.run(
            self.psql_command("-At", "-c", statement),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"psql failed on {statement[:80]!r}:\n{result.stderr.strip()}")
        return result.stdout.strip()

    def server_version(self) -> str:
        return self.sql("SHOW server_version")

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names

    def load_with_copy(self, path: Path, timeout: float = 900) -> float:
        """Fill journal_trade from a trade file in SQL alone (psql \\copy into a staging
        table, then one INSERT ... SELECT); seconds taken. For setting up a benchmark,
        not a way to import: nothing is validated beyond the column types.
        """
        columns = ", ".join(FIELDS)
        blank = {
            "strategy": "''",
            "account": "''",
            "broker_order_id": "''",
            "model_version": "''",
            "fees": "0",
            "agent_votes": "'{}'",
            "signals": "'{}'",
        }
        select = ", ".join(
            f"coalesce({name}, {blank[name]})" if name in blank else name for name in FIELDS
        )
        started = time.perf_counter()
        self.sql(raw_table_sql("bench_load"))
        copy = subprocess.run(
            self.psql_command(
                "-c", f"\\copy bench_load ({columns}) FROM '{path}' WITH (FORMAT csv, HEADER)"
            ),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if copy.returncode != 0:
            raise SystemExit(f"psql \\copy failed:\n{copy.stderr.strip()}")
        self.sql(
            f"INSERT INTO journal_trade ({columns}, status, recorded_at) "  # noqa: S608
            f"SELECT {select}, CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END, "
            "now() FROM bench_load ON CONFLICT (trade_id, executed_at) DO NOTHING; "
            "DROP TABLE bench_load",
            timeout=timeout,
        )
        return time.perf_counter() - started

    def machine_facts(self) -> str:
        server = self.sql(
            "SELECT current_setting('server_version') || ', shared_buffers ' || "
            "current_setting('shared_buffers') || ', work_mem ' || current_setting('work_mem') "
            "|| ', max_parallel_workers_per_gather ' || "
            "current_setting('max_parallel_workers_per_gather')"
        )
        return (
            f"machine: {os.cpu_count()} cores ({cpu_model()}), {memory_gb():.0f} GB RAM, "
            f"Python {platform.python_version()}, load average at start {load_average()}\n"
            f"server: PostgreSQL {server} (throwaway cluster on loopback, fsync=off)"
        )


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """``--pg-set shared_buffers=1GB`` options as a dict (names checked, values quoted)."""
    settings = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if not name.replace("_", "").isalnum() or not value or "'" in value:
            raise SystemExit(f"--pg-set wants NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def raw_table_sql(name: str) -> str:
    """A plain table with the record format's columns and journal_trade's types: no
    index, no constraint, every column nullable (CSV leaves blank cells NULL)."""
    return f"""
        CREATE TABLE {name} (
            trade_id varchar(64), executed_at timestamptz, closed_at timestamptz,
            symbol varchar(32), side varchar(5), quantity numeric(20, 8),
            entry_price numeric(20, 8), exit_price numeric(20, 8), fees numeric(20, 8),
            pnl numeric(20, 8), strategy varchar(64), account varchar(64),
            broker_order_id varchar(64), agent_votes jsonb, signals jsonb,
            model_version varchar(132), confidence numeric(5, 4)
        )
    """


# -- running and timing ---------------------------------------------------------------


@dataclass
class Timed:
    seconds: float
    stdout: str
    stderr: str


def timed(command: list[str], env: dict, timeout: float, what: str) -> Timed:
    """Run a command to completion; its wall-clock time, or stop the benchmark."""
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{what}: took longer than {timeout:.0f} s; stopped") from None
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return Timed(seconds, result.stdout, result.stderr)


def run_child(module: str, args: list[str], env: dict, timeout: float, what: str):
    """Run ``python -m module --child ...``; its wall-clock time and its JSON answer."""
    run = timed([sys.executable, "-m", module, "--child", *args], env, timeout, what)
    return run.seconds, json.loads(run.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    return statistics.median(values)


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else math.inf


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- trade files ------------------------------------------------------------------------

SYMBOLS = {
    "AAPL": 190.0,
    "MSFT": 410.0,
    "NVDA": 120.0,
    "AMZN": 180.0,
    "GOOGL": 165.0,
    "META": 500.0,
    "TSLA": 220.0,
    "JPM": 200.0,
    "XOM": 115.0,
    "SPY": 560.0,
    "QQQ": 480.0,
    "IWM": 210.0,
    "ES=F": 5600.0,
    "NQ=F": 19800.0,
    "CL=F": 75.0,
    "GC=F": 2400.0,
    "EURUSD": 1.09,
    "GBPUSD": 1.27,
    "BTC-USD": 64000.0,
    "ETH-USD": 3100.0,
}
STRATEGIES = ("momentum", "mean-reversion", "breakout", "pairs", "news-drift", "")
ACCOUNTS = ("ACC-001", "ACC-002", "ACC-003", "ACC-004", "ACC-005", "ACC-006")
MODEL_VERSIONS = ("direction-xgb@3", "direction-xgb@4", "regime-lstm@1", "")
OPEN_SHARE = 0.05  # trades still open at export time: no closed_at, exit_price, pnl


@dataclass
class TradeFile:
    path: Path
    rows: int
    closed: int
    seconds: float

    @property
    def megabytes(self) -> float:
        return self.path.stat().st_size / 1e6


def _json_pools(rng: random.Random) -> tuple[list[str], list[str]]:
    votes, signals = [], []
    opinions = ("long", "short", "flat")
    for _ in range(512):
        votes.append(
            json.dumps(
                {
                    "trend": rng.choice(opinions),
                    "mean_revert": rng.choice(opinions),
                    "risk": rng.choice(("ok", "reduce")),
                }
            )
        )
        signals.append(
            json.dumps(
                {
                    "rsi": round(rng.uniform(5, 95), 1),
                    "zscore": round(rng.gauss(0, 1.2), 3),
                    "atr": round(rng.uniform(0.1, 4), 3),
                    "regime": rng.choice(("trend", "range", "volatile")),
                }
            )
        )
    return votes, signals


def _csv_cell(text: str) -> str:
    """One CSV cell as csv.writer writes it (quoted when it must be)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def generate_trades(
    path: Path, rows: int, *, seed: int = 20261124, days: int = 250, prefix: str = "BT"
) -> TradeFile:
    """Write ``rows`` trades, oldest first, over ``days`` days ending two days ago.

    Mixed symbols, strategies and accounts; 95 % closed with exit price and P&L (a small
    positive edge with noise, so the equity curve has drawdowns); small JSON votes and
    signals. Every row passes journal.domain.trade_record.parse_record. Deterministic for a seed.

    Built for speed: times come from precomputed day and clock strings (a datetime
    and isoformat per row would be most of the cost), the JSON cells are quoted once by
    csv.writer when their pools are made, and the other cells never need quoting, so a
    row is one join. The header is written by csv.writer.
    """
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    rand, log = rng.random, math.log
    votes, signals = _json_pools(rng)
    votes = [_csv_cell(v) for v in votes]
    signals = [_csv_cell(v) for v in signals]
    confidences = [f"{rng.random():.4f}" for _ in range(4096)]
    symbols = list(SYMBOLS.items())
    first = datetime.now(UTC).date() - timedelta(days=days + 2)
    day_text = [(first + timedelta(days=d)).isoformat() + "T" for d in range(days + 2)]
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00" for s in range(86400)]
    step = days * 86400 / max(rows, 1)
    closed = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerow(FIELDS)
        lines: list[str] = []
        for i in range(rows):
            symbol, price = symbols[int(rand() * 20)]
            executed = int(i * step + rand() * step)
            side = "long" if rand() < 0.55 else "short"
            if price < 1000:
                quantity = int(1 - 40 * log(1 - rand()))
            else:
                quantity = round(0.01 + rand() * 2, 2)
            # A sum of uniforms is a cheap stand-in for a normal draw.
            entry = price * (1 + 0.06 * (rand() + rand() + rand() - 1.5))
            fees = quantity * entry * 0.0002
            if rand() < OPEN_SHARE:
                closed_at = exit_text = pnl_text = ""
            else:
                closed += 1
                shut = executed + 5 + int(min(-1800 * log(1 - rand()), 86000))
                closed_at = day_text[shut // 86400] + clock[shut % 86400]
                move = 0.0004 + 0.012 * (rand() + rand() + rand() - 1.5)
                if side == "short":
                    move = -move
                exit_price = entry * (1 + move)
                exit_text = f"{exit_price:.4f}"
                pnl = (exit_price - entry) * quantity * (1 if side == "long" else -1) - fees
                pnl_text = f"{pnl:.2f}"
            # 70 % carry their initial stop, about 1 % from the entry on the losing side.
            if rand() < 0.7:
                risk = entry * (0.003 + 0.012 * rand())
                stop_text = f"{entry - risk if side == 'long' else entry + risk:.4f}"
            else:
                stop_text = ""
            lines.append(
                ",".join(
                    (
                        f"{prefix}{i:09d}",
                        day_text[executed // 86400] + clock[executed % 86400],
                        closed_at,
                        symbol,
                        side,
                        str(quantity),
                        f"{entry:.4f}",
                        exit_text,
                        f"{fees:.4f}",
                        pnl_text,
                        STRATEGIES[i % 7 % 6],
                        ACCOUNTS[int(rand() * 6)],
                        f"ORD-{i:010d}",
                        votes[i & 511],
                        signals[(i * 7) & 511],
                        MODEL_VERSIONS[i & 3],
                        confidences[i & 4095],
                        stop_text,
                        "",  # idea_id: bots' trades without an idea
                    )
                )
            )
            if i == 0 and len(next(csv.reader(lines))) != len(FIELDS):
                raise AssertionError("generate_trades: a row's width is not the header's")
            if len(lines) == 10_000:
                lines.append("")
                handle.write("\n".join(lines))
                lines = []
        if lines:
            lines.append("")
            handle.write("\n".join(lines))
    return TradeFile(path, rows, closed, time.perf_counter() - started)


def print_table(header: tuple[str, ...], rows: list[tuple], widths: tuple[int, ...]) -> None:
    """A plain table: the first column left-aligned, the others right-aligned."""

    def line(cells):
        out = []
        for n, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            out.append(f"{cell:<{width}}" if n == 0 else f"{cell:>{width}}")
        return " ".join(out).rstrip()

    print(line(header))
    for row in rows:
        print(line(row))


# -- processes ----------------------------------------------------------------------------


def process_children() -> dict[int, list[int]]:
    """Every process's children, by parent pid, read from /proc."""
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def rss_kb(pid: int) -> int:
    """A process's resident memory (VmRSS) in kB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# -- a served stack: PostgreSQL, Redis, a model and gunicorn (bench.load, bench.soak) ------

FEATURES = [f"f{i}" for i in range(8)]


def train_model(path: Path) -> None:
    """The benchmarks' XGBoost model (120 trees, depth 5, 8 features), saved as JSON."""
    import numpy as np
    import xgboost

    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 8))
    y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] * x[:, 3] + rng.normal(size=5000) > 0).astype(int)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 5, "nthread": 1, "seed": 1},
        xgboost.DMatrix(x, label=y, feature_names=FEATURES),
        num_boost_round=120,
    )
    booster.save_model(str(path))


# The staff user of the admin scenarios and its session, made the way Django's test
# client logs in (no password exists: the account's password is unusable).
_STAFF_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user("bench-staff", is_staff=True, is_superuser=True)
user.set_unusable_password()
user.save()
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


class ServedStack(_Started):
    """The project under gunicorn as in production, on throwaway servers.

    A migrated BenchDatabase seeded with ``trades`` trades (COPY), a Redis with a
    password, one registered model (``bench``, alias production), an API key with the
    predict and trades scopes, a staff session, and gunicorn with ``workers`` sync
    workers logging JSON at INFO. ``with ServedStack() as stack:`` removes it all.
    """

    APPS = ("backoffice", "models_registry", "journal", "sessions", "admin")

    def __init__(self, *, name: str = "load", trades: int = 100_000, workers: int = 2):
        self.trades = trades
        self.workers = workers
        self.db = BenchDatabase(name=name, apps=self.APPS)
        self.redis = None
        self.server = None
        self.key = ""
        self.session = ""

    def up(self) -> None:
        from tests.harness.services import RedisServer
        from tests.support import GunicornServer

        self.db.up()
        self.redis = RedisServer().start()
        scratch = self.db.tmp / "var"
        env = {
            **self.db.env,
            "REDIS_URL": self.redis.url(),
            "REDIS_PASSWORD": self.redis.password,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MODEL_STORAGE_DIR": str(scratch / "models"),
            # The throttle stays on (its cost is part of the figures) but never trips.
            "SERVING_PREDICT_RATE": "1000000/s",
            "LOG_LEVEL": "INFO",
        }
        artifact = self.db.tmp / "model.json"
        train_model(artifact)
        self._manage(
            env, "register_model", str(artifact), "--name", "bench", "--alias", "production"
        )
        created = self._manage(
            env, "create_api_key", "bench", "--scopes", "predict,trades:write,trades:read"
        )
        self.key = created.strip().splitlines()[-1]
        self.session = self._manage(env, "shell", "-c", _STAFF_SESSION).strip().splitlines()[-1]
        self._manage(env, "collectstatic", "--noinput", "-v", "0")
        if self.trades:
            started = time.perf_counter()
            seed = generate_trades(self.db.tmp / "seed.csv", self.trades)
            self.db.load_with_copy(seed.path)
            seed.path.unlink()
            self.db.sql("ANALYZE journal_trade")
            self.seed_seconds = time.perf_counter() - started
        self.server = GunicornServer(env, scratch, workers=self.workers)
        try:
            self.server.start(timeout=90)
        except RuntimeError as exc:
            raise SystemExit(f"gunicorn did not start: {exc}") from None

    def _manage(self, env: dict[str, str], *args: str) -> str:
        return timed(
            [sys.executable, "manage.py", *args], env, timeout=300, what=f"manage.py {args[0]}"
        ).stdout

    def close(self) -> None:
        try:
            if self.server is not None:
                self.server.stop()
        finally:
            try:
                if self.redis is not None:
                    self.redis.destroy()
            finally:
                self.db.close()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def master_pid(self) -> int:
        return self.server.process.pid

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children: its workers, oldest first."""
        return sorted(process_children().get(self.master_pid, []))

    def machine_line(self) -> str:
        return self.db.machine_facts() + (
            f"\nproject: gunicorn, {self.workers} sync workers, Redis, JSON logs at INFO; "
            f"the load client runs on the same cores; {self.trades:,} trades seeded"
        )


def trades_by_day() -> list[dict]:
    """Every closed trade's figures by UTC day, straight from journal_trade (days bucketed
    with time_bucket on TimescaleDB): what the risk gate read on every idea before the
    daily rows (issue 17), kept here as the benchmarks' baseline and JIT case. It left
    the app with issue 28 (nothing there used it); tests/journal/test_timescale.py holds
    the same query as its reference."""
    from django.db import connection
    from django.db.models import DateTimeField, Func
    from django.db.models.functions import TruncDay

    from journal.analytics import aggregates, metrics, sources

    class TimeBucket(Func):
        function = "time_bucket"
        template = "%(function)s(INTERVAL '1 day', %(expressions)s)"
        output_field = DateTimeField()

    day = TimeBucket("closed_at") if sources.timescale() else TruncDay("closed_at", tzinfo=UTC)
    rows = (
        metrics.closed_trades()
        .annotate(day=day)
        .values("day")
        .annotate(
            **aggregates.trade_annotations(
                aggregates.dialect_of(connection), aggregates.TABLE_MEASURES
            )
        )
        .order_by("day")
    )
    return [
        metrics._finish(
            aggregates.normalised(
                {**row, "day": metrics._as_date(row["day"])}, aggregates.TABLE_MEASURES
            )
        )
        for row in rows
    ]
