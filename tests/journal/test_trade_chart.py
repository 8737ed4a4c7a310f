"""A trade's chart (journal.analytics.trade_chart): which bars, which marks, and what the
page says where no bars cover the trade. Bars worked out by hand; the browser draws
them in tests/admin/test_trade_chart_browser.py."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from desk.models import MarketBar, TradeIdea
from journal.analytics import excursions, trade_chart
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.write.capture import record_trades
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)


def bars(symbol, timeframe, start, count, *, base="1.1000", step="0.0010", seconds=None):
    """``count`` bars from ``start``: each spans base ± step around a price that climbs
    one step a bar (so the window's lowest low is the first bar's)."""
    seconds = seconds or excursions.TIMEFRAMES[timeframe]
    made = []
    for n in range(count):
        mid = D(base) + D(step) * n
        made.append(
            MarketBar(
                symbol=symbol,
                timeframe=timeframe,
                captured_at=start + timedelta(seconds=seconds * n),
                open=mid,
                high=mid + D(step),
                low=mid - D(step),
                close=mid + D(step) / 2,
            )
        )
    MarketBar.objects.bulk_create(made)


@pytest.fixture(autouse=True)
def _instruments():
    instruments_seed()
    forget()
    yield
    forget()


def trade(**fields) -> Trade:
    record_trades([trade_data(**fields)])
    return Trade.objects.get(trade_id=fields["trade_id"])


def test_the_chart_has_the_bars_around_the_trade_and_every_mark():
    TradeIdea.objects.create(
        pk=7,
        symbol="EURUSD",
        direction="long",
        entry_price=D("1.1000"),
        stop_loss=D("1.0950"),
        take_profit=D("1.1200"),
        confidence_score=D("0.7"),
    )
    bars("EURUSD", "M15", T0 - timedelta(hours=10), 80)  # 10 h before to 10 h after
    bars("EURUSD", "H1", T0 - timedelta(hours=24), 48)
    x = trade(
        trade_id="X",
        opened=T0,
        closed_at=(T0 + timedelta(hours=2)).isoformat(),
        entry_price="1.14000",
        exit_price="1.14600",
        stop_loss="1.13500",
        pnl="900",
        idea_id=7,
    )
    chart = trade_chart.chart_of(x, now=NOW)
    assert chart["timeframe"] == "M15" and not chart["note"]
    times = chart["bars"]["t"]
    assert times == sorted(times) and len(times) <= trade_chart.MAX_BARS
    # Twenty bars (5 h) on either side of a 2-hour trade.
    assert times[0] == int((T0 - timedelta(hours=5)).timestamp())
    assert times[-1] == int((T0 + timedelta(hours=7) - timedelta(minutes=15)).timestamp())
    marks = chart["marks"]
    assert marks["entry"] == {"t": int(T0.timestamp()), "price": 1.14}
    assert marks["exit"] == {"t": int((T0 + timedelta(hours=2)).timestamp()), "price": 1.146}
    assert marks["levels"] == [
        {"kind": "stop", "price": 1.135, "label": "initial stop"},
        {"kind": "target", "price": 1.12, "label": "take-profit"},
    ]
    found = excursions.excursions([x])[x.pk]
    assert marks["mae"]["price"] == float(x.entry_price - found.mae)
    assert marks["mfe"]["price"] == float(x.entry_price + found.mfe)
    assert marks["mae"]["r"] == float(found.mae_r) and marks["mfe"]["r"] == float(found.mfe_r)
    # The lowest low of the holding window is its first bar's (the price climbs).
    first_in_window = min(t for t in times if t > int((T0 - timedelta(minutes=15)).timestamp()))
    assert marks["mae"]["t"] == first_in_window + 15 * 60 / 2
    assert chart["decimals"] == 5


def test_too_many_fine_bars_draw_a_coarser_timeframe():
    bars("EURUSD", "M1", T0 - timedelta(hours=3), 60 * 30)  # 30 hours of minutes
    bars("EURUSD", "H1", T0 - timedelta(hours=30), 60)
    x = trade(
        trade_id="LONG-HOLD",
        opened=T0,
        closed_at=(T0 + timedelta(hours=20)).isoformat(),
        entry_price="1.15000",
        exit_price="1.16000",
        pnl="1500",
    )
    chart = trade_chart.chart_of(x, now=NOW)
    assert chart["timeframe"] == "H1"
    assert len(chart["bars"]["t"]) <= trade_chart.MAX_BARS


def test_no_bars_say_so_plainly():
    z = trade(trade_id="Z", opened=T0, symbol="XAUUSD", entry_price="2300", exit_price="2310")
    chart = trade_chart.chart_of(z, now=NOW)
    assert "bars" not in chart
    assert chart["problem"].startswith("No stored market bars of XAUUSD cover this trade")
    assert "2026-03-03 10:00 to 2026-03-03 11:00 UTC" in chart["problem"]


def test_another_markets_bars_draw_no_chart():
    bars("EURUSD", "M15", T0 - timedelta(hours=10), 80, base="1.5000")  # not 1.14
    x = trade(
        trade_id="ELSEWHERE",
        opened=T0,
        entry_price="1.14000",
        exit_price="1.14100",
        pnl="150",
    )
    chart = trade_chart.chart_of(x, now=NOW)
    assert "bars" not in chart
    assert "not its market's bars" in chart["problem"]


def test_bars_after_now_are_never_drawn():
    bars("EURUSD", "M15", T0 - timedelta(hours=10), 200)  # up to 40 h after T0
    x = trade(
        trade_id="RECENT",
        opened=T0,
        closed_at=(T0 + timedelta(hours=1)).isoformat(),
        entry_price="1.14000",
        exit_price="1.14300",
        pnl="450",
    )
    now = T0 + timedelta(hours=3)
    chart = trade_chart.chart_of(x, now=now)
    assert max(chart["bars"]["t"]) <= now.timestamp()


def test_bars_that_cover_part_of_the_trade_are_drawn_with_a_note():
    bars("EURUSD", "M15", T0 - timedelta(hours=2), 12)  # until 11:00; the trade ends 12:00
    x = trade(
        trade_id="PART",
        opened=T0,
        closed_at=(T0 + timedelta(hours=2)).isoformat(),
        entry_price="1.10500",
        exit_price="1.10600",
        pnl="150",
    )
    chart = trade_chart.chart_of(x, now=NOW)
    assert chart["timeframe"] == "M15"
    assert chart["note"].startswith("the stored M15 bars cover only")
    assert chart["marks"]["mae"] is None  # excursions need bars that cover the trade


def test_an_open_trade_is_drawn_to_now_without_an_exit():
    now = T0 + timedelta(hours=2)
    bars("EURUSD", "M15", T0 - timedelta(hours=6), 32)  # until 02:00 after T0 = now
    record_trades([open_trade_data(trade_id="OPEN", opened=T0, entry_price="1.12000")])
    chart = trade_chart.chart_of(Trade.objects.get(trade_id="OPEN"), now=now)
    assert chart["marks"]["exit"] is None and chart["marks"]["mae"] is None
    assert max(chart["bars"]["t"]) < now.timestamp()
