"""The trade admin on a TimescaleDB hypertable (the `timescale` tier)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal.admin.support import TradePaginator
from tests.admin.conftest import make_trades

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
    equity = re.search(r'<svg[^>]*data-chart="equity".*?</svg>', html, re.S).group(0)
    assert len(re.findall(r'<circle class="point"', equity)) == 5
    assert 'tile-value">50.00<' in html
