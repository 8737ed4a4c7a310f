"""Money is exact on every database: SQLite, PostgreSQL and TimescaleDB give the same
Decimal for the same trades.

SQLite keeps a decimal column as a float and its own ``sum`` adds floats (the demo's
account once came to 9029.95000000001); backoffice.core.db.money sums it as Decimals. Each tier
runs this property against the same reference, exact sums in Python, so the three
databases agree with each other: the sums and averages of the report, the daily rows the
gate and the dashboard read, the dashboard's money tiles and the metrics API's body.
The trades' amounts stay within the 15 significant digits SQLite stores.
"""

import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from backoffice.core import formatting
from backoffice.core.db.money import ExactSum
from journal.admin.dashboard import tiles
from journal.admin.dashboard_figures import Selection, dashboard_figures
from journal.analytics import metrics, sources
from journal.models import Trade
from journal.write.capture import record_trades

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_MONEY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
# Amounts whose float sum carries an artefact at SQLite's 15 digits: 93.6100000000001.
FLOAT_TRAPS = ["424.66", "-410.09", "-359.21", "438.25"]
amounts = st.one_of(
    st.sampled_from([Decimal(text) for text in [*FLOAT_TRAPS, "0.1", "0.2", "-0.3", "9029.95"]]),
    st.decimals(min_value=-50_000, max_value=50_000, places=2),
    st.decimals(min_value=-999_999, max_value=999_999, places=8),  # 14 digits
)


@st.composite
def trade(draw, n: int) -> dict:
    opened = START + timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
    return {
        "trade_id": f"MX-{n:04d}",
        "executed_at": opened.isoformat(),
        "closed_at": (opened + timedelta(minutes=draw(st.integers(1, 3000)))).isoformat(),
        "symbol": draw(st.sampled_from(["EURUSD", "US500", "BTCUSD"])),
        "side": draw(st.sampled_from(["long", "short"])),
        "quantity": "1",
        "entry_price": "100",
        "exit_price": "101",
        "fees": str(draw(st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("7.35")]))),
        "pnl": str(draw(amounts)),
        "strategy": draw(st.sampled_from(["breakout", "trend-follow"])),
        "account": "desk-main",
    }


journals = st.integers(1, 30).flatmap(lambda size: st.tuples(*(trade(n) for n in range(size))))
TRAP_JOURNAL = tuple(
    {
        "trade_id": f"MX-T{n}",
        "executed_at": (START + timedelta(hours=n)).isoformat(),
        "closed_at": (START + timedelta(hours=n, minutes=30)).isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1",
        "entry_price": "100",
        "exit_price": "101",
        "fees": "0",
        "pnl": text,
        "strategy": "breakout",
        "account": "desk-main",
    }
    for n, text in enumerate(FLOAT_TRAPS)
)


def reference(journal) -> dict:
    """The figures, summed exactly in Python from the records."""
    pnls = [Decimal(t["pnl"]) for t in journal]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    days: dict = defaultdict(Decimal)
    symbols: dict = defaultdict(Decimal)
    for t in journal:
        closed = datetime.fromisoformat(t["closed_at"]).astimezone(UTC).date()
        days[closed] += Decimal(t["pnl"])
        symbols[t["symbol"]] += Decimal(t["pnl"])
    return {
        "net_pnl": sum(pnls, Decimal(0)),
        "gross_profit": sum(wins, Decimal(0)),
        "gross_loss": sum(losses, Decimal(0)),
        "largest_win": max(wins, default=None),
        "largest_loss": min(losses, default=None),
        "average_win": sum(wins, Decimal(0)) / len(wins) if wins else None,
        "average_loss": sum(losses, Decimal(0)) / len(losses) if losses else None,
        "expectancy": sum(pnls, Decimal(0)) / len(pnls),
        "days": dict(days),
        "symbols": dict(symbols),
    }


def assert_exact(journal) -> None:
    expected = reference(journal)
    report = metrics.report()
    summary = report["summary"]
    for name in (
        "net_pnl",
        "gross_profit",
        "gross_loss",
        "largest_win",
        "largest_loss",
        "average_win",
        "average_loss",
        "expectancy",
    ):
        assert summary[name] == expected[name], (name, summary[name], expected[name])
        assert not isinstance(summary[name], float), name
    assert {row["day"]: row["net_pnl"] for row in report["by_day"]} == expected["days"]
    assert {row["symbol"]: row["net_pnl"] for row in report["by_symbol"]} == expected["symbols"]
    # The daily rows the risk gate and the dashboard read (the stored ones where kept).
    daily = metrics.daily_pnl()
    assert {row["day"]: row["net_pnl"] for row in daily} == expected["days"]
    stored = metrics.report_of(sources.DayFilter())["summary"]
    assert stored["net_pnl"] == expected["net_pnl"]
    assert Trade.objects.aggregate(total=ExactSum("pnl"))["total"] == expected["net_pnl"]
    # The dashboard's money tiles.
    figures = dashboard_figures(selection=Selection(period="all", since=None, until=None))
    shown = {tile["label"]: tile["value"] for row in tiles(figures) for tile in row}
    decimals = formatting.CURRENCY_DECIMALS.get(figures["currency"], 2)
    assert shown["Net P&L"] == formatting.number(expected["net_pnl"], decimals, signed=True)
    assert shown["Largest loss"] == formatting.number(
        expected["largest_loss"], decimals, signed=True
    )
    # The metrics API: decimal text, never a float's.
    _, raw = api_key_create(name=f"money-reader-{len(journal)}", scopes="trades:read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = client.get("/api/v1/metrics").json()["summary"]
    assert Decimal(body["net_pnl"]) == expected["net_pnl"], body["net_pnl"]
    assert Decimal(body["gross_loss"]) == expected["gross_loss"], body["gross_loss"]


@pytest.mark.smoke
@EXAMPLES
@example(journal=TRAP_JOURNAL)
@given(journal=journals)
def test_money_sums_are_exact(journal):
    """On SQLite (the sqlite tier) and plain PostgreSQL (the postgres tier)."""
    with transaction.atomic():
        record_trades(list(journal))
        assert_exact(journal)
        transaction.set_rollback(True)


@pytest.mark.timescale
@pytest.mark.django_db(transaction=True)
@settings(EXAMPLES, max_examples=int(os.environ.get("HYPOTHESIS_MONEY_CAGG_EXAMPLES", "5")))
@example(journal=TRAP_JOURNAL)
@given(journal=journals)
def test_money_sums_are_exact_on_timescaledb(journal):
    """From the continuous aggregates, materialized as an import of history leaves them."""
    from journal.timescale import refresh_daily_rows

    def refresh():
        with connection.cursor() as cursor:
            refresh_daily_rows(cursor)

    try:
        record_trades(list(journal))
        refresh()
        assert_exact(journal)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM journal_trade")
            cursor.execute("DELETE FROM backoffice_apikey")
        refresh()


def test_sqlite_float_sums_are_what_this_guards_against():
    """The trap itself: adding these amounts as floats does not give their sum."""
    import sqlite3

    with sqlite3.connect(":memory:") as plain:
        plain.execute("CREATE TABLE t (pnl decimal)")
        plain.executemany("INSERT INTO t VALUES (?)", [(text,) for text in FLOAT_TRAPS])
        (floats,) = plain.execute("SELECT sum(pnl) FROM t").fetchone()
    exact = sum((Decimal(text) for text in FLOAT_TRAPS), Decimal(0))
    assert Decimal(repr(floats)) != exact
