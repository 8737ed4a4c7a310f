"""Performance figures of the journal: the report of GET /metrics, performance_report and
the dashboard, all folded from the daily rows of journal.analytics.aggregates.

The database aggregates (the daily summary or the continuous aggregates where it keeps
them, the trades otherwise: journal.analytics.sources); only rows of a day, a symbol or
a strategy reach Python, where journal.analytics.performance turns the daily series into
the equity curve, drawdown, Sharpe and Sortino. Trades count on the UTC day they closed;
open trades are not in the figures.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from journal.analytics import aggregates, excursions, performance, reviewed, sources
from journal.models import Trade, TradeStatus

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def closed_trades(queryset: QuerySet[Trade] | None = None) -> QuerySet[Trade]:
    base = Trade.objects.all() if queryset is None else queryset
    return base.filter(status=TradeStatus.CLOSED)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Add the ratios that follow from a row's counts and sums."""
    trades = row["trades"]
    row["win_rate"] = performance.ratio(row["wins"], trades)
    row["profit_factor"] = performance.profit_factor(row["gross_profit"], row["gross_loss"])
    row["expectancy"] = performance.ratio(row["net_pnl"], trades)
    return row


def summary(queryset: QuerySet[Trade] | None = None) -> dict[str, Any]:
    """The summary figures of the closed trades of ``queryset`` (see report)."""
    return report(queryset)["summary"]


# -- the report ---------------------------------------------------------------------------


def report(queryset: QuerySet[Trade] | None = None) -> dict[str, Any]:
    """The whole picture from the trades of ``queryset``: one scan grouped by day, symbol
    and strategy, rolled up here."""
    trades = closed_trades(queryset)
    groups = sources.from_trades(trades, ("closed_day", "symbol", "strategy"), aggregates.NAMES)
    report = assemble(
        days=_roll_up(groups, "closed_day", aggregates.NAMES),
        symbols=_roll_up(groups, "symbol", aggregates.TABLE_MEASURES),
        strategies=_roll_up(groups, "strategy", aggregates.TABLE_MEASURES),
    )
    return _with_trade_figures(report, trades)


def report_for(filterset) -> dict[str, Any]:
    """The report for a valid MetricsFilter: from the stored daily rows where they can
    answer (filters on closing days, symbol, strategy, account), else from the trades.
    Both give the same figures (tests/journal/test_aggregates_agree.py)."""
    where = summary_filters(filterset.form.cleaned_data)
    if where is not None and sources.stored():
        return report_of(where)
    return report(filterset.qs)


def report_of(where: sources.DayFilter) -> dict[str, Any]:
    """The report of whole days and dimension values: three reads of the daily rows."""
    report = assemble(
        days=sources.read(where, ("closed_day",)),
        symbols=sources.read(where, ("symbol",), aggregates.TABLE_MEASURES),
        strategies=sources.read(where, ("strategy",), aggregates.TABLE_MEASURES),
    )
    return _with_trade_figures(report, sources.trades_of(where))


def _with_trade_figures(report: dict[str, Any], trades) -> dict[str, Any]:
    """The figures that are not daily sums: per review grade and tag (the reviewed
    trades), and the MAE/MFE of the latest trades that the market bars cover."""
    report.update(reviewed.by_review(trades))
    report["excursions"] = excursions.recent_summary(trades)
    return report


def summary_filters(data: dict[str, Any]) -> sources.DayFilter | None:
    """The stored rows' filter for these filter values, or None when they cannot answer
    them (a side, status, model version or a review's tag, mistake or grade; a time that
    is not a UTC midnight)."""
    if any(
        data.get(name) for name in ("side", "status", "model_version", "tag", "mistake", "grade")
    ):
        return None
    days: dict[str, date] = {}
    for name in ("since", "until"):
        moment = data.get(name)
        if moment is None:
            continue
        moment = moment.astimezone(UTC)
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            return None
        days[name] = moment.date()
    values = {}
    for name in aggregates.DIMENSIONS:
        value = data.get(name)
        if value:
            values[name] = value.strip().upper() if name == "symbol" else value
    return sources.DayFilter(**days, **values)


def _roll_up(groups: list[dict[str, Any]], key: str, names) -> list[dict[str, Any]]:
    by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for group in groups:
        by_key[group[key]].append(group)
    return [{key: name, **aggregates.fold(rows, names)} for name, rows in by_key.items()]


def _ranked(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    finished = [_finish(dict(row)) for row in rows]
    return sorted(finished, key=lambda row: (-row["net_pnl"], row[key]))


def assemble(
    *, days: list[dict[str, Any]], symbols: list[dict[str, Any]], strategies: list[dict[str, Any]]
) -> dict[str, Any]:
    """The report from its daily rows (every measure) and the rows per symbol and per
    strategy (the table measures)."""
    days = sorted(days, key=lambda row: row["closed_day"])
    total = aggregates.fold(days)
    daily = [row["net_pnl"] for row in days]
    by_day = []
    for row, level, fall in zip(
        days, performance.equity_curve(daily), performance.drawdowns(daily), strict=True
    ):
        out = {"day": _as_date(row["closed_day"])}
        out.update({name: row[name] for name in (*aggregates.TABLE_MEASURES, *DAY_EXTRAS)})
        out.update(equity=level, drawdown=fall)
        by_day.append(_finish(out))
    return {
        "summary": _summary(total, daily),
        "by_day": by_day,
        "by_symbol": _ranked(symbols, "symbol"),
        "by_strategy": _ranked(strategies, "strategy"),
        "by_side": by_side(total),
        "by_weekday": by_weekday(by_day),
        "by_hour": by_hour(total),
        "r_histogram": r_histogram(total),
    }


# A day's figures beside its table measures: what its winning or losing days held
# (journal.analytics.comparisons).
DAY_EXTRAS = ("holding_seconds", "r_trades", "r_sum")
# The measures the summary figures need (not the hours or the R histogram's buckets).
SUMMARY_MEASURES = (
    *aggregates.TABLE_MEASURES,
    "largest_win",
    "largest_loss",
    "holding_seconds",
    "r_trades",
    "r_sum",
    "r_wins",
    "r_win_sum",
    "r_losses",
    "r_loss_sum",
)


def summary_of_days(days: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary figures (as report()["summary"]) of daily rows holding at least
    SUMMARY_MEASURES: a period's headline figures without its tables."""
    days = sorted(days, key=lambda row: row["closed_day"])
    return _summary(aggregates.fold(days, SUMMARY_MEASURES), [row["net_pnl"] for row in days])


def _summary(total: dict[str, Any], daily: list[Decimal]) -> dict[str, Any]:
    row = {name: total[name] for name in aggregates.TABLE_MEASURES}
    trades = row["trades"]
    r_trades = total["r_trades"]
    row.update(
        average_win=performance.ratio(row["gross_profit"], row["wins"]),
        average_loss=performance.ratio(row["gross_loss"], row["losses"]),
        largest_win=total["largest_win"],
        largest_loss=total["largest_loss"],
        average_holding=(
            timedelta(seconds=float(total["holding_seconds"] / trades)) if trades else None
        ),
        max_drawdown=performance.max_drawdown(daily),
        sharpe=performance.sharpe(daily),
        sortino=performance.sortino(daily),
        days=len(daily),
        r_trades=r_trades,
        # The mean R-multiple per trade with a stop: Van Tharp's expectancy in R.
        expectancy_r=performance.ratio(total["r_sum"], r_trades),
        average_win_r=performance.ratio(total["r_win_sum"], total["r_wins"]),
        average_loss_r=performance.ratio(total["r_loss_sum"], total["r_losses"]),
    )
    return _finish(row)


def _row(name: str, label: Any, trades: int, wins: int, net: Decimal) -> dict[str, Any]:
    """One row of a breakdown: its label, trades, wins, net P&L, win rate, expectancy."""
    return {
        name: label,
        "trades": trades,
        "wins": wins,
        "net_pnl": net,
        "win_rate": performance.ratio(wins, trades),
        "expectancy": performance.ratio(net, trades),
    }


def by_side(total: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _row("side", side, total[f"{side}_trades"], total[f"{side}_wins"], total[f"{side}_net_pnl"])
        for side in ("long", "short")
    ]


def by_weekday(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per weekday of the closing day: the days traded, trades, wins, net P&L."""
    rows = [
        {"weekday": name, "days": 0, "trades": 0, "wins": 0, "net_pnl": Decimal(0)}
        for name in WEEKDAYS
    ]
    for day in days:
        row = rows[day["day"].weekday()]
        row["days"] += 1
        row["trades"] += day["trades"]
        row["wins"] += day["wins"]
        row["net_pnl"] += day["net_pnl"]
    for row in rows:
        row["win_rate"] = performance.ratio(row["wins"], row["trades"])
        row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
    return rows


def by_hour(total: dict[str, Any]) -> list[dict[str, Any]]:
    """Per UTC hour the trades were opened in: trades, wins, net P&L."""
    return [
        _row(
            "hour",
            hour,
            total[f"hour_{hour:02d}_trades"],
            total[f"hour_{hour:02d}_wins"],
            total[f"hour_{hour:02d}_net_pnl"],
        )
        for hour in aggregates.HOURS
    ]


def r_histogram(total: dict[str, Any]) -> list[dict[str, Any]]:
    """Trades with a stop per half-R bucket; the first and last buckets are open."""
    rows = []
    for n in range(aggregates.R_BUCKETS + 2):
        low = None if n == 0 else aggregates.R_LOW + (n - 1) * aggregates.R_WIDTH
        high = None if n == aggregates.R_BUCKETS + 1 else aggregates.R_LOW + n * aggregates.R_WIDTH
        rows.append(
            {
                "low": None if low is None else Decimal(low),
                "high": None if high is None else Decimal(high),
                "trades": total[f"r_bucket_{n:02d}"],
            }
        )
    return rows


def as_date(value) -> date:
    """A closing day as a date (a database may give it as a UTC midnight)."""
    return _as_date(value)


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
    """Daily net P&L and counts by closing day: [{day, trades, wins, losses, net_pnl}],
    oldest first; ``until`` is exclusive.

    From the daily rows the database keeps (the continuous aggregate on TimescaleDB, the
    daily summary on plain PostgreSQL; on SQLite the trades), at the grain of the
    filters given: with none, one row a day.
    """
    where = sources.DayFilter(since, until, symbol, strategy, account)
    names = ("trades", "wins", "losses", "net_pnl")
    return [
        {"day": _as_date(row["closed_day"]), **{name: row[name] for name in names}}
        for row in sources.read(where, ("closed_day",), names)
    ]
