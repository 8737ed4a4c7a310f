"""The journal on TimescaleDB: hypertable, indexes, compression, the daily aggregate.

These run in the `timescale` tier (the npm TimescaleDB server in `make test`, or a
native server through TEST_TIMESCALE_URL): one connection at a time.
"""

import json
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.db.models import DateTimeField, Func
from django.db.models.functions import TruncDay
from django.test.utils import CaptureQueriesContext

from journal.analytics import aggregates, metrics, sources
from journal.write.capture import record_trades
from tests.journal.conftest import trade_data

# -- a plain query of the trades, the reference the stored rows are held to --------------
# (it lived in journal.analytics.metrics, where nothing but these tests used it)


class TimeBucket(Func):
    """TimescaleDB's time_bucket('1 day', <column>)."""

    function = "time_bucket"
    template = "%(function)s(INTERVAL '1 day', %(expressions)s)"
    output_field = DateTimeField()


def by_day(queryset=None) -> list[dict]:
    """One row per UTC day with closed trades, oldest first, straight from the trades
    (days bucketed with time_bucket on TimescaleDB)."""
    day = TimeBucket("closed_at") if sources.timescale() else TruncDay("closed_at", tzinfo=UTC)
    dialect = aggregates.dialect_of(connection)
    rows = (
        metrics.closed_trades(queryset)
        .annotate(day=day)
        .values("day")
        .annotate(**aggregates.trade_annotations(dialect, aggregates.TABLE_MEASURES))
        .order_by("day")
    )
    return [
        metrics._finish(
            aggregates.normalised(
                {**row, "day": metrics._as_date(row["day"])}, aggregates.TABLE_MEASURES
            )
        )
        for row in rows
    ]


pytestmark = [pytest.mark.timescale]


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def closed_at_day(trade_id, opened: datetime, pnl: str, symbol="EURUSD"):
    return trade_data(
        trade_id=trade_id,
        opened=opened,
        closed_at=(opened + timedelta(hours=1)).isoformat(),
        pnl=pnl,
        symbol=symbol,
    )


@pytest.mark.django_db
def test_trades_are_a_hypertable_in_chunks_of_a_week():
    rows = query(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions "
        "WHERE hypertable_name = 'journal_trade'"
    )
    assert rows == [("executed_at", timedelta(days=7))]


@pytest.mark.django_db
def test_the_key_is_unique_and_id_is_indexed_without_a_primary_key():
    indexes = dict(
        query("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'journal_trade'")
    )
    assert "UNIQUE" in indexes["journal_trade_key"]
    assert "(trade_id, executed_at)" in indexes["journal_trade_key"]
    assert any("(id)" in d and "UNIQUE" not in d for d in indexes.values())
    assert "journal_trade_pkey" not in indexes
    # create_hypertable's own executed_at index is dropped for the model's named one.
    assert "journal_trade_executed_at_idx" not in indexes
    assert "journal_trade_time_idx" in indexes


@pytest.mark.django_db
def test_compression_and_refresh_policies_are_registered():
    settings_rows = query(
        "SELECT attname, segmentby_column_index, orderby_column_index "
        "FROM timescaledb_information.compression_settings "
        "WHERE hypertable_name = 'journal_trade' ORDER BY attname"
    )
    by_column = {name: (seg, order) for name, seg, order in settings_rows}
    assert by_column["symbol"][0] == 1
    assert by_column["executed_at"][1] == 1 and by_column["trade_id"][1] == 2
    jobs = {
        proc: json.loads(config)
        for proc, config in query(
            "SELECT proc_name, config FROM timescaledb_information.jobs "
            "WHERE proc_name IN ('policy_compression', 'policy_refresh_continuous_aggregate')"
        )
    }
    assert jobs["policy_compression"]["compress_after"] == "30 days"
    assert jobs["policy_refresh_continuous_aggregate"]["start_offset"] == "90 days"


@pytest.mark.django_db(transaction=True)
def test_old_chunks_compress_and_capture_stays_idempotent_on_them():
    # Transactional: the compression policy commits as it goes.
    old = datetime.now(UTC) - timedelta(days=60)
    batch = [closed_at_day(f"OLD-{i}", old + timedelta(minutes=i), "10") for i in range(20)]
    assert record_trades(batch).created == 20
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'journal_trade'"
    )[0]
    query("CALL run_job(%s)", [job_id])
    compressed = query(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'journal_trade' AND is_compressed"
    )[0][0]
    assert compressed >= 1
    again = record_trades(batch)
    assert (again.created, again.duplicates) == (0, 20)
    late = record_trades([closed_at_day("OLD-late", old + timedelta(hours=2), "5")])
    assert late.created == 1
    assert query("SELECT count(*) FROM journal_trade WHERE trade_id LIKE 'OLD-%%'")[0][0] == 21


@pytest.mark.django_db(transaction=True)
def test_open_trades_stay_counted_through_compression_and_a_late_close():
    """The open trades' table (row triggers) on the hypertable: an open trade in a chunk
    that is then compressed, closed later, leaves the table."""
    from journal.models import OpenTrade

    old = datetime.now(UTC) - timedelta(days=60)
    opened = [
        trade_data(
            trade_id=f"OPEN-{i}",
            opened=old + timedelta(minutes=i),
            closed_at=None,
            exit_price=None,
            pnl=None,
        )
        for i in range(3)
    ]
    record_trades(opened)
    assert OpenTrade.objects.count() == 3
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'journal_trade'"
    )[0]
    query("CALL run_job(%s)", [job_id])
    closing = {**opened[0], "closed_at": (old + timedelta(hours=5)).isoformat()}
    record_trades([{**closing, "exit_price": "1.09", "pnl": "12"}])
    open_ids = {row[0] for row in query("SELECT id FROM journal_trade WHERE status = 'open'")}
    assert set(OpenTrade.objects.values_list("trade_pk", flat=True)) == open_ids
    assert len(open_ids) == 2


@pytest.fixture
def three_days(db):
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    record_trades(
        [
            closed_at_day("A1", start, "100"),
            closed_at_day("A2", start + timedelta(hours=3), "-40", symbol="GBPUSD"),
            closed_at_day("A3", start + timedelta(days=1), "-80"),
            closed_at_day("A4", start + timedelta(days=2), "50", symbol="GBPUSD"),
            # Opened on day 2, closed on day 4: it counts on day 4.
            trade_data(
                trade_id="A5",
                opened=start + timedelta(hours=1),
                closed_at=(start + timedelta(days=2, hours=5)).isoformat(),
                pnl="30",
            ),
        ]
    )


def plain_daily(**filters):
    rows = by_day(metrics.closed_trades().filter(**filters))
    return [{k: r[k] for k in ("day", "trades", "wins", "losses", "net_pnl")} for r in rows]


def test_the_daily_aggregate_gives_the_figures_of_the_plain_query(three_days):
    expected = [
        {"day": date(2026, 3, 2), "trades": 2, "wins": 1, "losses": 1, "net_pnl": D(60)},
        {"day": date(2026, 3, 3), "trades": 1, "wins": 0, "losses": 1, "net_pnl": D(-80)},
        {"day": date(2026, 3, 4), "trades": 2, "wins": 2, "losses": 0, "net_pnl": D(80)},
    ]
    with CaptureQueriesContext(connection) as queries:
        from_view = metrics.daily_pnl()
    assert "journal_daily_pnl" in queries[-1]["sql"]
    assert from_view == expected == plain_daily()
    assert metrics.daily_pnl(symbol="GBPUSD") == plain_daily(symbol="GBPUSD")


def test_without_the_summary_triggers_the_report_reads_the_continuous_aggregates(three_days):
    """TimescaleDB refuses transition tables on hypertables: no daily summary here; the
    continuous aggregates of each grain answer, with the figures of the trades."""
    from journal.analytics import summary
    from journal.models import Trade
    from journal.query_filters import MetricsFilter

    assert not summary.available()
    filterset = MetricsFilter({"symbol": "GBPUSD"}, queryset=Trade.objects.all())
    assert filterset.is_valid()
    with CaptureQueriesContext(connection) as queries:
        served = metrics.report_for(filterset)
    sql = " ".join(q["sql"] for q in queries)
    assert "FROM journal_daily_pnl_symbol" in sql and "FROM journal_daily_pnl\n" in sql
    assert served == metrics.report(filterset.qs)
    assert served["summary"]["trades"] == 2


@pytest.mark.django_db(transaction=True)
def test_the_materialized_aggregate_matches_after_a_refresh():
    start = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    record_trades(
        [closed_at_day(f"R{i}", start + timedelta(hours=7 * i), str(10 - i)) for i in range(12)]
    )
    from journal.timescale import CAGG_VIEWS, refresh_daily_rows

    try:
        with connection.cursor() as cursor:
            refresh_daily_rows(cursor)
        materialized = query("SELECT count(*) FROM _timescaledb_catalog.continuous_agg")[0][0]
        assert materialized == len(CAGG_VIEWS) == 5
        assert metrics.daily_pnl() == plain_daily()
        assert sum(row["trades"] for row in metrics.daily_pnl()) == 12
    finally:
        query("DELETE FROM journal_trade")
        with connection.cursor() as cursor:
            refresh_daily_rows(cursor)
    assert metrics.daily_pnl() == []


@pytest.mark.django_db
def test_approximate_row_count_answers_on_the_hypertable():
    record_trades([trade_data() for _ in range(5)])
    (count,) = query("SELECT approximate_row_count('journal_trade')")[0]
    assert count >= 0


@pytest.mark.django_db
def test_the_chunked_aggregate_is_never_jit_compiled_in_the_applications_sessions():
    """JIT spent 8.5 of 8.8 s compiling a chunked aggregate of 200,000 trades (bench/jit.py
    measures it: the dashboard's and the report's queries cost millions at 200,000
    trades, far past the default thresholds). On a native TimescaleDB with JIT, the
    application's session plans by_day over 40 daily chunks without JIT even with every
    threshold at 0; the same session with JIT switched on compiles it."""
    if os.environ.get("TSDB_SERVER_PID"):  # the harness's WebAssembly build
        query("SET jit = on")
        assert not query("SELECT pg_jit_available()")[0][0], (
            "the WebAssembly build has JIT now: test it like a native one"
        )
        return
    assert query("SHOW jit") == [("off",)]
    start = datetime.now(UTC) - timedelta(days=40)
    record_trades(
        [
            closed_at_day(f"J-{day}-{n}", start + timedelta(days=day, minutes=n), "5")
            for day in range(40)
            for n in range(5)
        ]
    )
    with CaptureQueriesContext(connection) as captured:
        by_day()
    sql = captured.captured_queries[-1]["sql"]

    def compiled() -> int:
        (plan,) = query(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")[0]
        plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
        return plan.get("JIT", {}).get("Functions", 0)

    query("SET jit_above_cost = 0")
    try:
        assert compiled() == 0
        query("SET jit = on")
        assert query("SELECT pg_jit_available()")[0][0], "a native server without JIT"
        assert compiled() > 0
    finally:
        query("SET jit = off")
        query("RESET jit_above_cost")


@pytest.mark.django_db(transaction=True)
def test_the_estimated_trade_count_holds_with_compressed_chunks():
    """approximate_row_count() reckons a compressed chunk at about a thousand rows for
    each compressed row: with 10,000 trades a list page said "about 960,842 trades"
    (bench/admin_pages.py). The estimate takes a compressed chunk's rows from its compression
    record instead."""
    from journal.selectors import approximate_trade_count

    start = datetime.now(UTC) - timedelta(days=70)
    batch = [
        trade_data(
            trade_id=f"EST-{i}",
            opened=start + timedelta(hours=6 * i),
            symbol=("EURUSD", "GBPUSD", "USDJPY")[i % 3],
        )
        for i in range(240)  # 60 days, three symbols (three compressed rows a chunk)
    ]
    # In batches under the COPY threshold (the WebAssembly test server has no COPY).
    assert sum(record_trades(batch[n : n + 40]).created for n in range(0, 240, 40)) == 240
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'journal_trade'"
    )[0]
    query("CALL run_job(%s)", [job_id])
    query("ANALYZE journal_trade")
    assert (
        query(
            "SELECT count(*) FROM timescaledb_information.chunks "
            "WHERE hypertable_name = 'journal_trade' AND is_compressed"
        )[0][0]
        >= 2
    )
    estimate = approximate_trade_count()
    assert estimate is not None and 0.8 * 240 <= estimate <= 1.2 * 240, estimate


@pytest.mark.django_db(transaction=True)
def test_the_instrument_checks_are_recorded_on_the_hypertable_by_every_statement():
    """Flags are kept beside the hypertable, written by the statement that stores the
    trade (a data-modifying CTE): the INSERT of a batch, the INSERT ... SELECT of the
    staged path (filled by INSERT here: this server has no COPY), the close of a trade
    in a compressed chunk, and the migration's back-fill."""
    from psycopg.types.json import Jsonb

    from journal.domain.trade_record import parse_record
    from journal.instruments import forget, instruments_seed
    from journal.models import TradeCheck
    from journal.write import checks, storage

    instruments_seed()
    forget()
    old = datetime.now(UTC) - timedelta(days=60)

    def us500(trade_id, opened, **overrides):
        fields = {"symbol": "US500", "quantity": "2", "entry_price": "5711.25"}
        fields.update(exit_price="5720.50", fees="9", pnl="916", signals=None)
        return trade_data(trade_id=trade_id, opened=opened, **{**fields, **overrides})

    small = record_trades(
        [us500("TS-TICK", old, entry_price="5711.10", closed_at=None, exit_price=None, pnl=None)]
    )
    assert small.warnings[0]["field"] == "entry_price"
    staged = [
        parse_record(us500("TS-SIZE", old + timedelta(hours=5), quantity="0.37", pnl="162.13")),
        parse_record(us500("TS-STOP", old + timedelta(hours=6), stop_loss="5700.1")),
        parse_record(us500("TS-CLEAN", old + timedelta(hours=7))),
    ]
    with transaction.atomic(), connection.cursor() as cursor:  # the stage lives in it
        cursor.execute(f"DROP TABLE IF EXISTS {storage.STAGE}")
        cursor.execute(storage.CREATE_STAGE)
        marks = ", ".join(["%s"] * len(storage.COLUMNS))
        for record in staged:
            cursor.execute(
                f"INSERT INTO {storage.STAGE} VALUES ({marks})",  # noqa: S608 - fixed names
                storage.row_values(record, datetime.now(UTC), Jsonb),
            )
        assert storage.move_stage(cursor) == (3, 0)
    (job_id,) = query(
        "SELECT job_id FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'journal_trade'"
    )[0]
    query("CALL run_job(%s)", [job_id])
    # The open trade, now in a compressed chunk, closed with a P&L its prices do not make.
    closing = us500("TS-TICK", old, entry_price="5711.10", pnl="1")
    assert record_trades([closing]).closed == 1
    flags = {c.trade_id: c.flagged for c in TradeCheck.objects.all()}
    assert flags == {
        "TS-TICK": ("entry_price_off_tick", "pnl_mismatch"),
        "TS-SIZE": ("quantity_off_step",),
        "TS-STOP": ("stop_loss_off_tick",),
    }
    # The migration's back-fill reads the hypertable, compressed chunks included.
    TradeCheck.objects.all().delete()
    from django.apps import apps

    checks.backfill(
        connection,
        apps.get_model("journal", "Trade"),
        apps.get_model("journal", "Instrument"),
        TradeCheck,
    )
    assert {c.trade_id: c.flagged for c in TradeCheck.objects.all()} == flags
