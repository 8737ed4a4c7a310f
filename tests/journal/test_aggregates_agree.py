"""One definition of the aggregates: the stored daily rows and a direct query agree.

journal.analytics.aggregates defines what is summed and counted per day; the daily
summary (plain PostgreSQL, kept by triggers), the continuous aggregates (TimescaleDB)
and a query over the trades are all derived from it. Hypothesis generates journals of
closed and open trades (sides, stops or none, times across midnight, wins, losses,
exact zeros) and every read of the stored rows, per day, per dimension and under each
filter, must equal the same read over the trades.
"""

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.analytics import aggregates, metrics, sources
from journal.write.capture import record_trades

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_AGGREGATES_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
START = datetime(2026, 3, 2, tzinfo=UTC)


@st.composite
def trades(draw, n: int):
    side = draw(st.sampled_from(["long", "short"]))
    entry = draw(st.decimals(min_value=Decimal("0.5"), max_value=Decimal(500), places=4))
    opened = START + timedelta(minutes=draw(st.integers(0, 6 * 24 * 60)))
    data = {
        "trade_id": f"AG-{n:04d}",
        "executed_at": opened.isoformat(),
        "symbol": draw(st.sampled_from(["EURUSD", "US500", "XAUUSD"])),
        "side": side,
        "quantity": str(draw(st.integers(1, 9))),
        "entry_price": str(entry),
        "strategy": draw(st.sampled_from(["breakout", ""])),
        "account": draw(st.sampled_from(["desk-a", "desk-b"])),
    }
    risk = draw(
        st.one_of(
            st.none(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("0.4"), places=4)
        )
    )
    if risk is not None:
        data["stop_loss"] = str(entry - risk if side == "long" else entry + risk)
    if draw(st.booleans()) or n % 5:
        held = timedelta(
            seconds=draw(st.integers(1, 3 * 86400)), microseconds=draw(st.integers(0, 999999))
        )
        move = draw(st.decimals(min_value=Decimal("-0.45"), max_value=Decimal("2"), places=4))
        data.update(
            closed_at=(opened + held).isoformat(),
            exit_price=str(max(entry + move, Decimal("0.0001"))),
            pnl=str(
                draw(st.sampled_from([Decimal(0), Decimal("-12.5"), Decimal("40.25")]))
                if draw(st.booleans())
                else draw(st.decimals(min_value=-500, max_value=500, places=2))
            ),
        )
    return data


journals = st.integers(1, 25).flatmap(lambda size: st.tuples(*(trades(n) for n in range(size))))
FILTERS = [
    sources.DayFilter(),
    sources.DayFilter(since=date(2026, 3, 3), until=date(2026, 3, 6)),
    sources.DayFilter(symbol="EURUSD"),
    sources.DayFilter(strategy=""),
    sources.DayFilter(account="desk-b", since=date(2026, 3, 4)),
    sources.DayFilter(symbol="US500", strategy="breakout"),
    sources.DayFilter(symbol="XAUUSD", strategy="", account="desk-a"),
]
GROUPINGS = [("closed_day",), ("symbol",), ("strategy",), ("account",)]


def assert_stored_rows_agree_with_the_trades() -> None:
    assert sources.stored()
    for where in FILTERS:
        for by in GROUPINGS:
            stored = sources.read(where, by)
            direct = sources.from_trades(sources.trades_of(where), by)
            assert stored == direct, (where, by)
        assert metrics.report_of(where) == metrics.report(sources.trades_of(where)), where


@EXAMPLES
@given(journal=journals)
def test_the_daily_summary_and_the_trades_agree(journal):
    assert connection.vendor == "postgresql" and not sources.timescale()
    with transaction.atomic():
        record_trades(list(journal))
        assert_stored_rows_agree_with_the_trades()
        transaction.set_rollback(True)


@pytest.mark.timescale
@pytest.mark.django_db(transaction=True)
@settings(EXAMPLES, max_examples=int(os.environ.get("HYPOTHESIS_CAGG_EXAMPLES", "5")))
@given(journal=journals)
def test_the_continuous_aggregates_and_the_trades_agree(journal):
    """Materialized: the journal's days lie before the refresh policies' watermark (real
    time covers only days after it), as an import of history would."""
    from journal.timescale import refresh_daily_rows

    def refresh():
        with connection.cursor() as cursor:
            refresh_daily_rows(cursor)

    try:
        record_trades(list(journal))
        refresh()
        assert_stored_rows_agree_with_the_trades()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM journal_trade")
        refresh()


def test_each_grain_answers_only_what_it_keeps():
    assert aggregates.grain_for([]) == "day"
    assert aggregates.grain_for(["symbol"]) == "symbol"
    assert aggregates.grain_for(["symbol", "account"]) == "key"
    assert aggregates.GRAIN_CODES == {"key": 0, "symbol": 3, "strategy": 5, "account": 6, "day": 7}
    with pytest.raises(ValueError, match="side"):
        aggregates.grain_for(["side"])


def test_folding_rows_sums_counts_and_keeps_the_extremes():
    rows = [
        {**aggregates.empty(), "trades": 2, "net_pnl": Decimal("5.5"), "largest_win": Decimal(4)},
        {**aggregates.empty(), "trades": 1, "net_pnl": Decimal(-1), "largest_loss": Decimal(-1)},
        {**aggregates.empty(), "largest_win": Decimal(9), "largest_loss": Decimal(-3)},
    ]
    total = aggregates.fold(rows)
    assert (total["trades"], total["net_pnl"]) == (3, Decimal("4.5"))
    assert (total["largest_win"], total["largest_loss"]) == (Decimal(9), Decimal(-3))
    assert aggregates.fold([]) == aggregates.empty()
