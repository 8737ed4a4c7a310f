"""One definition of the R-multiple (issue 28): journal.domain.r_multiple.

Before, R was computed three times (the aggregates' SQL, the trade page, serving's live
judging) and only the judging dropped a stop on the wrong side of the entry. Now the
rule is written once per language and every path agrees, for any trade (hypothesis):

- the Python function, which the pages, the export, positions and the recap show;
- its SQL (R_SQL), which the daily rows, the continuous aggregates and the reports sum;
- the trade list's ORM expression, which the list sorts by and the database indexes;
- serving's judging of a model version's live trades.

Trades with a stop on the wrong side cannot be captured any more; they are written here
as SQL would write them (bulk_create), as trades stored before that refusal were.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.analytics import metrics, sources
from journal.analytics.trade_figures import r_multiple_expression
from journal.domain.r_multiple import R_SQL, initial_risk, r_multiple, why_no_r
from journal.models import Trade
from serving.live.judging import LiveTrade
from serving.live.judging import r_multiple as judged_r

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("side", "entry", "exit_price", "stop", "r", "why"),
    [
        ("long", "100", "110", "95", "2", ""),
        ("long", "100", "97.5", "95", "-0.5", ""),
        ("short", "100", "90", "105", "2", ""),
        ("short", "100", "110", "105", "-2", ""),
        ("long", "100", "110", None, None, "no initial stop recorded"),
        ("long", "100", "110", "100", None, "the initial stop is at the entry"),
        # A stop moved into profit (or mistyped): it risked nothing R could measure.
        ("long", "100", "110", "105", None, "the stop is on the wrong side of a long's entry"),
        ("short", "100", "90", "95", None, "the stop is on the wrong side of a short's entry"),
        ("long", "100", None, "95", None, "open"),
    ],
)
def test_the_rule_in_words(side, entry, exit_price, stop, r, why):
    def dec(value):
        return None if value is None else D(value)

    assert r_multiple(side, D(entry), dec(exit_price), dec(stop)) == dec(r)
    assert why_no_r(side, D(entry), dec(exit_price), dec(stop)) == why
    if r is not None:
        assert initial_risk(side, D(entry), dec(stop)) == D(5)


prices = st.decimals(min_value=D("1.00000"), max_value=D("1.20000"), places=5)
journals = st.lists(
    st.tuples(
        st.sampled_from(["long", "short"]),
        prices,  # entry
        st.one_of(st.none(), prices),  # exit, or open
        # a stop anywhere: below, at or above the entry, or none
        st.one_of(st.none(), prices),
    ),
    min_size=1,
    max_size=15,
)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


def write(journal) -> list[Trade]:
    """The trades as SQL would store them (no capture checks)."""
    return Trade.objects.bulk_create(
        [
            Trade(
                trade_id=f"R-{n:03d}",
                executed_at=START + timedelta(hours=n),
                closed_at=None if exit_price is None else START + timedelta(hours=n, minutes=30),
                symbol="EURUSD",
                side=side,
                quantity=D(1),
                entry_price=entry,
                exit_price=exit_price,
                pnl=None if exit_price is None else D("1.00"),
                stop_loss=stop,
                status="open" if exit_price is None else "closed",
            )
            for n, (side, entry, exit_price, stop) in enumerate(journal)
        ]
    )


def close_to(a, b) -> bool:
    """Equal to 12 significant places (SQLite divides in floats)."""
    if a is None or b is None:
        return a is None and b is None
    return abs(D(str(a)) - D(str(b))) <= D("1e-12") * max(1, abs(D(str(b))))


def assert_every_path_agrees(journal) -> None:
    expected = {
        f"R-{n:03d}": r_multiple(side, entry, exit_price, stop)
        for n, (side, entry, exit_price, stop) in enumerate(journal)
    }
    orm = dict(Trade.objects.annotate(r=r_multiple_expression()).values_list("trade_id", "r"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT trade_id, {R_SQL} FROM journal_trade")  # noqa: S608 - fixed SQL
        sql = dict(cursor.fetchall())
    for trade_id, r in expected.items():
        assert close_to(orm[trade_id], r), (trade_id, orm[trade_id], r)
        assert close_to(sql[trade_id], r), (trade_id, sql[trade_id], r)
    for n, (side, entry, exit_price, stop) in enumerate(journal):
        if exit_price is not None:
            live = LiveTrade(side, entry, exit_price, stop, D("1.00"), None)
            assert close_to(judged_r(live), expected[f"R-{n:03d}"])
    # The reports sum the same Rs: the trades' own rows and (where kept) the stored ones.
    rs = [r for r in expected.values() if r is not None]
    direct = metrics.report(Trade.objects.all())["summary"]
    assert direct["r_trades"] == len(rs)
    if rs:
        assert close_to(direct["expectancy_r"], sum(rs) / len(rs))
    if sources.stored():
        assert metrics.report_of(sources.DayFilter())["summary"]["r_trades"] == len(rs)


@pytest.mark.smoke
@EXAMPLES
@given(journal=journals)
def test_every_path_gives_the_same_r_for_any_trade(journal):
    with transaction.atomic():
        write(journal)
        assert_every_path_agrees(journal)
        transaction.set_rollback(True)


@pytest.mark.timescale
@pytest.mark.django_db(transaction=True)
@settings(EXAMPLES, max_examples=4)
@given(journal=journals)
def test_the_continuous_aggregates_count_the_same_rs(journal):
    from journal.timescale import refresh_daily_rows

    def refresh():
        with connection.cursor() as cursor:
            refresh_daily_rows(cursor)

    try:
        write(journal)
        refresh()
        assert_every_path_agrees(journal)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM journal_trade")
        refresh()
