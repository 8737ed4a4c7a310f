"""Metrics in SQL against a small set worked out by hand."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from journal.analytics import metrics
from journal.write.capture import record_trades
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def closed(trade_id, day, pnl, *, symbol="EURUSD", strategy="breakout", hours=2, account="a"):
    opened = datetime(2026, 3, day, 8, 0, tzinfo=UTC)
    return trade_data(
        trade_id=trade_id,
        opened=opened,
        closed_at=(opened + timedelta(hours=hours)).isoformat(),
        pnl=pnl,
        symbol=symbol,
        strategy=strategy,
        account=account,
    )


@pytest.fixture
def journal(db):
    """Six closed trades over three days and one open trade (ignored by the metrics).

    day 2: +100 (EURUSD breakout, 2 h), -40 (GBPUSD breakout, 4 h)      net  60
    day 3: -80 (EURUSD trend, 2 h), 0 (EURUSD trend, 2 h)               net -80
    day 4: +50 (GBPUSD trend, 6 h), +30 (EURUSD breakout, 2 h)          net  80
    """
    record_trades(
        [
            closed("M1", 2, "100"),
            closed("M2", 2, "-40", symbol="GBPUSD", hours=4),
            closed("M3", 3, "-80", strategy="trend"),
            closed("M4", 3, "0", strategy="trend"),
            closed("M5", 4, "50", symbol="GBPUSD", strategy="trend", hours=6),
            closed("M6", 4, "30"),
            open_trade_data(trade_id="M7"),
        ]
    )


def test_summary_figures(journal):
    s = metrics.report()["summary"]
    assert (s["trades"], s["wins"], s["losses"]) == (6, 3, 2)
    assert s["net_pnl"] == D(60)
    assert (s["gross_profit"], s["gross_loss"]) == (D(180), D(-120))
    assert s["win_rate"] == D(3) / D(6)
    assert s["profit_factor"] == D("1.5")
    assert s["expectancy"] == D(10)
    assert s["average_win"] == D(60) and s["average_loss"] == D(-60)
    assert (s["largest_win"], s["largest_loss"]) == (D(100), D(-80))
    assert s["average_holding"] == timedelta(hours=3)
    # equity 60, -20, 60: the peak 60 falls to -20, a drawdown of 80.
    assert s["max_drawdown"] == D(80)
    assert s["days"] == 3
    # daily 60, -80, 80: mean 20, sample deviation sqrt(7600).
    assert s["sharpe"] == pytest.approx(20 / 7600**0.5 * 252**0.5)


def test_by_day_uses_the_closing_day(journal):
    days = metrics.report()["by_day"]
    assert [(row["day"], row["net_pnl"], row["trades"]) for row in days] == [
        (date(2026, 3, 2), D(60), 2),
        (date(2026, 3, 3), D(-80), 2),
        (date(2026, 3, 4), D(80), 2),
    ]
    assert [row["equity"] for row in days] == [D(60), D(-20), D(60)]


def test_groups_by_symbol_and_strategy(journal):
    report = metrics.report()
    by_symbol = {row["symbol"]: row["net_pnl"] for row in report["by_symbol"]}
    by_strategy = {
        row["strategy"]: (row["net_pnl"], row["trades"]) for row in report["by_strategy"]
    }
    assert by_symbol == {"EURUSD": D(50), "GBPUSD": D(10)}
    assert by_strategy == {"breakout": (D(90), 3), "trend": (D(-30), 3)}


def test_daily_pnl_for_the_dashboard(journal):
    assert metrics.daily_pnl(since=date(2026, 3, 3), symbol="EURUSD") == [
        {"day": date(2026, 3, 3), "trades": 2, "wins": 0, "losses": 1, "net_pnl": D(-80)},
        {"day": date(2026, 3, 4), "trades": 1, "wins": 1, "losses": 0, "net_pnl": D(30)},
    ]


def test_an_empty_period_has_zero_trades_and_no_ratios(journal):
    from journal.models import Trade

    s = metrics.report(Trade.objects.filter(symbol="NOPE"))["summary"]
    assert s["trades"] == 0 and s["win_rate"] is None and s["profit_factor"] is None


def test_the_metrics_api_filters_on_the_closing_time(journal, reader):
    body = reader.get("/api/v1/metrics", {"strategy": "trend", "since": "2026-03-04T00:00:00Z"})
    assert body.status_code == 200
    summary = body.json()["summary"]
    assert summary["trades"] == 1
    assert summary["net_pnl"] == "50.00000000"
    assert reader.get("/api/v1/metrics", {"since": "bad"}).status_code == 400


def test_the_metrics_api_reads_any_offset_in_utc(journal, reader):
    # Found by the schemathesis run: PostgreSQL refuses offsets beyond ±15:59 (a 500).
    response = reader.get("/api/v1/metrics", {"until": "5328-11-24T02:00:37+20:41"})
    assert response.status_code == 200, response.content
    assert response.json()["summary"]["trades"] == 6  # every closed trade
    early = reader.get("/api/v1/metrics", {"until": "0299-04-23T18:57:36-13:33"})
    assert early.status_code == 200 and early.json()["summary"]["trades"] == 0


def test_performance_report_prints_the_figures(journal):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("performance_report", stdout=out)
    text = out.getvalue()
    assert "closed trades                6" in text
    assert "profit factor                1.50" in text
    assert "max drawdown                 80.00" in text


@pytest.mark.smoke
def test_the_compaction_command_says_where_there_is_no_summary(db):
    import io

    from django.core.management import call_command
    from django.db import connection

    from journal.analytics import summary

    out = io.StringIO()
    call_command("compact_trade_summary", stdout=out)
    if connection.vendor == "postgresql":  # plain PostgreSQL keeps one (test_summary.py)
        assert summary.available() and "compacted 0 summary row(s)" in out.getvalue()
    else:
        assert not summary.available() and "no daily summary here" in out.getvalue()
