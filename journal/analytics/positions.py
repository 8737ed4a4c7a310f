"""Open positions: where each open trade stands at the latest stored market price.

For an open trade (journal_trade with status open), the latest market bar of its symbol
(desk.MarketBar, the finest timeframe among the bars that began last, never one that
began after ``now``) gives the price; from it:

- unrealised P&L: (price - entry) x quantity x point value for a long, the other way
  round for a short, less the fees recorded so far (as a closed trade's P&L is net of
  them), in the instrument's quote currency;
- unrealised R: the price move in the trade's favour over its initial risk |entry -
  stop| (the R-multiple it would close at);
- risk to the stop: what the position gives back from this price if its initial stop
  is hit, (price - stop) x quantity x point value for a long (stop - price for a short):
  negative when the price is already past the stop (the page says so);
- its age: now - executed_at.

A figure that cannot be made is None, with the reason in ``problem``: no bar of the
symbol, or none since the trade opened (a price from before the entry says nothing of
the position), no instrument (no point value: the money figures), no stop (R and the
risk to the stop). The dashboard shows them, and GET /api/v1/positions answers them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps

from journal.analytics.excursions import TIMEFRAMES
from journal.domain.r_multiple import initial_risk, why_no_r

# Open positions the dashboard lists (the API pages through all of them).
DASHBOARD_POSITIONS = 100


@dataclass(frozen=True)
class Bar:
    """The latest price of a symbol: the close of a bar that began at ``began``."""

    symbol: str
    timeframe: str
    began: datetime
    close: Decimal


@dataclass(frozen=True)
class Position:
    trade: object  # journal.models.Trade (open)
    age: timedelta
    bar: Bar | None
    unrealised_pnl: Decimal | None
    unrealised_r: Decimal | None
    risk_to_stop: Decimal | None
    currency: str
    problem: str = ""

    @property
    def past_stop(self) -> bool:
        return self.risk_to_stop is not None and self.risk_to_stop < 0


def latest_bars(symbols: Iterable[str], *, now: datetime) -> dict[str, Bar]:
    """{symbol: its latest bar up to ``now``}: per symbol the bars that began last (the
    bars' index on symbol and time serves each), the finest timeframe among them."""
    if not apps.is_installed("desk"):
        return {}
    bar_model = apps.get_model("desk", "MarketBar")
    order = list(TIMEFRAMES)
    found = {}
    for symbol in sorted(set(symbols)):
        rows = list(
            bar_model.objects.filter(symbol=symbol, captured_at__lte=now)
            .order_by("-captured_at")
            .values("timeframe", "captured_at", "close")[: len(TIMEFRAMES) + 1]
        )
        if not rows:
            continue
        newest = [row for row in rows if row["captured_at"] == rows[0]["captured_at"]]
        newest.sort(key=lambda r: order.index(r["timeframe"]) if r["timeframe"] in order else 99)
        row = newest[0]
        found[symbol] = Bar(symbol, row["timeframe"], row["captured_at"], row["close"])
    return found


def measure(trade, bar: Bar | None, instrument, *, now: datetime) -> Position:
    """Where ``trade`` stands at ``bar`` (pure but for the trade's fields)."""
    age = now - trade.executed_at
    currency = instrument.quote_currency if instrument else ""
    problems = []
    if bar is None:
        problems.append(f"no stored market bar of {trade.symbol}")
    elif bar.began < trade.executed_at - timedelta(seconds=TIMEFRAMES.get(bar.timeframe, 0)):
        problems.append(
            f"no market bar of {trade.symbol} since the trade opened (the latest began "
            f"{bar.began:%Y-%m-%d %H:%M} UTC)"
        )
        bar = None
    pnl = r = risk = None
    if bar is not None:
        sign = 1 if trade.side == "long" else -1
        move = (bar.close - trade.entry_price) * sign
        risk_per_unit = initial_risk(trade.side, trade.entry_price, trade.stop_loss)
        if risk_per_unit is not None:
            r = move / risk_per_unit
        else:
            reason = why_no_r(trade.side, trade.entry_price, bar.close, trade.stop_loss)
            problems.append(f"{reason}: no R")
        if instrument is not None:
            worth = trade.quantity * instrument.point_value
            pnl = move * worth - trade.fees
            if trade.stop_loss is not None:
                risk = (bar.close - trade.stop_loss) * sign * worth
        else:
            problems.append(f"{trade.symbol} is no instrument of the desk: no money figures")
    return Position(
        trade=trade,
        age=age,
        bar=bar,
        unrealised_pnl=pnl,
        unrealised_r=r,
        risk_to_stop=risk,
        currency=currency,
        problem="; ".join(problems),
    )


def positions_of(trades: Iterable, *, now: datetime) -> list[Position]:
    """Where each of the open ``trades`` stands (one read of the latest bars per symbol)."""
    from journal.instruments import instrument_for

    trades = [trade for trade in trades if trade.closed_at is None]
    bars = latest_bars((trade.symbol for trade in trades), now=now)
    return [
        measure(trade, bars.get(trade.symbol), instrument_for(trade.symbol), now=now)
        for trade in trades
    ]


def totals(positions: list[Position]) -> dict:
    """The open positions' count and, where they share a currency, their unrealised
    P&L and risk to the stop summed (with how many of them had the figure)."""
    currencies = {p.currency for p in positions}
    one = currencies.pop() if len(currencies) == 1 else ""
    with_pnl = [p.unrealised_pnl for p in positions if p.unrealised_pnl is not None]
    with_risk = [p.risk_to_stop for p in positions if p.risk_to_stop is not None]
    return {
        "count": len(positions),
        "currency": one,
        "unrealised_pnl": sum(with_pnl, Decimal(0)) if one and with_pnl else None,
        "priced": len(with_pnl),
        "risk_to_stop": sum(with_risk, Decimal(0)) if one and with_risk else None,
        "with_stop": len(with_risk),
    }
