"""MAE and MFE of trades from the stored market bars (desk's MarketBar, a hypertable).

The maximum adverse excursion (MAE) of a trade is how far the price went against it
while it was open, the maximum favourable excursion (MFE) how far in its favour, both
in price from the entry (never below 0): for a long, entry - lowest price and highest
price - entry; for a short the other way round. The extremes are those of the holding
window: the trade's own entry and exit prices (it was traded at both, so the MAE is at
least the adverse move to the exit and the MFE at least the favourable one) and the
bars of the finest timeframe whose bars cover the trade. Only bars that overlap the
window count: a bar at ``captured_at`` spans one timeframe from there, so the window
[executed_at, closed_at) takes the bars with executed_at - timeframe < captured_at <
closed_at (a bar ending exactly at the entry, or starting exactly at the exit, is out),
compared exactly on every database. A bar holds the entry time and a bar holds the exit
time, or the timeframe does not cover the trade. A bar's high and low may come from
before the entry or after the exit within that bar, so the figures are as fine as the
bars.

Bars that do not contain the trade's own prices -- the entry or the exit further
outside the bars' range than that range itself (and 0.1 % of the price) -- are not this
trade's market (another symbol's bars, another feed, a price unit mixed up: the demo
once measured trades against bars of another random walk, MAE 4.44 R on a trade
stopped at -1.03 R). No figure is made of them; the trade's page says why.

One SQL query reads, for every trade asked about and every timeframe, the extremes and
the first and last bar (the bars' index on symbol, timeframe and time serves it);
Python picks the finest covering timeframe and does the arithmetic (``measure``, pure).
In R (|entry - stop|, as the trade's R-multiple) where the trade has a stop, in money
where its instrument is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings

from backoffice.core.db.routers import read_connection as connection  # routed reads
from journal.domain.r_multiple import initial_risk

# The bar timeframes the desk stores, finest first, with their length in seconds.
TIMEFRAMES = {"M1": 60, "M5": 300, "M15": 900, "M30": 1800, "H1": 3600, "H4": 14400, "D1": 86400}
DASHBOARD_TRADES = 500  # the latest closed trades the dashboard's summary looks at
# The trade fields excursions() reads.
MEASURED_FIELDS = (
    "executed_at",
    "closed_at",
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "exit_price",
    "stop_loss",
)
# Bars whose range misses a trade's price by more than the range itself, and at least
# this share of the price, are another market's.
DISAGREEMENT_FLOOR = Decimal("0.001")


@dataclass(frozen=True)
class Excursion:
    trade_id: int
    timeframe: str
    bars: int
    mae: Decimal | None  # price distance, >= 0; None when the bars disagree
    mfe: Decimal | None
    mae_r: Decimal | None  # in R, for a trade with a stop
    mfe_r: Decimal | None
    mae_money: Decimal | None  # x quantity x point value, where the instrument is known
    mfe_money: Decimal | None
    disagreement: str = ""  # why the bars cannot be this trade's market


def measure(
    *, side: str, entry: Decimal, exit_price: Decimal, low: Decimal, high: Decimal
) -> tuple[Decimal, Decimal]:
    """(MAE, MFE) in price of a trade held from ``entry`` to ``exit_price`` while the
    bars ranged from ``low`` to ``high``: the window's extremes include both prices."""
    low, high = min(low, entry, exit_price), max(high, entry, exit_price)
    if side == "long":
        return entry - low, high - entry
    return high - entry, entry - low


def disagreement(*, entry: Decimal, exit_price: Decimal, low: Decimal, high: Decimal) -> str:
    """Why bars from ``low`` to ``high`` cannot be the market of a trade at these
    prices, or "" when they can."""
    reach = max(high - low, abs(high) * DISAGREEMENT_FLOOR)
    for name, price in (("entry", entry), ("exit", exit_price)):
        if not low - reach <= price <= high + reach:
            return (
                f"the stored bars ({low.normalize():f} to {high.normalize():f}) do not "
                f"contain the trade's {name} price {price.normalize():f}: not its market's bars"
            )
    return ""


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
    # SQLite: times are UTC text, as Django writes them ('YYYY-MM-DD HH:MM:SS' and six
    # decimals of a second when it has any), so text compares in time order exactly;
    # each trade comes with the start of its window per timeframe, computed in Python
    # (julianday's floating point would misplace a bar ending exactly at the entry).
    starts = ", ".join(["%s"] * len(TIMEFRAMES))
    trades = ", ".join([f"(%s, %s, %s, {starts})"] * count)
    start_of = " ".join(f"WHEN '{name}' THEN t.s{n}" for n, name in enumerate(TIMEFRAMES))
    columns = ", ".join(f"s{n}" for n in range(len(TIMEFRAMES)))
    return f"""
        WITH f (timeframe, seconds) AS (VALUES {frames}),
             t (id, symbol, closed_at, {columns}) AS (VALUES {trades})
        SELECT t.id, f.timeframe, count(*), min(b.low), max(b.high),
               min(b.captured_at), max(b.captured_at)
        FROM t JOIN f ON TRUE
        JOIN {table} b ON b.symbol = t.symbol AND b.timeframe = f.timeframe
             AND b.captured_at > (CASE f.timeframe {start_of} END)
             AND b.captured_at < t.closed_at
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
        params += [*window, *window]
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
    return {
        pk: _excursion(by_pk[pk], timeframe, bars, low, high, instrument_for)
        for pk, (timeframe, bars, low, high) in finest.items()
    }


def _excursion(trade, timeframe: str, bars: int, low, high, instrument_for) -> Excursion:
    entry, exit_price = trade.entry_price, trade.exit_price
    why = disagreement(entry=entry, exit_price=exit_price, low=low, high=high)
    if why:
        return Excursion(trade.pk, timeframe, bars, None, None, None, None, None, None, why)
    mae, mfe = measure(side=trade.side, entry=entry, exit_price=exit_price, low=low, high=high)
    risk = initial_risk(trade.side, entry, trade.stop_loss)
    instrument = instrument_for(trade.symbol)
    worth = trade.quantity * instrument.point_value if instrument else None
    return Excursion(
        trade_id=trade.pk,
        timeframe=timeframe,
        bars=bars,
        mae=mae,
        mfe=mfe,
        mae_r=mae / risk if risk else None,
        mfe_r=mfe / risk if risk else None,
        mae_money=mae * worth if worth is not None else None,
        mfe_money=mfe * worth if worth is not None else None,
    )


def _times(trade) -> tuple:
    if connection.vendor == "postgresql":
        return trade.executed_at, trade.closed_at
    # As Django keeps them in SQLite: naive UTC text (str of a datetime); the window's
    # start per timeframe, in TIMEFRAMES' order.
    starts = (trade.executed_at - timedelta(seconds=seconds) for seconds in TIMEFRAMES.values())
    return _sqlite_text(trade.closed_at), *map(_sqlite_text, starts)


def _sqlite_text(moment: datetime) -> str:
    return str(moment.astimezone(UTC).replace(tzinfo=None))


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
        # Every field the measure reads: a deferred one is a query per trade (the exit
        # price was, 500 lookups by id: 12 s a dashboard on TimescaleDB, whose
        # compressed chunks have no index of id).
        .only(*MEASURED_FIELDS)[:DASHBOARD_TRADES]
    )
    found = excursions(trades)
    agreeing = [e for e in found.values() if not e.disagreement]
    with_r = [e for e in agreeing if e.mae_r is not None]
    return {
        "looked_at": len(trades),
        "covered": len(agreeing),
        "disagreeing": len(found) - len(agreeing),
        "with_r": len(with_r),
        "average_mae_r": _mean(e.mae_r for e in with_r),
        "average_mfe_r": _mean(e.mfe_r for e in with_r),
        "days": settings.DESK_SNAPSHOT_RETENTION_DAYS,
    }


def _mean(values) -> Decimal | None:
    values = list(values)
    return sum(values, Decimal(0)) / len(values) if values else None
