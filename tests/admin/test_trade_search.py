"""The trade list's search: the start of a trade id or broker order id in any case, or of
a symbol, each answered through an index on PostgreSQL (EXPLAIN says which)."""

import pytest
from django.db import connection

from journal.models import Trade
from journal.selectors import trade_search

pytestmark = pytest.mark.django_db

ROWS = 5000


def fill_trades() -> None:
    """ROWS trades straight into the table (a bot's ids BOT-<n>, broker ids BRK-<n>)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO journal_trade (trade_id, executed_at, symbol, side, quantity,
                entry_price, fees, status, strategy, account, broker_order_id, agent_votes,
                signals, model_version, recorded_at)
            SELECT 'BOT-' || g, now() - g * interval '1 minute',
                   (ARRAY['EURUSD', 'GBPUSD', 'XAUUSD'])[1 + g %% 3], 'long', 1, 1.1, 0,
                   'open', 'breakout', 'desk-main', 'BRK-' || g, '{}', '{}', '', now()
            FROM generate_series(1, %s) AS g
            """,
            [ROWS],
        )
        cursor.execute("ANALYZE journal_trade")


def plan(term: str) -> str:
    page = trade_search(queryset=Trade.objects.order_by("-executed_at", "-id"), term=term)
    return page[:100].explain()


def test_a_prefix_search_reads_the_prefix_indexes_not_the_table():
    if connection.vendor != "postgresql":
        pytest.skip("the indexes are PostgreSQL's (SQLite scans its small table)")
    fill_trades()
    found = list(trade_search(queryset=Trade.objects.all(), term="bot-123"))
    assert sorted(t.trade_id for t in found) == [
        "BOT-123",
        "BOT-1230",
        *(f"BOT-123{n}" for n in range(1, 10)),
    ]
    explained = plan("bot-123")
    assert "journal_trade_id_prefix_idx" in explained, explained
    assert "journal_trade_order_prefix_idx" in explained, explained
    assert "Seq Scan" not in explained, explained
    # A broker order id the same way; a symbol's start through the symbol index.
    assert [t.broker_order_id for t in trade_search(queryset=Trade.objects, term="brk-4999")] == [
        "BRK-4999"
    ]
    assert "journal_trade_order_prefix_idx" in plan("brk-4999")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            symbol_plan = plan("XAU")
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "journal_trade_symbol_idx" in symbol_plan or "journal_trade_time_idx" in symbol_plan
