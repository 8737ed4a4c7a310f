"""Where the daily rows of journal.analytics.aggregates are read from.

- plain PostgreSQL: the daily summary that triggers keep (journal.analytics.summary);
- TimescaleDB: the continuous aggregate of the grain (journal.timescale);
- elsewhere (SQLite), or for filters the rows cannot answer (a side, a model version,
  a time that is not a UTC midnight): the trades themselves, grouped the same way.

Every read takes the smallest grain that keeps the dimensions it filters or groups on,
so that a dashboard with no filter reads one row a day. All three give the same rows
(tests/journal/test_aggregates_agree.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from backoffice.db.routers import read_connection as connection  # routed reads
from journal.analytics import aggregates
from journal.analytics import summary as daily_summary


@dataclass(frozen=True)
class DayFilter:
    """Whole UTC days (``until`` exclusive) and dimension values (None: any)."""

    since: date | None = None
    until: date | None = None
    symbol: str | None = None
    strategy: str | None = None
    account: str | None = None

    @property
    def dimensions(self) -> tuple[str, ...]:
        return tuple(d for d in aggregates.DIMENSIONS if getattr(self, d) is not None)


def timescale() -> bool:
    return connection.vendor == "postgresql" and getattr(connection, "timescale_installed", False)


def stored() -> bool:
    """True where the database keeps the daily rows (the summary or the aggregates)."""
    return timescale() or daily_summary.available()


def read(
    where: DayFilter,
    by: tuple[str, ...] = ("closed_day",),
    names: tuple[str, ...] = aggregates.NAMES,
) -> list[dict[str, Any]]:
    """The measures ``names`` folded per ``by`` (closed_day and/or dimensions) for the
    trades that ``where`` selects, from the stored rows where there are some, else from
    the trades."""
    if not stored():
        return from_trades(trades_of(where), by, names)
    grain = aggregates.grain_for((*where.dimensions, *(d for d in by if d != "closed_day")))
    conditions, params = [], []
    if timescale():
        from journal.timescale import CAGG_VIEWS

        relation = CAGG_VIEWS[grain]
    else:
        relation = daily_summary.TABLE
        conditions.append("grain = %s")
        params.append(aggregates.GRAIN_CODES[grain])
    clause, more = daily_summary.day_filters(
        where.since, where.until, where.symbol, where.strategy, where.account
    )
    if clause:
        conditions.append(clause.removeprefix("WHERE "))
        params += more
    keys = ", ".join(by)
    sql = f"""
        SELECT {keys}, {aggregates.fold_sql(names)} FROM {relation}
        {"WHERE " + " AND ".join(conditions) if conditions else ""}
        GROUP BY {keys} ORDER BY {keys}
    """  # noqa: S608 - names come from aggregates, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return [aggregates.normalised(row, names) for row in rows]


def from_trades(queryset, by: tuple[str, ...], names: tuple[str, ...] = aggregates.NAMES):
    """The same rows straight from a queryset of trades (its closed ones)."""
    from journal.models import TradeStatus

    dialect = aggregates.dialect_of(connection)
    rows = (
        queryset.filter(status=TradeStatus.CLOSED)
        .annotate(closed_day=aggregates.day_expression(dialect))
        .values(*by)
        .annotate(**aggregates.trade_annotations(dialect, names))
        .order_by(*by)
    )
    return [aggregates.normalised(row, names) for row in rows]


def trades_of(where: DayFilter):
    """The trades of ``where`` (closed on its days, of its dimension values)."""
    from journal.models import Trade

    queryset = Trade.objects.all()
    if where.since:
        queryset = queryset.filter(closed_at__gte=midnight(where.since))
    if where.until:
        queryset = queryset.filter(closed_at__lt=midnight(where.until))
    for name in aggregates.DIMENSIONS:
        value = getattr(where, name)
        if value is not None:
            queryset = queryset.filter(**{name: value})
    return queryset


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
