"""MAE and MFE from the stored market bars, on bars worked out by hand."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from desk.models import MarketBar
from journal.analytics import excursions
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
