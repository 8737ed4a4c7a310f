"""The trade list's search on TimescaleDB: the search keys beside the hypertable.

A compressed chunk keeps no row index: the search used to open every one of them (741
ms at a million trades). The keys (journal.write.search_keys) say where each trade
lives, so that a search opens only the chunks and segments of its matches; row triggers
keep them on every write path. These run in the `timescale` tier (one connection).
"""

import random
import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from journal import selectors
from journal.models import Trade
from journal.selectors import trade_search
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

pytestmark = [pytest.mark.timescale]

OLD = datetime.now(UTC) - timedelta(days=120)


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def keys_of_trades() -> set[tuple]:
    return set(query("SELECT trade_id, executed_at, symbol, broker_order_id FROM journal_trade"))


def search_keys() -> list[tuple]:
    return query(
        "SELECT trade_id, executed_at, symbol, broker_order_id FROM journal_tradesearchkey"
    )


def compress_old_chunks() -> int:
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'journal_trade'"
    )[0]
    query("CALL run_job(%s)", [job_id])
    return query(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'journal_trade' AND is_compressed"
    )[0][0]


def weekly_trades(weeks: int, per_week: int, prefix: str = "WK") -> list[dict]:
    """Trades a week apart (one chunk each), on three symbols, broker ids beside."""
    symbols = ("EURUSD", "GBPUSD", "XAUUSD")
    return [
        trade_data(
            trade_id=f"{prefix}-{w:03d}-{n:03d}",
            opened=OLD + timedelta(days=7 * w, minutes=n),
            symbol=symbols[n % 3],
            broker_order_id=f"brk-{w:03d}-{n:03d}",
            entry_price="1.08450" if n % 3 != 2 else "2300.50",
            exit_price="1.08900" if n % 3 != 2 else "2310.50",
        )
        for w in range(weeks)
        for n in range(per_week)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_keys_follow_every_write_capture_sql_compressed_chunks_updates_deletes():
    record_trades(weekly_trades(6, 10))
    assert compress_old_chunks() >= 3
    # A late trade into a compressed chunk, and a console's bulk INSERT ... SELECT.
    record_trades([trade_data(trade_id="late-1", opened=OLD + timedelta(days=1, hours=3))])
    query(
        """
        INSERT INTO journal_trade (trade_id, executed_at, symbol, side, quantity,
            entry_price, fees, status, strategy, account, broker_order_id, agent_votes,
            signals, model_version, recorded_at)
        SELECT 'SQL-' || g, %s::timestamptz + g * interval '1 day', 'EURUSD', 'long', 1,
               1.1, 0, 'open', 'breakout', 'desk-main', 'SQLB-' || g, '{}', '{}', '', now()
        FROM generate_series(1, 10) AS g
        """,
        [OLD],
    )
    stored = keys_of_trades()
    assert len(stored) == 71 and sorted(search_keys()) == sorted(stored)
    # A console's update of a key column moves the key; a delete removes it.
    query("UPDATE journal_trade SET broker_order_id = 'moved-1' WHERE trade_id = 'late-1'")
    query("DELETE FROM journal_trade WHERE trade_id = 'WK-000-001'")
    stored = keys_of_trades()
    assert len(stored) == 70 and sorted(search_keys()) == sorted(stored)
    assert [t.trade_id for t in trade_search(queryset=Trade.objects.all(), term="MOVED")] == [
        "late-1"
    ]


def scanned_chunks(plan: str) -> set[str]:
    """The hypertable's chunks a plan reads (their compressed tables aside)."""
    return set(re.findall(r"(?<![a-z])_hyper_\d+_\d+_chunk", plan))


@pytest.mark.django_db(transaction=True)
def test_a_search_opens_only_the_chunks_of_its_matches_compressed_or_not():
    record_trades(weekly_trades(8, 6))
    record_trades(
        [trade_data(trade_id=f"NEW-{n}", opened=datetime.now(UTC) - timedelta(hours=n + 1))
         for n in range(5)]
    )  # fmt: skip
    assert compress_old_chunks() >= 6
    chunks = query(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'journal_trade'"
    )[0][0]
    assert chunks >= 9
    page = trade_search(queryset=Trade.objects.order_by("-executed_at", "-id"), term="wk-003-00")
    plan = page[:100].explain()
    found = [t.trade_id for t in page]
    assert sorted(found) == [f"WK-003-00{n}" for n in range(6)]
    assert len(scanned_chunks(plan)) == 1, plan
    by_broker = trade_search(queryset=Trade.objects.all(), term="BRK-005-004")
    assert [t.trade_id for t in by_broker] == ["WK-005-004"]
    assert len(scanned_chunks(by_broker.explain())) == 1
    assert list(trade_search(queryset=Trade.objects.all(), term="nothing-like-it")) == []


@pytest.mark.django_db(transaction=True)
def test_a_prefix_with_more_matches_than_the_places_bound_is_still_searched_right(monkeypatch):
    record_trades(weekly_trades(3, 6))
    monkeypatch.setattr(selectors, "SEARCH_PLACES_MAX", 5)
    assert selectors.search_key_places("wk-") is None
    found = {t.trade_id for t in trade_search(queryset=Trade.objects.all(), term="wk-00")}
    assert found == {f"WK-{w:03d}-{n:03d}" for w in range(3) for n in range(6)}


# Ids with the characters LIKE treats specially, mixed case, digits.
ID_ALPHABET = "abAB01_%\\-."


def _ids(count: int) -> list[str]:
    rng = random.Random(30)
    ids = {"".join(rng.choice(ID_ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(count)}
    return sorted(ids)


IDS = _ids(120)


terms = st.one_of(
    st.sampled_from(IDS).flatmap(
        lambda i: st.integers(1, len(i)).map(lambda n, i=i: i[:n].swapcase())
    ),
    st.text(alphabet=ID_ALPHABET + string.ascii_letters[:4], min_size=1, max_size=4),
)


@pytest.mark.django_db(transaction=True)
def test_the_search_finds_exactly_the_trades_whose_ids_start_with_the_term():
    """The keys' answer and the hypertable's prefix condition agree, whatever the term
    holds (LIKE's own characters included), on compressed and uncompressed chunks."""
    record_trades(
        [
            trade_data(
                trade_id=trade_id,
                opened=OLD + timedelta(days=(n * 5) % 100, minutes=n),
                broker_order_id=f"o{trade_id[::-1]}",
            )
            for n, trade_id in enumerate(IDS)
        ]
    )
    assert compress_old_chunks() >= 3

    @settings(max_examples=60, deadline=None)
    @given(term=terms)
    def check(term):
        found = {t.trade_id for t in trade_search(queryset=Trade.objects.all(), term=term)}
        wanted = term.strip().upper()
        expected = {
            i
            for i in IDS
            if i.upper().startswith(wanted) or f"o{i[::-1]}".upper().startswith(wanted)
        }
        if "EURUSD".startswith(wanted):
            expected = set(IDS)  # every trade is on EURUSD: the symbol's arm finds them all
        assert found == expected

    check()
