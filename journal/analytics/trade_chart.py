"""A trade on its price chart: the stored market bars around it and its marks.

The trade's page draws it (journal/static/journal/trade_chart.js, with uPlot); this
module chooses the bars and says what to mark:

- the bars: desk.MarketBar of the trade's symbol, of the finest stored timeframe whose
  bars cover the whole trade (a bar holds the entry and a bar holds the exit, or now
  for an open trade: as journal.analytics.excursions decides) with at most MAX_BARS
  bars in the window drawn, which reaches PAD_BARS bars (at least) before the entry and
  after the exit; never a bar that begins after ``now``;
- the marks: the entry and the exit (time and price), the initial stop (the trade's;
  else its idea's, said so), the idea's take-profit, and the MAE and MFE points: the
  prices journal.analytics.excursions measured, placed at the bar of the window where
  the price went furthest against and for the trade (or at the entry or exit when the
  trade's own price was the extreme).

Where no bars cover the trade, or the bars are another market's (their range misses
the trade's own prices: journal.analytics.excursions.disagreement), there is no chart:
``problem`` says why, in words, and the page shows that instead.
"""

from __future__ import annotations

from calendar import timegm
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import Count, Max, Min

from journal.analytics import excursions as excursion_figures
from journal.analytics.excursions import TIMEFRAMES, disagreement

MAX_BARS = 400
PAD_BARS = 20


def _epoch(moment: datetime) -> int:
    return timegm(moment.utctimetuple())


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _bar_model():
    return apps.get_model("desk", "MarketBar") if apps.is_installed("desk") else None


def _window(trade, seconds: int, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the bars drawn at a timeframe: PAD_BARS bars, or a quarter of
    the holding time, before the entry and after the exit (or now)."""
    end = trade.closed_at or now
    pad = max(timedelta(seconds=seconds * PAD_BARS), (end - trade.executed_at) / 4)
    return trade.executed_at - pad, min(end + pad, now)


def choose_timeframe(trade, *, now: datetime) -> tuple[str | None, str]:
    """(the timeframe to draw, why none) for ``trade``: the finest whose bars cover it
    with at most MAX_BARS in its window; a timeframe that only partly covers it is
    drawn when no other does, and said so."""
    bar_model = _bar_model()
    if bar_model is None:
        return None, "no market bars are kept here (the desk app is not installed)"
    end = trade.closed_at or now
    partial = None
    too_many = None
    for timeframe, seconds in TIMEFRAMES.items():
        start, stop = _window(trade, seconds, now)
        found = bar_model.objects.filter(
            symbol=trade.symbol,
            timeframe=timeframe,
            captured_at__gte=start,
            captured_at__lt=stop,
            captured_at__lte=now,
        ).aggregate(count=Count("pk"), first=Min("captured_at"), last=Max("captured_at"))
        if not found["count"]:
            continue
        span = timedelta(seconds=seconds)
        covers = found["first"] <= trade.executed_at and found["last"] + span >= end
        if found["count"] > MAX_BARS:
            too_many = too_many or timeframe
            continue
        if covers:
            return timeframe, ""
        partial = partial or (timeframe, found["first"], found["last"] + span)
    if partial:
        timeframe, first, last = partial
        return timeframe, (
            f"the stored {timeframe} bars cover only {first:%Y-%m-%d %H:%M} to "
            f"{last:%Y-%m-%d %H:%M} UTC of this trade"
        )
    if too_many:
        return None, (
            f"the stored bars of {trade.symbol} around this trade are finer than a chart "
            f"of {MAX_BARS} bars can show, and no coarser timeframe is stored"
        )
    return None, (
        f"No stored market bars of {trade.symbol} cover this trade "
        f"({trade.executed_at:%Y-%m-%d %H:%M} to "
        f"{'now' if trade.closed_at is None else f'{trade.closed_at:%Y-%m-%d %H:%M}'} UTC): "
        "bars are kept for DESK_SNAPSHOT_RETENTION_DAYS days, and only for the symbols "
        "the desk stores."
    )


def _extreme(bars, trade, *, lowest: bool, level: Decimal, seconds: int) -> float:
    """Where (epoch seconds) the price ``level`` was within the holding window: at the
    trade's entry or exit when it was traded there, else at the middle of the bar whose
    low (or high) comes nearest it."""
    for moment, price in (
        (trade.executed_at, trade.entry_price),
        (trade.closed_at, trade.exit_price),
    ):
        if moment is not None and price == level:
            return _epoch(moment)
    key = "low" if lowest else "high"
    best = min(bars, key=lambda bar: abs(bar[key] - level))
    return _epoch(best["captured_at"]) + seconds / 2


def chart_of(trade, *, now: datetime) -> dict[str, Any]:
    """What the trade's page draws: {"bars": {...}, "marks": {...}, ...}, or
    {"problem": "..."} where no chart can be drawn. A ``note`` says what a chart drawn
    leaves out (bars that cover part of the trade)."""
    from journal.instruments import instrument_for

    timeframe, problem = choose_timeframe(trade, now=now)
    if timeframe is None:
        return {"problem": problem}
    seconds = TIMEFRAMES[timeframe]
    start, stop = _window(trade, seconds, now)
    bars = list(
        _bar_model()
        .objects.filter(
            symbol=trade.symbol,
            timeframe=timeframe,
            captured_at__gte=start,
            captured_at__lt=stop,
            captured_at__lte=now,
        )
        .order_by("captured_at")
        .values("captured_at", "open", "high", "low", "close")
    )
    end = trade.closed_at or now
    window = [
        bar
        for bar in bars
        if trade.executed_at - timedelta(seconds=seconds) < bar["captured_at"] < end
    ]
    if window:
        low = min(bar["low"] for bar in window)
        high = max(bar["high"] for bar in window)
        why = disagreement(
            entry=trade.entry_price,
            exit_price=trade.exit_price if trade.exit_price is not None else trade.entry_price,
            low=low,
            high=high,
        )
        if why:
            return {"problem": f"No chart: {why}."}
    instrument = instrument_for(trade.symbol)
    decimals = instrument.price_decimals if instrument else None
    marks: dict[str, Any] = {
        "entry": {"t": _epoch(trade.executed_at), "price": _float(trade.entry_price)},
        "exit": None
        if trade.closed_at is None
        else {"t": _epoch(trade.closed_at), "price": _float(trade.exit_price)},
        "levels": [],
        "mae": None,
        "mfe": None,
    }
    idea = _idea(trade)
    stop_price, stop_label = trade.stop_loss, "initial stop"
    if stop_price is None and idea is not None and idea.stop_loss is not None:
        stop_price, stop_label = idea.stop_loss, "the idea's stop"
    if stop_price is not None:
        marks["levels"].append({"kind": "stop", "price": _float(stop_price), "label": stop_label})
    if idea is not None and idea.take_profit is not None:
        marks["levels"].append(
            {"kind": "target", "price": _float(idea.take_profit), "label": "take-profit"}
        )
    if trade.closed_at is not None and window:
        found = excursion_figures.excursions([trade]).get(trade.pk)
        if found is not None and not found.disagreement:
            sign = 1 if trade.side == "long" else -1
            adverse = trade.entry_price - sign * found.mae
            favourable = trade.entry_price + sign * found.mfe
            long = trade.side == "long"
            marks["mae"] = {
                "t": _extreme(window, trade, lowest=long, level=adverse, seconds=seconds),
                "price": _float(adverse),
                "r": _float(found.mae_r),
            }
            marks["mfe"] = {
                "t": _extreme(window, trade, lowest=not long, level=favourable, seconds=seconds),
                "price": _float(favourable),
                "r": _float(found.mfe_r),
            }
    return {
        "symbol": trade.symbol,
        "side": trade.side,
        "timeframe": timeframe,
        "seconds": seconds,
        "decimals": decimals,
        "note": problem,
        "bars": {
            "t": [_epoch(bar["captured_at"]) for bar in bars],
            "o": [_float(bar["open"]) for bar in bars],
            "h": [_float(bar["high"]) for bar in bars],
            "l": [_float(bar["low"]) for bar in bars],
            "c": [_float(bar["close"]) for bar in bars],
        },
        "marks": marks,
    }


def _idea(trade):
    if trade.idea_id is None or not apps.is_installed("desk"):
        return None
    return apps.get_model("desk", "TradeIdea").objects.filter(pk=trade.idea_id).first()
