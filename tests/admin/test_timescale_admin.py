"""The trade admin on a TimescaleDB hypertable (the `timescale` tier)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal.admin.support import TradePaginator
from tests.admin.conftest import make_trades
from tests.admin.test_dashboard import chart_data, tiles

pytestmark = [pytest.mark.timescale]


def test_the_list_estimates_its_size_from_the_chunks(reviewer_client, monkeypatch):
    monkeypatch.setattr(TradePaginator, "cap", 5)
    make_trades(12)  # twelve days: twelve chunks
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE journal_trade")
    with CaptureQueriesContext(connection) as queries:
        response = reviewer_client.get("/admin/journal/trade/")
    assert response.status_code == 200
    sql = [q["sql"] for q in queries]
    assert any("approximate_row_count" in q for q in sql), sql
    unbounded = [q for q in sql if re.search(r"\bcount\(", q, re.I) and "LIMIT" not in q]
    assert unbounded == [], unbounded
    assert re.search(r'data-count-kind="(estimate|exact)"', response.content.decode())


def test_the_dashboard_reads_the_daily_aggregate(reviewer_client):
    make_trades(5, pnl="10.00")
    with CaptureQueriesContext(connection) as queries:
        html = reviewer_client.get("/admin/journal/trade/dashboard/").content.decode()
    assert any("journal_daily_pnl" in q["sql"] for q in queries)
    data = chart_data(html)
    assert len(data["days"]) == len(data["equity"]) == 5
    assert data["equity"][-1] == 50.0
    assert tiles(html)["Net P&amp;L"].startswith("+50.00")


def test_the_filter_choices_come_from_the_aggregate_and_the_open_trades(transactional_db):
    """On TimescaleDB the list's symbol/strategy/account choices are read from the
    dimension's continuous aggregate (closed trades) and journal_opentrade (open ones):
    the skip-scan over the hypertable planned and probed every chunk, and opened every
    compressed one (3 s a page at a million trades)."""
    from django.utils import timezone

    from journal.selectors import _distinct_values
    from journal.write.capture import record_trades
    from tests.journal.conftest import open_trade_data, trade_data

    now = timezone.now()
    record_trades(
        [
            trade_data(opened=now - timedelta(days=400), symbol="XAUUSD", account="old-book"),
            trade_data(opened=now - timedelta(hours=3), symbol="GBPUSD", strategy="fade"),
            open_trade_data(opened=now - timedelta(minutes=5), symbol="USDJPY", account="asia"),
        ]
    )
    with connection.cursor() as cursor:  # the year-old day, as import_trades refreshes
        cursor.execute("CALL refresh_continuous_aggregate('journal_daily_pnl_symbol', NULL, NULL)")
        cursor.execute("CALL refresh_continuous_aggregate('journal_daily_pnl_account', NULL, NULL)")
    with CaptureQueriesContext(connection) as queries:
        symbols = _distinct_values("symbol")
        strategies = _distinct_values("strategy")
        accounts = _distinct_values("account")
    assert symbols == ["GBPUSD", "USDJPY", "XAUUSD"]
    assert strategies == ["breakout", "fade"]
    assert accounts == ["asia", "desk-main", "old-book"]
    assert not any(re.search(r'\bFROM "?journal_trade\b', q["sql"]) for q in queries)
