"""Performance figures of the journal, computed in SQL.

The database aggregates (counts, sums, extremes, per day / symbol / strategy); only the
per-day series, one row a day, reaches Python for the equity curve, drawdown, Sharpe
and Sortino (journal.analytics.performance). Days are bucketed with time_bucket on TimescaleDB
and date_trunc elsewhere. Trades count on the UTC day they closed; open trades are
not in the figures.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDay

from journal.analytics import performance
from journal.analytics import summary as daily_summary
from journal.models import Trade, TradeStatus
from journal.timescale import DAILY_PNL_VIEW

ZERO = Value(Decimal(0))
AGGREGATES = {
    "trades": Count("id"),
    "wins": Count("id", filter=Q(pnl__gt=0)),
    "losses": Count("id", filter=Q(pnl__lt=0)),
    "net_pnl": Coalesce(Sum("pnl"), ZERO),
    "gross_profit": Coalesce(Sum("pnl", filter=Q(pnl__gt=0)), ZERO),
    "gross_loss": Coalesce(Sum("pnl", filter=Q(pnl__lt=0)), ZERO),
}


class TimeBucket(Func):
    """TimescaleDB's time_bucket('1 day', <column>)."""

    function = "time_bucket"
    template = "%(function)s(INTERVAL '1 day', %(expressions)s)"
    output_field = DateTimeField()


def closed_trades(queryset: QuerySet[Trade] | None = None) -> QuerySet[Trade]:
    base = Trade.objects.all() if queryset is None else queryset
    return base.filter(status=TradeStatus.CLOSED)


def _day_expression():
    if connection.vendor == "postgresql" and getattr(connection, "timescale_installed", False):
        return TimeBucket("closed_at")
    return TruncDay("closed_at", tzinfo=UTC)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Add the ratios that follow from a row's counts and sums."""
    trades = row["trades"]
    row["win_rate"] = performance.ratio(row["wins"], trades)
    row["profit_factor"] = performance.profit_factor(row["gross_profit"], row["gross_loss"])
    row["expectancy"] = performance.ratio(row["net_pnl"], trades)
    return row


def summary(queryset: QuerySet[Trade] | None = None) -> dict[str, Any]:
    """Count, wins, losses, sums, extremes and averages of the closed trades."""
    holding = ExpressionWrapper(F("closed_at") - F("executed_at"), output_field=DurationField())
    row = closed_trades(queryset).aggregate(
        **AGGREGATES,
        average_win=Avg("pnl", filter=Q(pnl__gt=0)),
        average_loss=Avg("pnl", filter=Q(pnl__lt=0)),
        largest_win=Max("pnl", filter=Q(pnl__gt=0)),
        largest_loss=Min("pnl", filter=Q(pnl__lt=0)),
        average_holding=Avg(holding),
    )
    return _finish(row)


def by_day(queryset: QuerySet[Trade] | None = None) -> list[dict[str, Any]]:
    """One row per UTC day with closed trades, oldest first."""
    rows = (
        closed_trades(queryset)
        .annotate(day=_day_expression())
        .values("day")
        .annotate(**AGGREGATES)
        .order_by("day")
    )
    return [_finish({**row, "day": _as_date(row["day"])}) for row in rows]


def by_field(queryset: QuerySet[Trade] | None, field: str) -> list[dict[str, Any]]:
    """One row per symbol or strategy, best net P&L first."""
    if field not in {"symbol", "strategy", "account", "side"}:
        raise ValueError(f"cannot group by {field!r}")
    rows = closed_trades(queryset).values(field).annotate(**AGGREGATES).order_by("-net_pnl", field)
    return [_finish(dict(row)) for row in rows]


SUMS = ("trades", "wins", "losses", "net_pnl", "gross_profit", "gross_loss")


def _grouped(queryset: QuerySet[Trade] | None) -> list[dict[str, Any]]:
    """One scan of the closed trades, grouped by (day, symbol, strategy).

    Every figure of the report is a sum, a count or an extreme of these groups, so the
    table is read once however many views of it the report shows.
    """
    holding = ExpressionWrapper(F("closed_at") - F("executed_at"), output_field=DurationField())
    return list(
        closed_trades(queryset)
        .annotate(day=_day_expression())
        .values("day", "symbol", "strategy")
        .annotate(**AGGREGATES, highest=Max("pnl"), lowest=Min("pnl"), holding=Sum(holding))
        .order_by()
    )


def _roll_up(groups: list[dict[str, Any]], key: str | None) -> dict[Any, dict[str, Any]]:
    totals: dict[Any, dict[str, Any]] = {}
    for group in groups:
        name = group[key] if key else None
        row = totals.get(name)
        if row is None:
            totals[name] = row = {**({key: name} if key else {}), **dict.fromkeys(SUMS, 0)}
        for field in SUMS:
            row[field] += group[field]
    return totals


def _total(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The sums of all groups, with the extremes and the holding time."""
    row = _roll_up(groups, None).get(None) or dict.fromkeys(SUMS, 0)
    row["highest"] = max((g["highest"] for g in groups), default=None)
    row["lowest"] = min((g["lowest"] for g in groups), default=None)
    row["holding"] = sum((g["holding"] for g in groups if g["holding"] is not None), timedelta())
    return row


def _summary_row(total: dict[str, Any]) -> dict[str, Any]:
    row = {field: total[field] for field in SUMS}
    for field in ("net_pnl", "gross_profit", "gross_loss"):
        row[field] = Decimal(row[field])
    highest, lowest = total["highest"], total["lowest"]
    row.update(
        average_win=performance.ratio(row["gross_profit"], row["wins"]),
        average_loss=performance.ratio(row["gross_loss"], row["losses"]),
        largest_win=highest if highest is not None and highest > 0 else None,
        largest_loss=lowest if lowest is not None and lowest < 0 else None,
        average_holding=total["holding"] / row["trades"] if row["trades"] else None,
    )
    return _finish(row)


def report(queryset: QuerySet[Trade] | None = None) -> dict[str, Any]:
    """The whole picture: summary, the daily series and what follows from it, groups."""
    groups = _grouped(queryset)
    for group in groups:
        group["day"] = _as_date(group["day"])
    return _report_from(groups)


def report_for(filterset) -> dict[str, Any]:
    """The report for a valid MetricsFilter: from the daily summary where it can answer
    (plain PostgreSQL; filters on closing days, symbol, strategy, account), else from
    the trades. Both give the same figures (tests/journal/test_summary.py)."""
    filters = summary_filters(filterset.form.cleaned_data)
    if filters is not None and daily_summary.available():
        rolled = daily_summary.rollups(**filters)
        if rolled["total"].get("trades"):
            return _assemble(rolled["day"], rolled["symbol"], rolled["strategy"], rolled["total"])
        return _report_from([])
    return report(filterset.qs)


def summary_filters(data: dict[str, Any]) -> dict[str, Any] | None:
    """The summary's arguments for these filter values, or None when it cannot answer
    them (a side, status or model version; a time that is not a UTC midnight)."""
    if any(data.get(name) for name in ("side", "status", "model_version")):
        return None
    filters: dict[str, Any] = {}
    for name in ("since", "until"):
        moment = data.get(name)
        if moment is None:
            continue
        moment = moment.astimezone(UTC)
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            return None
        filters[name] = moment.date()
    for name in ("symbol", "strategy", "account"):
        value = data.get(name)
        if value:
            filters[name] = value.strip().upper() if name == "symbol" else value
    return filters


def _report_from(groups: list[dict[str, Any]]) -> dict[str, Any]:
    return _assemble(
        _roll_up(groups, "day"),
        _roll_up(groups, "symbol"),
        _roll_up(groups, "strategy"),
        _total(groups),
    )


def _assemble(
    by_day: dict[Any, dict[str, Any]],
    by_symbol: dict[Any, dict[str, Any]],
    by_strategy: dict[Any, dict[str, Any]],
    total: dict[str, Any],
) -> dict[str, Any]:
    """The report from its roll-ups (each a name -> sums mapping) and the total."""
    days = [_finish(row) for _, row in sorted(by_day.items())]
    daily = [row["net_pnl"] for row in days]
    result = _summary_row(total)
    result.update(
        max_drawdown=performance.max_drawdown(daily),
        sharpe=performance.sharpe(daily),
        sortino=performance.sortino(daily),
        days=len(days),
    )
    equity = performance.equity_curve(daily)
    drawdown = performance.drawdowns(daily)
    for row, level, fall in zip(days, equity, drawdown, strict=True):
        row["equity"] = level
        row["drawdown"] = fall

    def ranked(rolled: dict[Any, dict[str, Any]], key: str) -> list[dict[str, Any]]:
        rows = [_finish(row) for row in rolled.values()]
        return sorted(rows, key=lambda row: (-row["net_pnl"], row[key]))

    return {
        "summary": result,
        "by_day": days,
        "by_symbol": ranked(by_symbol, "symbol"),
        "by_strategy": ranked(by_strategy, "strategy"),
    }


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def daily_pnl(
    *,
    since: date | None = None,
    until: date | None = None,
    symbol: str | None = None,
    strategy: str | None = None,
    account: str | None = None,
) -> list[dict[str, Any]]:
    """Daily net P&L and counts by closing day, for the dashboard.

    On TimescaleDB it reads the continuous aggregate (journal_daily_pnl), on plain
    PostgreSQL the daily summary (journal_daily_summary); on SQLite the same figures come
    from the trades table. ``until`` is exclusive.
    """
    if connection.vendor == "postgresql" and getattr(connection, "timescale_installed", False):
        return _daily_pnl_from_view(DAILY_PNL_VIEW, since, until, symbol, strategy, account)
    if daily_summary.available():  # the same columns, kept by triggers
        return _daily_pnl_from_view(daily_summary.TABLE, since, until, symbol, strategy, account)
    queryset = Trade.objects.all()
    if since:
        queryset = queryset.filter(closed_at__gte=_midnight(since))
    if until:
        queryset = queryset.filter(closed_at__lt=_midnight(until))
    for name, value in (("symbol", symbol), ("strategy", strategy), ("account", account)):
        if value is not None:
            queryset = queryset.filter(**{name: value})
    return [
        {key: row[key] for key in ("day", "trades", "wins", "losses", "net_pnl")}
        for row in by_day(queryset)
    ]


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _daily_pnl_from_view(
    table: str, since, until, symbol, strategy, account
) -> list[dict[str, Any]]:
    where, params = daily_summary.day_filters(since, until, symbol, strategy, account)
    sql = f"""
        SELECT closed_day, sum(trades), sum(wins), sum(losses), coalesce(sum(net_pnl), 0)
        FROM {table} {where}
        GROUP BY closed_day ORDER BY closed_day
    """  # noqa: S608 - column names are fixed above, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            {
                "day": day,
                "trades": int(trades),
                "wins": int(wins),
                "losses": int(losses),
                "net_pnl": net,
            }
            for day, trades, wins, losses, net in cursor.fetchall()
        ]
