"""The trade list's sorts and close-time filter on a TimescaleDB hypertable with
compressed chunks (the `timescale` tier, issue 29).

Migration 0018's indexes are made on the hypertable (every chunk gets them), a sort by R
over a period that reaches a compressed chunk lists its trades in order, and a
calendar day's trades (closed that day) are found with the lower bound of executed_at
that the daily aggregate gives: a trade held for weeks, whose opening chunk is
compressed, included.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journal.admin.trades import TradeAdmin
from journal.models import Trade
from journal.write.capture import record_trades
from tests.admin.conftest import make_trades
from tests.journal.conftest import trade_data

pytestmark = [pytest.mark.timescale]

LIST = "/admin/journal/trade/"


def rows(response) -> list[str]:
    ids = re.findall(r'href="/admin/journal/trade/(\d+)/change/', response.content.decode())
    by_pk = dict(Trade.objects.filter(pk__in=ids).values_list("pk", "trade_id"))
    return [by_pk[int(pk)] for pk in dict.fromkeys(ids)]


def compress_old_chunks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(compress_chunk(c, if_not_compressed => true)) "
            "FROM show_chunks('journal_trade', older_than => INTERVAL '30 days') c"
        )
        return cursor.fetchone()[0]


def test_the_sort_indexes_are_on_the_hypertable_and_its_chunks(db):
    make_trades(3)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE %s",
            ["%journal_trade_r_idx%"],
        )
        assert cursor.fetchone()[0] >= 2  # the hypertable's and a chunk's
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'journal_trade_held_idx'")
        assert "closed_at - executed_at" in cursor.fetchone()[0]


def test_a_sort_by_r_reads_compressed_chunks_of_the_period(reviewer_client):
    make_trades(1, trade_id="NEW-WIN", stop_loss="1.08150", exit_price="1.09000", pnl="10")
    make_trades(
        1,
        trade_id="OLD-LOSS",
        stop_loss="1.08150",
        exit_price="1.08000",
        pnl="-10",
        start_days_ago=50,
    )
    make_trades(
        1, trade_id="OLD-WIN", stop_loss="1.08350", exit_price="1.08600", pnl="5", start_days_ago=60
    )
    assert compress_old_chunks() >= 1
    order = str(list(TradeAdmin.list_display).index("r_column") + 1)
    response = reviewer_client.get(LIST, {"o": f"-{order}", "executed": "90d"})
    assert response.status_code == 200
    # R: NEW-WIN (1.09 - 1.0845) / 0.003 = 1.83; OLD-WIN 0.0015 / 0.001 = 1.5;
    # OLD-LOSS -0.0045 / 0.003 = -1.5.
    assert rows(response) == ["NEW-WIN", "OLD-WIN", "OLD-LOSS"]


def test_a_calendar_day_finds_a_trade_opened_in_a_compressed_chunk(reviewer_client):
    now = timezone.now()
    closed = (now - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    record_trades(
        [
            trade_data(
                trade_id="HELD-WEEKS",
                opened=closed - timedelta(days=40),
                closed_at=closed.isoformat(),
            ),
            trade_data(trade_id="SAME-DAY", opened=closed - timedelta(hours=2)),
            trade_data(trade_id="OTHER-DAY", opened=closed - timedelta(days=3)),
        ]
    )
    make_trades(2, start_days_ago=70)  # older chunks, compressed too
    assert compress_old_chunks() >= 1
    day = closed.date().isoformat()
    with CaptureQueriesContext(connection) as queries:
        response = reviewer_client.get(LIST, {"closed_from": day, "closed_to": day})
    assert sorted(rows(response)) == ["HELD-WEEKS", "SAME-DAY"]
    page = [q["sql"] for q in queries if q["sql"].startswith('SELECT "journal_trade"."id"')]
    # Bounded below by the opening day of the earliest trade that closed that day.
    opened_day = (closed - timedelta(days=40)).date().isoformat()
    assert any(f'"executed_at" >= \'{opened_day}' in sql for sql in page), page
