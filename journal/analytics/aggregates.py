"""What is summed and counted per day: the one definition of the journal's aggregates.

Every figure of the journal's reports (GET /metrics, performance_report, the dashboard,
the risk gate's daily P&L) is a fold of rows that each hold, for one closing day (UTC)
and one grain of (symbol, strategy, account), the MEASURES below over the closed trades.
This module says once what each measure is, and derives from it:

- ``select_sql`` / ``grouping_sets_sql``: the rows straight from trades (or a trigger's
  transition table), for the daily summary of plain PostgreSQL
  (journal.analytics.summary) and its rebuilds;
- ``cagg_sql``: the continuous aggregates of TimescaleDB (journal.timescale), one per grain;
- ``fold_sql``: how stored rows of the same key combine (the summary's compaction and
  every read of the summary or the aggregates);
- ``trade_annotations``: the same measures as Django expressions over a queryset of
  trades (any database: PostgreSQL, TimescaleDB, SQLite);
- ``fold``: the same combination in Python.

Per trade: its day is the UTC day it closed; its hour the UTC hour it was opened; its
holding time closed_at - executed_at in seconds; its R-multiple as
journal.domain.r_multiple defines it (R_SQL), for trades with an initial risk.
R-multiples are counted in R_BUCKETS half-R buckets from -3 R to +5 R, with one bucket
below and one above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from journal.domain.r_multiple import R_SQL

# R histogram: width_bucket(r, R_LOW, R_HIGH, R_BUCKETS) gives 0 below R_LOW, 1..R_BUCKETS
# inside, R_BUCKETS + 1 from R_HIGH up.
R_LOW, R_HIGH, R_BUCKETS = -3, 5, 16
R_WIDTH = Decimal(R_HIGH - R_LOW) / R_BUCKETS
HOURS = range(24)

# The per-trade expressions each measure is written with, in each SQL dialect. Column
# names are unqualified: the source is journal_trade, a transition table with its
# columns, or a queryset of trades.
_R = R_SQL  # journal.domain.r_multiple: the one definition of R
DIALECTS = {
    "postgresql": {
        "sum": "sum",
        "day": "(closed_at AT TIME ZONE 'UTC')::date",
        "hour": "extract(hour FROM executed_at AT TIME ZONE 'UTC')",
        "holding": "extract(epoch FROM closed_at - executed_at)",
        "r": _R,
        "bucket": f"width_bucket({_R}, {R_LOW}, {R_HIGH}, {R_BUCKETS})",
    },
    # Django keeps times as UTC text and decimals as numbers; "%%" is a literal "%" in
    # SQL that goes through a cursor with parameters.
    "sqlite": {
        # Money is summed exactly (backoffice.core.db.money): SQLite's own sum adds floats.
        "sum": "decimal_sum",
        "day": "date(closed_at)",
        "hour": "CAST(strftime('%%H', executed_at) AS INTEGER)",
        "holding": "round((julianday(closed_at) - julianday(executed_at)) * 86400.0, 3)",
        "r": _R,
        "bucket": (
            f"(CASE WHEN {_R} < {R_LOW} THEN 0 WHEN {_R} >= {R_HIGH} THEN {R_BUCKETS + 1} "
            f"ELSE CAST(({_R} - ({R_LOW})) / {R_WIDTH} AS INTEGER) + 1 END)"
        ),
    },
}


@dataclass(frozen=True)
class Measure:
    """One column of the daily rows: an SQL aggregate over closed trades and its fold."""

    name: str
    aggregate: str  # with {sum} {day} {hour} {holding} {r} {bucket} of DIALECTS
    fold: str = "sum"  # how rows of the same key combine: sum, max or min
    kind: str = "count"  # count (whole number), money, decimal (R), seconds

    def sql(self, dialect: str = "postgresql") -> str:
        return self.aggregate.format(**DIALECTS[dialect])


def _measures() -> tuple[Measure, ...]:
    m = [
        Measure("trades", "count(*)"),
        Measure("wins", "count(*) FILTER (WHERE pnl > 0)"),
        Measure("losses", "count(*) FILTER (WHERE pnl < 0)"),
        Measure("net_pnl", "coalesce({sum}(pnl), 0)", kind="money"),
        Measure("gross_profit", "coalesce({sum}(pnl) FILTER (WHERE pnl > 0), 0)", kind="money"),
        Measure("gross_loss", "coalesce({sum}(pnl) FILTER (WHERE pnl < 0), 0)", kind="money"),
        Measure("largest_win", "max(pnl) FILTER (WHERE pnl > 0)", "max", "money"),
        Measure("largest_loss", "min(pnl) FILTER (WHERE pnl < 0)", "min", "money"),
        Measure("holding_seconds", "coalesce(sum({holding}), 0)", kind="seconds"),
    ]
    for side in ("long", "short"):
        where = f"side = '{side}'"
        m += [
            Measure(f"{side}_trades", f"count(*) FILTER (WHERE {where})"),
            Measure(f"{side}_wins", f"count(*) FILTER (WHERE {where} AND pnl > 0)"),
            Measure(
                f"{side}_net_pnl", f"coalesce({{sum}}(pnl) FILTER (WHERE {where}), 0)", kind="money"
            ),
        ]
    m += [
        Measure("r_trades", "count({r})"),
        Measure("r_sum", "coalesce(sum({r}), 0)", kind="decimal"),
        Measure("r_wins", "count(*) FILTER (WHERE {r} > 0)"),
        Measure("r_win_sum", "coalesce(sum({r}) FILTER (WHERE {r} > 0), 0)", kind="decimal"),
        Measure("r_losses", "count(*) FILTER (WHERE {r} < 0)"),
        Measure("r_loss_sum", "coalesce(sum({r}) FILTER (WHERE {r} < 0), 0)", kind="decimal"),
    ]
    m += [
        Measure(f"r_bucket_{n:02d}", f"count(*) FILTER (WHERE {{bucket}} = {n})")
        for n in range(R_BUCKETS + 2)
    ]
    for hour in HOURS:
        where = f"{{hour}} = {hour}"
        m += [
            Measure(f"hour_{hour:02d}_trades", f"count(*) FILTER (WHERE {where})"),
            Measure(f"hour_{hour:02d}_wins", f"count(*) FILTER (WHERE {where} AND pnl > 0)"),
            Measure(
                f"hour_{hour:02d}_net_pnl",
                f"coalesce({{sum}}(pnl) FILTER (WHERE {where}), 0)",
                kind="money",
            ),
        ]
    return tuple(m)


MEASURES = _measures()
BY_NAME = {measure.name: measure for measure in MEASURES}
NAMES = tuple(BY_NAME)
# The measures of a table per symbol or strategy (the rest is for the whole selection).
TABLE_MEASURES = ("trades", "wins", "losses", "net_pnl", "gross_profit", "gross_loss")

# Grains: the dimensions a row keeps beside its day. A read takes the smallest grain
# that holds every dimension it filters or groups on: with no filter it reads one row a
# day, not one per symbol, strategy and account.
DIMENSIONS = ("symbol", "strategy", "account")
GRAINS: dict[str, tuple[str, ...]] = {
    "key": DIMENSIONS,
    "symbol": ("symbol",),
    "strategy": ("strategy",),
    "account": ("account",),
    "day": (),
}
# GROUPING(symbol, strategy, account) of each grain's rows: a bit for each dimension
# that is rolled up (symbol 4, strategy 2, account 1).
GRAIN_CODES = {
    name: sum(4 >> DIMENSIONS.index(d) for d in DIMENSIONS if d not in dims)
    for name, dims in GRAINS.items()
}


def grain_for(dimensions: Iterable[str]) -> str:
    """The smallest grain whose rows keep every one of ``dimensions``."""
    wanted = set(dimensions)
    unknown = wanted - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"no grain keeps {sorted(unknown)}")
    if not wanted:
        return "day"
    if len(wanted) == 1:
        return next(iter(wanted))
    return "key"


# -- SQL -------------------------------------------------------------------------------


def measures_sql(dialect: str = "postgresql") -> str:
    return ",\n       ".join(f"{m.sql(dialect)} AS {m.name}" for m in MEASURES)


def columns_ddl() -> str:
    """The measure columns of a summary table."""
    types = {"count": "bigint NOT NULL", "money": "numeric", "decimal": "numeric NOT NULL"}
    types["seconds"] = "numeric NOT NULL"
    out = []
    for m in MEASURES:
        kind = types[m.kind]
        if m.kind == "money" and m.fold == "sum":
            kind = "numeric NOT NULL"
        out.append(f"{m.name} {kind}")
    return ",\n    ".join(out)


def grouping_sets_sql(source: str, where: str = "TRUE") -> str:
    """The summary rows of every grain (GROUPING SETS, one pass) of the closed trades in
    ``source``: grain code, closed_day, symbol, strategy, account, the measures."""
    day = DIALECTS["postgresql"]["day"]
    sets = ", ".join("(" + ", ".join(("closed_day", *dims)) + ")" for dims in GRAINS.values())
    return f"""
        SELECT GROUPING(symbol, strategy, account), closed_day, symbol, strategy, account,
               {measures_sql()}
        FROM (SELECT *, {day} AS closed_day FROM {source}
              WHERE status = 'closed' AND ({where})) AS closed
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 - fixed names


# The continuous aggregate of each grain on TimescaleDB (journal.timescale creates them;
# the reads here and in journal.selectors read them by these names).
DAILY_PNL_VIEW = "journal_daily_pnl"
CAGG_VIEWS = {
    grain: DAILY_PNL_VIEW if grain == "key" else f"{DAILY_PNL_VIEW}_{grain}" for grain in GRAINS
}


def cagg_sql(view: str, grain: str) -> str:
    """The continuous aggregate of one grain. It must bucket on the hypertable's time
    column (executed_at); the rows are read by closed_day, so a read folds the rows of
    the opening days of each closing day."""
    dims = GRAINS[grain]
    keys = ", ".join(("opened_day", "closed_day", *dims))
    columns = "".join(f"{d}, " for d in dims)
    return f"""
        CREATE MATERIALIZED VIEW IF NOT EXISTS {view}
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT time_bucket('1 day', executed_at) AS opened_day,
               {DIALECTS["postgresql"]["day"]} AS closed_day, {columns}
               {measures_sql()}
        FROM journal_trade
        WHERE status = 'closed'
        GROUP BY {keys}
        WITH NO DATA
    """  # noqa: S608 - fixed names


def fold_sql(names: Iterable[str] = NAMES) -> str:
    """The folds of stored rows, e.g. ``sum(trades) AS trades, max(largest_win) AS ...``."""
    return ", ".join(f"{BY_NAME[n].fold}({n}) AS {n}" for n in names)


# -- Django ------------------------------------------------------------------------------


def trade_annotations(dialect: str, names: Iterable[str] = NAMES) -> dict[str, Any]:
    """The measures as aggregate expressions over a queryset of trades (closed ones)."""
    from django.db.models import DecimalField, FloatField, IntegerField

    from backoffice.core.db.money import DecimalResult

    fields = {
        "count": IntegerField(),
        "money": DecimalResult(),  # exact on SQLite too: its sums come back as text
        "decimal": DecimalField(max_digits=40, decimal_places=12),
        "seconds": FloatField() if dialect == "sqlite" else DecimalField(),
    }
    return {n: RawAggregate(BY_NAME[n].sql(dialect), fields[BY_NAME[n].kind]) for n in names}


def day_expression(dialect: str):
    """The closing day of a trade (UTC), for .values() of a queryset of trades."""
    from django.db.models import DateField
    from django.db.models.expressions import RawSQL

    return RawSQL(DIALECTS[dialect]["day"], [], output_field=DateField())  # noqa: S611 - fixed SQL


def dialect_of(connection) -> str:
    return "sqlite" if connection.vendor == "sqlite" else "postgresql"


def _raw_aggregate():
    from django.db.models import Expression

    class _RawAggregate(Expression):
        """An aggregate written in SQL: Django groups by the other columns, not by it."""

        contains_aggregate = True

        def __init__(self, sql: str, output_field):
            super().__init__(output_field=output_field)
            self.sql = sql

        def as_sql(self, compiler, connection):
            return self.sql, []

        def get_group_by_cols(self):
            return []

    return _RawAggregate


class _LazyRawAggregate:
    """RawAggregate is built on first use: this module imports without Django."""

    cls = None

    def __call__(self, sql: str, output_field):
        if self.cls is None:
            self.cls = _raw_aggregate()
        return self.cls(sql, output_field)


RawAggregate = _LazyRawAggregate()


# -- Python ------------------------------------------------------------------------------


def empty() -> dict[str, Any]:
    """The measures of no trade at all."""
    row: dict[str, Any] = {}
    for m in MEASURES:
        if m.fold != "sum":
            row[m.name] = None
        elif m.kind == "count":
            row[m.name] = 0
        else:
            row[m.name] = Decimal(0)
    return row


def fold(rows: Iterable[dict[str, Any]], names: Iterable[str] = NAMES) -> dict[str, Any]:
    """Combine rows of measures (from any source) into one: sums, extremes."""
    names = tuple(names)
    total = {n: empty()[n] for n in names}
    for row in rows:
        for n in names:
            value = row[n]
            if value is None:
                continue
            how = BY_NAME[n].fold
            if how == "sum":
                total[n] = total[n] + _number(value, BY_NAME[n].kind)
            elif total[n] is None:
                total[n] = _number(value, BY_NAME[n].kind)
            elif how == "max":
                total[n] = max(total[n], _number(value, BY_NAME[n].kind))
            else:
                total[n] = min(total[n], _number(value, BY_NAME[n].kind))
    return total


def normalised(row: dict[str, Any], names: Iterable[str] = NAMES) -> dict[str, Any]:
    """A row's measures as Python numbers of one type each (int counts, Decimals)."""
    out = dict(row)
    for n in names:
        if row.get(n) is not None:
            out[n] = _number(row[n], BY_NAME[n].kind)
    return out


def _number(value, kind: str):
    if kind == "count":
        return int(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value if isinstance(value, Decimal) else Decimal(value)
