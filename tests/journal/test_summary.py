"""The daily summary (journal/analytics/summary.py) gives the same report as the trades, whatever
wrote them: API capture, closing later, both imports, a delete, an edit, a truncate."""

import csv
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from journal.analytics import metrics, summary
from journal.api import _jsonable
from journal.domain.trade_record import FIELDS
from journal.models import Trade
from journal.query_filters import MetricsFilter
from journal.write.capture import record_trades
from journal.write.imports import import_file

pytestmark = pytest.mark.django_db

START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
SYMBOLS = ("EURUSD", "GBPUSD", "ES=F")
STRATEGIES = ("breakout", "mean-revert")
ACCOUNTS = ("desk-a", "desk-b")


def trade(n: int, rng: random.Random, *, closed: bool = True) -> dict:
    opened = START + timedelta(hours=7 * n + rng.randint(0, 5), minutes=rng.randint(0, 59))
    data = {
        "trade_id": f"S-{n:05d}",
        "executed_at": opened.isoformat(),
        "symbol": rng.choice(SYMBOLS),
        "side": rng.choice(("long", "short")),
        "quantity": str(rng.randint(1, 9)),
        "entry_price": f"{rng.uniform(1, 100):.4f}",
        "fees": f"{rng.uniform(0, 2):.2f}",
        "strategy": rng.choice(STRATEGIES),
        "account": rng.choice(ACCOUNTS),
    }
    if closed:
        data.update(
            closed_at=(opened + timedelta(minutes=rng.randint(1, 3000))).isoformat(),
            exit_price=f"{rng.uniform(1, 100):.4f}",
            pnl=f"{rng.uniform(-50, 50):.2f}",
        )
    return data


def write_csv(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([row.get(name, "") for name in FIELDS])


FILTERS = [
    {},
    {"symbol": "NOSUCH"},
    {"symbol": "eurusd"},
    {"strategy": "breakout", "account": "desk-b"},
    {"since": "2026-02-05T00:00:00Z", "until": "2026-02-12T00:00:00+00:00"},
    {"since": "2026-02-06T01:00:00+01:00", "symbol": "ES=F"},  # a UTC midnight
]


def assert_summary_agrees(params: dict) -> None:
    filterset = MetricsFilter(params, queryset=Trade.objects.all())
    assert filterset.is_valid(), filterset.errors
    assert metrics.summary_filters(filterset.form.cleaned_data) is not None, params
    from_summary = metrics.report_for(filterset)
    from_trades = metrics.report(filterset.qs)
    assert from_summary == from_trades, params
    assert _jsonable(from_summary) == _jsonable(from_trades), params  # the API's text too


@pytest.fixture
def mixed_journal(tmp_path):
    rng = random.Random(7)
    # The API: closed trades, and open ones that close in a later call.
    record_trades([trade(n, rng) for n in range(0, 60)])
    opened = [trade(n, rng, closed=False) for n in range(60, 80)]
    record_trades(opened)
    closing = []
    for n, item in enumerate(opened[:12], start=60):
        later = trade(n, rng)
        closing.append(
            {
                **item,
                "closed_at": (
                    datetime.fromisoformat(item["executed_at"]) + timedelta(hours=3)
                ).isoformat(),
                "exit_price": later["exit_price"],
                "pnl": later["pnl"],
            }
        )
    record_trades(closing)
    # The fast import, and the row-by-row import (a lower-case symbol).
    fast = tmp_path / "fast.csv"
    write_csv(fast, [trade(n, rng) for n in range(80, 160)])
    assert import_file(fast).method == "fast_copy"
    slow = tmp_path / "slow.csv"
    write_csv(slow, [trade(n, rng) | {"symbol": "gbpusd"} for n in range(160, 200)])
    assert import_file(slow).method == "copy"
    return rng


def test_the_summary_is_kept_on_plain_postgresql():
    assert connection.vendor == "postgresql"
    assert summary.available()


def test_every_writer_keeps_the_summary_in_step_with_the_trades(mixed_journal):
    assert Trade.objects.filter(status="closed").count() == 60 + 12 + 80 + 40
    for params in FILTERS:
        assert_summary_agrees(params)


def test_compaction_folds_rows_and_keeps_every_figure(mixed_journal):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT (closed_day, symbol, strategy, account)) "
            "FROM journal_daily_summary"
        )
        rows, keys = cursor.fetchone()
    assert rows > keys  # several writes per key
    before, after = summary.compact(datetime(2100, 1, 1).date())
    assert (before, after) == (rows, keys)
    for params in FILTERS:
        assert_summary_agrees(params)


def test_a_delete_an_edit_and_a_truncate_are_followed(mixed_journal):
    victim = Trade.objects.filter(status="closed").order_by("id")[3]
    Trade.objects.filter(id=victim.id).delete()
    with connection.cursor() as cursor:  # the application never does this; a console might
        cursor.execute(
            "UPDATE journal_trade SET pnl = pnl + 1000, symbol = 'XAUUSD' "
            "WHERE id IN (SELECT id FROM journal_trade WHERE status = 'closed' "
            "ORDER BY id LIMIT 2)"
        )
    for params in FILTERS:
        assert_summary_agrees(params)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE journal_trade")
        cursor.execute("SELECT count(*) FROM journal_daily_summary")
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize(
    "params",
    [{"side": "long"}, {"since": "2026-02-05T09:30:00Z"}, {"status": "closed"}],
)
def test_filters_the_summary_cannot_answer_read_the_trades(mixed_journal, params):
    filterset = MetricsFilter(params, queryset=Trade.objects.all())
    assert filterset.is_valid()
    assert metrics.summary_filters(filterset.form.cleaned_data) is None
    assert metrics.report_for(filterset) == metrics.report(filterset.qs)


def test_the_metrics_api_reads_the_summary(mixed_journal, reader):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE journal_daily_summary SET trades = trades + 1000")
    answer = reader.get("/api/v1/metrics", {"symbol": "EURUSD"})
    assert answer.status_code == 200
    # The planted difference shows that the figures came from the summary.
    trades = Trade.objects.filter(status="closed", symbol="EURUSD").count()
    assert answer.json()["summary"]["trades"] > trades + 999


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_waits_for_a_compaction_in_flight(mixed_journal):
    """A compaction (another connection, not yet committed) and a delete's rebuild of
    the same keys: without the shared lock the rebuild would miss the compaction's
    folded rows and count those keys twice."""
    import threading
    import time

    import psycopg

    s = connection.settings_dict
    other = psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"]
    )
    folded = threading.Event()
    release = threading.Event()

    def compact_slowly():
        with other.cursor() as cursor:
            cursor.execute(summary.LOCK_SQL)
            cursor.execute(summary.COMPACT_SQL, [datetime(2100, 1, 1).date()])
            folded.set()
            release.wait(10)
        other.commit()

    worker = threading.Thread(target=compact_slowly)
    worker.start()
    try:
        assert folded.wait(10)
        victim = Trade.objects.filter(status="closed").order_by("id").first()
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        Trade.objects.filter(id=victim.id).delete()  # its rebuild waits for the lock
        assert time.monotonic() - started > 0.5
    finally:
        release.set()
        worker.join(10)
        other.close()
    for params in FILTERS:
        assert_summary_agrees(params)


def test_the_compaction_command_reports_what_it_folded(mixed_journal):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("compact_trade_summary", stdout=out)
    before, after = (int(word) for word in out.getvalue().split() if word.isdigit())
    assert before > after > 0
    again = io.StringIO()
    call_command("compact_trade_summary", stdout=again)
    assert f"compacted {after} summary row(s) of past days into {after}" in again.getvalue()
