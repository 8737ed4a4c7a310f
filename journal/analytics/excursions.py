"""MAE and MFE of trades from the stored market bars (desk's MarketBar, a hypertable).

The maximum adverse excursion (MAE) of a trade is how far the price went against it
while it was open, the maximum favourable excursion (MFE) how far in its favour, both
in price from the entry (never below 0): for a long, entry - lowest low and highest
high - entry; for a short the other way round. They are read from the bars of the
finest timeframe whose bars cover the trade: a bar holds the entry time and a bar holds
the exit time (a bar at ``captured_at`` spans one timeframe from there). A bar's high
and low may come from before the entry or after the exit within that bar, so the
figures are as fine as the bars.

One SQL query reads, for every trade asked about and every timeframe, the extremes and
the first and last bar (the bars' index on symbol, timeframe and time serves it);
Python only picks the finest covering timeframe and does the arithmetic. In R where the
trade has a stop, in money where its instrument is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import connection

# The bar timeframes the desk stores, finest first, with their length in seconds.
TIMEFRAMES = {"M1": 60, "M5": 300, "M15": 900, "M30": 1800, "H1": 3600, "H4": 14400, "D1": 86400}
DASHBOARD_TRADES = 500  # the latest closed trades the dashboard's summary looks at


@dataclass(frozen=True)
class Excursion:
    trade_id: int
    timeframe: str
    bars: int
    mae: Decimal  # price distance, >= 0
    mfe: Decimal
    mae_r: Decimal | None  # in R, for a trade with a stop
    mfe_r: Decimal | None
    mae_money: Decimal | None  # x quantity x point value, where the instrument is known
    mfe_money: Decimal | None


def _bars_table() -> str | None:
    if not apps.is_installed("desk"):
        return None
    return apps.get_model("desk", "MarketBar")._meta.db_table


def _sql(table: str, count: int) -> str:
    """The extremes of each (trade, timeframe), for trades given as VALUES (the trades are
    in hand: no lookup by id on the hypertable, whose compressed chunks have no index)."""
    frames = ", ".join(["(%s, %s)"] * len(TIMEFRAMES))
    if connection.vendor == "postgresql":
        trades = ", ".join(["(%s, %s, %s::timestamptz, %s::timestamptz)"] * count)
        # One index range scan of the bars per trade and timeframe (symbol, timeframe, time).
        return f"""
            WITH frames (timeframe, seconds) AS (VALUES {frames}),
                 t (id, symbol, executed_at, closed_at) AS (VALUES {trades}),
                 -- The timeframes stored for these trades' window: the only ones probed.
                 present AS (
                     SELECT DISTINCT timeframe FROM {table}
                     WHERE captured_at >= %s AND captured_at < %s
                 ),
                 f AS (SELECT frames.* FROM frames JOIN present USING (timeframe))
            SELECT t.id, f.timeframe, x.bars, x.low, x.high, x.first_bar, x.last_bar
            FROM t CROSS JOIN f
            CROSS JOIN LATERAL (
                SELECT count(*) AS bars, min(b.low) AS low, max(b.high) AS high,
                       min(b.captured_at) AS first_bar, max(b.captured_at) AS last_bar
                FROM {table} b
                WHERE b.symbol = t.symbol AND b.timeframe = f.timeframe
                  AND b.captured_at > t.executed_at - f.seconds * INTERVAL '1 second'
                  AND b.captured_at < t.closed_at
                  -- Constant bounds as well: the hypertable's chunks outside the window
                  -- are excluded once, when the query is planned.
                  AND b.captured_at >= %s AND b.captured_at < %s
            ) x
            WHERE x.bars > 0
        """  # noqa: S608 - the table is the model's, values are parameters
    # SQLite: times are UTC text; no LATERAL, a grouped join does the same.
    trades = ", ".join(["(%s, %s, %s, %s)"] * count)
    return f"""
        WITH f (timeframe, seconds) AS (VALUES {frames}),
             t (id, symbol, executed_at, closed_at) AS (VALUES {trades})
        SELECT t.id, f.timeframe, count(*), min(b.low), max(b.high),
               min(b.captured_at), max(b.captured_at)
        FROM t JOIN f ON TRUE
        JOIN {table} b ON b.symbol = t.symbol AND b.timeframe = f.timeframe
             AND julianday(b.captured_at) > julianday(t.executed_at) - f.seconds / 86400.0
             AND julianday(b.captured_at) < julianday(t.closed_at)
        GROUP BY t.id, f.timeframe
    """  # noqa: S608 - the table is the model's, values are parameters


def excursions(trades: Iterable) -> dict[int, Excursion]:
    """{trade pk: Excursion} of the closed ``trades`` the bars cover (one query)."""
    from journal.instruments import instrument_for

    by_pk = {trade.pk: trade for trade in trades if trade.closed_at is not None}
    table = _bars_table()
    if not by_pk or table is None:
        return {}
    params: list = [value for item in TIMEFRAMES.items() for value in item]
    for pk, trade in by_pk.items():
        params += [pk, trade.symbol, *_times(trade)]
    if connection.vendor == "postgresql":
        window = (
            min(t.executed_at for t in by_pk.values())
            - timedelta(seconds=max(TIMEFRAMES.values())),
            max(t.closed_at for t in by_pk.values()),
        )
        params[2 * len(TIMEFRAMES) + 4 * len(by_pk) :] = [*window, *window]
    with connection.cursor() as cursor:
        cursor.execute(_sql(table, len(by_pk)), params)
        rows = cursor.fetchall()
    finest: dict[int, tuple] = {}
    order = list(TIMEFRAMES)
    for pk, timeframe, bars, low, high, first, last in rows:
        trade = by_pk[pk]
        span = timedelta(seconds=TIMEFRAMES[timeframe])
        first, last = _utc(first), _utc(last)
        covered = first <= trade.executed_at and last + span >= trade.closed_at
        if not covered:
            continue
        known = finest.get(pk)
        if known is None or order.index(timeframe) < order.index(known[0]):
            finest[pk] = (timeframe, bars, _decimal(low), _decimal(high))
    out = {}
    for pk, (timeframe, bars, low, high) in finest.items():
        trade = by_pk[pk]
        entry = trade.entry_price
        if trade.side == "long":
            mae, mfe = max(entry - low, Decimal(0)), max(high - entry, Decimal(0))
        else:
            mae, mfe = max(high - entry, Decimal(0)), max(entry - low, Decimal(0))
        risk = abs(entry - trade.stop_loss) if trade.stop_loss is not None else None
        instrument = instrument_for(trade.symbol)
        worth = trade.quantity * instrument.point_value if instrument else None
        out[pk] = Excursion(
            trade_id=pk,
            timeframe=timeframe,
            bars=bars,
            mae=mae,
            mfe=mfe,
            mae_r=mae / risk if risk else None,
            mfe_r=mfe / risk if risk else None,
            mae_money=mae * worth if worth is not None else None,
            mfe_money=mfe * worth if worth is not None else None,
        )
    return out


def _times(trade) -> tuple:
    if connection.vendor == "postgresql":
        return trade.executed_at, trade.closed_at
    # As Django keeps them in SQLite: naive UTC text.
    return tuple(
        moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        for moment in (trade.executed_at, trade.closed_at)
    )


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _utc(value) -> datetime:
    if isinstance(value, str):  # SQLite
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recent_summary(queryset, *, now: datetime | None = None) -> dict:
    """MAE and MFE over the latest DASHBOARD_TRADES closed trades of ``queryset`` while
    the bars are kept (DESK_SNAPSHOT_RETENTION_DAYS): how many were looked at, how many
    the bars cover, and the averages in R over the covered trades with a stop."""
    now = now or datetime.now(UTC)
    kept = now - timedelta(days=settings.DESK_SNAPSHOT_RETENTION_DAYS)
    # executed_at too: on the hypertable it confines the read to the recent chunks.
    trades = list(
        queryset.filter(status="closed", closed_at__gte=kept, executed_at__gte=kept)
        .order_by("-closed_at")
        .only("executed_at", "closed_at", "symbol", "side", "quantity", "entry_price", "stop_loss")[
            :DASHBOARD_TRADES
        ]
    )
    found = excursions(trades)
    with_r = [e for e in found.values() if e.mae_r is not None]
    return {
        "looked_at": len(trades),
        "covered": len(found),
        "with_r": len(with_r),
        "average_mae_r": _mean(e.mae_r for e in with_r),
        "average_mfe_r": _mean(e.mfe_r for e in with_r),
        "days": settings.DESK_SNAPSHOT_RETENTION_DAYS,
    }


def _mean(values) -> Decimal | None:
    values = list(values)
    return sum(values, Decimal(0)) / len(values) if values else None
