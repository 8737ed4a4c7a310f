"""The trade admin on a TimescaleDB hypertable (the `timescale` tier)."""

import re

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
