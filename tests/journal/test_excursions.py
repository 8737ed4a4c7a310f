"""MAE and MFE from the stored market bars, on bars worked out by hand, and a property
over any trade and any bars: MAE and MFE at least the moves to the exit, never below 0,
from the bars inside the holding window only, in R of the trade's own initial risk."""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from desk.models import MarketBar
from journal.admin import trade_page
from journal.analytics import excursions
from journal.domain.r_multiple import r_multiple
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db, pytest.mark.usefixtures("awkward_clock")]

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def bar(symbol, timeframe, at, low, high):
    return MarketBar(
        symbol=symbol,
        timeframe=timeframe,
        captured_at=at,
        open=D(low),
        high=D(high),
        low=D(low),
        close=D(high),
    )


@pytest.fixture
def trades(db):
    """X: long EURUSD 1.5 lots at 1.1000, stop 1.0950 (risk 0.0050), 10:00 to 12:00.
       H1 bars 10:00 and 11:00 (the one from 12:00 starts at the exit): lowest low
       1.0960, highest high 1.1060; M15 bars from 10:00 to 11:30 only (none reaches the
       exit): not covering.
    Y: short US500 2 contracts at 5000, no stop, 10:00 to 10:10.
       M5 bars 10:00 (4990 to 5010) and 10:05 (4980 to 5005); an H1 bar too (coarser).
    Z: long XAUUSD, no bars at all.  W: open, with bars."""
    instruments_seed()
    forget()
    record_trades(
        [
            trade_data(
                trade_id="X",
                opened=T0,
                closed_at=(T0 + timedelta(hours=2)).isoformat(),
                entry_price="1.1000",
                exit_price="1.1030",
                stop_loss="1.0950",
                quantity="1.5",
                pnl="450",
            ),
            trade_data(
                trade_id="Y",
                opened=T0,
                closed_at=(T0 + timedelta(minutes=10)).isoformat(),
                symbol="US500",
                side="short",
                entry_price="5000",
                exit_price="4990",
                quantity="2",
                pnl="1000",
            ),
            trade_data(
                trade_id="Z",
                opened=T0,
                symbol="XAUUSD",
                entry_price="2300",
                exit_price="2310",
                pnl="1000",
            ),
            trade_data(trade_id="W", opened=T0, closed_at=None, exit_price=None, pnl=None),
        ]
    )
    MarketBar.objects.bulk_create(
        [
            bar("EURUSD", "H1", T0 - timedelta(hours=1), "1.0500", "1.2000"),  # before entry
            bar("EURUSD", "H1", T0, "1.0980", "1.1010"),
            bar("EURUSD", "H1", T0 + timedelta(hours=1), "1.0960", "1.1060"),
            bar("EURUSD", "H1", T0 + timedelta(hours=2), "1.1000", "1.1030"),
            bar("EURUSD", "H1", T0 + timedelta(hours=3), "1.0000", "1.3000"),  # after exit
            *(
                bar("EURUSD", "M15", T0 + timedelta(minutes=15 * n), "1.0990", "1.1005")
                for n in range(7)
            ),
            bar("US500", "M5", T0, "4990", "5010"),
            bar("US500", "M5", T0 + timedelta(minutes=5), "4980", "5005"),
            bar("US500", "H1", T0, "4900", "5100"),
        ]
    )
    return {t.trade_id: t for t in Trade.objects.all()}


def test_mae_and_mfe_from_the_finest_covering_bars(trades):
    with CaptureQueriesContext(connection) as queries:
        found = excursions.excursions(trades.values())
    assert len([q for q in queries if "marketbar" in q["sql"]]) == 1  # one query
    x = found[trades["X"].pk]
    assert (x.timeframe, x.bars) == ("H1", 2)
    assert (x.mae, x.mfe) == (D("0.0040"), D("0.0060"))
    assert (x.mae_r, x.mfe_r) == (D("0.8"), D("1.2"))
    assert (x.mae_money, x.mfe_money) == (D(600), D(900))  # x 1.5 lots x 100,000
    y = found[trades["Y"].pk]
    assert (y.timeframe, y.bars) == ("M5", 2)
    assert (y.mae, y.mfe) == (D(10), D(20))  # a short: highest high 5010, lowest low 4980
    assert y.mae_r is None and (y.mae_money, y.mfe_money) == (D(1000), D(2000))
    assert trades["Z"].pk not in found and trades["W"].pk not in found


def test_the_dashboard_summary_averages_the_covered_trades_in_r(trades):
    summary = excursions.recent_summary(Trade.objects.all(), now=T0 + timedelta(days=1))
    assert (summary["looked_at"], summary["covered"], summary["with_r"]) == (3, 2, 1)
    assert (summary["average_mae_r"], summary["average_mfe_r"]) == (D("0.8"), D("1.2"))
    later = excursions.recent_summary(Trade.objects.all(), now=T0 + timedelta(days=90))
    assert later["looked_at"] == 0  # beyond the bars' retention: not looked for


def test_the_dashboard_summary_reads_the_trades_once_whatever_their_number(trades):
    """Two queries, the trades and their bars: the summary once left the exit price
    deferred and read it trade by trade (500 lookups by id a dashboard, 12 s on
    TimescaleDB at 20,000 trades: bench/README.md, issue 29)."""
    with CaptureQueriesContext(connection) as queries:
        summary = excursions.recent_summary(Trade.objects.all(), now=T0 + timedelta(days=1))
    assert summary["covered"] == 2
    assert len(queries) <= 2, [q["sql"][:120] for q in queries]


# -- any trade, any bars ----------------------------------------------------------------

PROPERTY = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXCURSION_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
PRICES = st.decimals(min_value=D("90"), max_value=D("110"), places=2)


@st.composite
def trades_and_bars(draw):
    """A closed EURUSD-like trade at prices around 100 with a stop on its side, held 1
    to 300 minutes, and M5 / H1 bars placed anywhere around it: some end exactly at the
    entry or start exactly at the exit, and some hold prices of another scale."""
    side = draw(st.sampled_from(["long", "short"]))
    entry, exit_price = draw(PRICES), draw(PRICES)
    risk = draw(st.decimals(min_value=D("0.01"), max_value=D("15"), places=2))
    stop = entry - risk if side == "long" else entry + risk
    held = timedelta(minutes=draw(st.integers(1, 300)))
    bars = {}
    for timeframe, minutes in (("M5", 5), ("H1", 60)):
        span = timedelta(minutes=minutes)
        starts = draw(st.lists(st.integers(-30, 80), max_size=40, unique=True))
        if draw(st.booleans()):  # a run of bars that covers the trade, and some around it
            starts += range(draw(st.integers(-3, 0)), held // span + draw(st.integers(1, 3)))
        edges = draw(st.sampled_from([[], [T0 - span], [T0 + held], [T0 - span, T0 + held]]))
        scale = draw(st.sampled_from([D(1), D(1), D(1), D(100)]))  # 100: a unit mixup
        for at in [T0 + span * n for n in starts] + edges:
            low, high = sorted((draw(PRICES), draw(PRICES)))
            bars[(timeframe, at)] = (timeframe, at, low * scale, high * scale)
    return side, entry, exit_price, stop, held, list(bars.values())


def expected_window(bars, timeframe, opened, closed):
    """The bars of ``timeframe`` that overlap [opened, closed), by hand."""
    span = timedelta(seconds=excursions.TIMEFRAMES[timeframe])
    return [b for b in bars if b[0] == timeframe and opened - span < b[1] < closed]


@PROPERTY
@given(case=trades_and_bars())
def test_mae_and_mfe_hold_for_any_trade_and_any_bars(case, db):
    side, entry, exit_price, stop, held, bars = case
    with transaction.atomic():
        trade = Trade.objects.create(
            trade_id="P-1",
            executed_at=T0,
            closed_at=T0 + held,
            symbol="PROP",
            side=side,
            quantity=D(1),
            entry_price=entry,
            exit_price=exit_price,
            pnl=D(0),
            stop_loss=stop,
            status="closed",
        )
        MarketBar.objects.bulk_create(
            [bar("PROP", tf, at, str(low), str(high)) for tf, at, low, high in bars]
        )
        found = excursions.excursions([trade]).get(trade.pk)
        transaction.set_rollback(True)
    event("covered" if found else "not covered")
    if found is None:
        return
    event("bars disagree" if found.disagreement else "bars agree")
    window = expected_window(bars, found.timeframe, T0, T0 + held)
    assert found.bars == len(window)  # only the bars inside the holding window
    low, high = min(b[2] for b in window), max(b[3] for b in window)
    reach = max(high - low, high * D("0.001"))
    apart = any(not low - reach <= price <= high + reach for price in (entry, exit_price))
    assert bool(found.disagreement) == apart  # another market's bars: no figure
    if apart:
        assert found.mae is None and found.mae_r is None
        return
    adverse = max(entry - exit_price if side == "long" else exit_price - entry, D(0))
    favourable = max(exit_price - entry if side == "long" else entry - exit_price, D(0))
    assert found.mae >= adverse and found.mfe >= favourable
    assert found.mae >= 0 and found.mfe >= 0
    # The extremes are the window's bars and the trade's own prices, nothing else.
    low, high = min(low, entry, exit_price), max(high, entry, exit_price)
    assert (found.mae, found.mfe) == (
        (entry - low, high - entry) if side == "long" else (high - entry, entry - low)
    )
    # R as the trade's R-multiple: the same initial risk.
    r = r_multiple(side, entry, exit_price, stop)
    assert found.mae_r == found.mae / abs(entry - stop)
    assert found.mfe_r == found.mfe / abs(entry - stop)
    assert found.mae_r >= -r and found.mfe_r >= r


def test_a_trade_stopped_out_shows_at_least_its_loss_as_mae_though_the_bars_stop_short(trades):
    """Bars are coarse: the stop-out's price may lie beyond every bar's low (a fill in a
    fast market, a bar of mid prices). The MAE still includes the exit: -1 R at least."""
    MarketBar.objects.create(
        symbol="GBPUSD",
        timeframe="H1",
        captured_at=T0,
        open=D("1.2700"),
        high=D("1.2720"),
        low=D("1.2690"),
        close=D("1.2710"),
    )
    record_trades(
        [
            trade_data(
                trade_id="STOPPED",
                opened=T0 + timedelta(minutes=5),
                closed_at=(T0 + timedelta(minutes=50)).isoformat(),
                symbol="GBPUSD",
                entry_price="1.2700",
                stop_loss="1.2680",
                exit_price="1.2680",
                quantity="1",
                pnl="-200",
                fees="0",
            )
        ]
    )
    trade = Trade.objects.get(trade_id="STOPPED")
    found = excursions.excursions([trade])[trade.pk]
    assert found.mae == D("0.0020") and found.mae_r == D(1)


def test_bars_that_do_not_hold_the_trades_prices_give_no_figure(trades):
    """The demo's DEMO-00029: a short at 2286.13 stopped at 2298.14 against bars of
    another price path (2315 to 2334) showed MAE 4.44 R. Bars that miss the trade's own
    prices by more than their range are another market's: no figure, and why."""
    MarketBar.objects.bulk_create(
        [bar("XAUUSD", "H1", T0 + timedelta(hours=h), "2315.20", "2334.10") for h in range(0, 3)]
    )
    record_trades(
        [
            trade_data(
                trade_id="OTHER-PATH",
                opened=T0 + timedelta(minutes=10),
                closed_at=(T0 + timedelta(hours=2, minutes=6)).isoformat(),
                symbol="XAUUSD",
                side="short",
                entry_price="2286.13",
                stop_loss="2297.78",
                exit_price="2298.14",
                quantity="1",
                pnl="-1201",
                fees="0",
            )
        ]
    )
    trade = Trade.objects.get(trade_id="OTHER-PATH")
    found = excursions.excursions([trade])[trade.pk]
    assert (
        found.mae is None and "do not contain the trade's entry price 2286.13" in found.disagreement
    )
    assert "do not contain" in trade_page.excursion(trade)


def test_a_bar_ending_at_the_entry_or_starting_at_the_exit_is_outside_the_window(db):
    instruments_seed()
    forget()
    record_trades(
        [
            trade_data(
                trade_id="EDGES",
                opened=T0,
                closed_at=(T0 + timedelta(hours=1)).isoformat(),
                entry_price="1.1000",
                exit_price="1.1010",
                stop_loss="1.0990",
                pnl="148.8",
            )
        ]
    )
    MarketBar.objects.bulk_create(
        [
            bar("EURUSD", "M5", T0 - timedelta(minutes=5), "1.0000", "1.2000"),  # ends at entry
            *(
                bar("EURUSD", "M5", T0 + timedelta(minutes=5 * n), "1.0995", "1.1015")
                for n in range(12)
            ),
            bar("EURUSD", "M5", T0 + timedelta(hours=1), "1.0000", "1.2000"),  # starts at exit
        ]
    )
    trade = Trade.objects.get(trade_id="EDGES")
    found = excursions.excursions([trade])[trade.pk]
    assert (found.timeframe, found.bars) == ("M5", 12)
    assert (found.mae, found.mfe) == (D("0.0005"), D("0.0015"))
