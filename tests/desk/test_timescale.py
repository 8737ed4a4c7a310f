"""The desk on TimescaleDB: hypertables, retention, compression, append-only history."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import InternalError, ProgrammingError, connection, transaction

from desk.models import Decision
from desk.services import idea_submit
from tests.desk.conftest import idea

pytestmark = [pytest.mark.timescale, pytest.mark.django_db]

SNAPSHOTS = (
    "desk_marketbar",
    "desk_indicatorsnapshot",
    "desk_calendarevent",
    "desk_newsitem",
    "desk_accountsnapshot",
)


def query(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def test_decisions_and_snapshots_are_hypertables():
    tables = {
        row[0] for row in query("SELECT hypertable_name FROM timescaledb_information.hypertables")
    }
    assert {"desk_decision", *SNAPSHOTS} <= tables


def test_snapshots_have_a_30_day_retention_and_decisions_compress_never_drop():
    jobs = query(
        "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs "
        "WHERE hypertable_name LIKE 'desk_%%'"
    )
    retention = {t: json.loads(c)["drop_after"] for p, t, c in jobs if p == "policy_retention"}
    assert retention == dict.fromkeys(SNAPSHOTS, "30 days")
    decision_jobs = {p: json.loads(c) for p, t, c in jobs if t == "desk_decision"}
    assert set(decision_jobs) == {"policy_compression"}
    assert decision_jobs["policy_compression"]["compress_after"] == "90 days"


def test_the_database_refuses_to_rewrite_a_decision_on_the_hypertable(open_desk):
    submitted, _ = idea_submit(idea=idea(), actor="bot")
    assert Decision.objects.filter(trade_idea=submitted).exists()
    for statement in ("UPDATE desk_decision SET actor = 'x'", "DELETE FROM desk_decision"):
        with pytest.raises((InternalError, ProgrammingError), match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)


def test_bootstrap_requires_and_finds_timescaledb():
    out = io.StringIO()
    call_command("bootstrap", "--require-timescale", stdout=out)
    text = out.getvalue()
    assert "timescaledb" in text and "installed" in text
    assert "hypertables" in text and "8 present" in text  # serving's prediction records too


def test_one_command_reapplies_every_apps_policies_after_a_setting_changes(settings):
    """DESK_SNAPSHOT_RETENTION_DAYS had no re-apply path; one command covers every app."""
    settings.DESK_SNAPSHOT_RETENTION_DAYS = 45
    settings.JOURNAL_COMPRESS_AFTER_DAYS = 14
    settings.JOURNAL_CHUNK_DAYS = 1  # a desk recording a million trades a day
    out = io.StringIO()
    try:
        call_command("timescale_policies", stdout=out)
        jobs = query(
            "SELECT proc_name, hypertable_name, config FROM timescaledb_information.jobs "
            "WHERE proc_name IN ('policy_retention', 'policy_compression')"
        )
        retention = {t: json.loads(c)["drop_after"] for p, t, c in jobs if p == "policy_retention"}
        # The prediction records keep their own setting (SERVING_RECORD_RETENTION_DAYS).
        assert retention == {
            **dict.fromkeys(SNAPSHOTS, "45 days"),
            "serving_predictionrecord": f"{settings.SERVING_RECORD_RETENTION_DAYS} days",
        }
        compression = {
            t: json.loads(c)["compress_after"] for p, t, c in jobs if p == "policy_compression"
        }
        assert compression["journal_trade"] == "14 days"
        assert "desk: retention of snapshots: 45 days" in out.getvalue()
        assert "journal: compression of trade chunks older than 14 days" in out.getvalue()
        interval = query(
            "SELECT time_interval FROM timescaledb_information.dimensions "
            "WHERE hypertable_name = 'journal_trade'"
        )
        assert interval == [(timedelta(days=1),)]
        assert "journal: new trade chunks of 1 day\n" in out.getvalue()
    finally:
        settings.DESK_SNAPSHOT_RETENTION_DAYS = 30
        settings.JOURNAL_COMPRESS_AFTER_DAYS = 30
        settings.JOURNAL_CHUNK_DAYS = 7
        call_command("timescale_policies", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_the_gate_reads_the_days_pnl_from_the_continuous_aggregate(open_desk):
    """On TimescaleDB the gate's today and drawdown come from journal_daily_pnl (real-time
    for what is not materialized yet, materialized after a refresh: the same figures)."""

    from django.utils import timezone

    from desk.services import forget_pnl_history
    from journal.write.capture import record_trades
    from tests.journal.conftest import trade_data

    now = timezone.now()
    record_trades(
        [
            trade_data(opened=now - timedelta(days=2), pnl="400"),
            trade_data(opened=now - timedelta(days=1), pnl="-700"),
            trade_data(opened=now - timedelta(minutes=40), closed_at=now.isoformat(), pnl="-80"),
        ]
    )
    _, before = idea_submit(idea=idea(), actor="bot")
    with connection.cursor() as cursor:  # autocommit: a refresh cannot run in a transaction
        cursor.execute("CALL refresh_continuous_aggregate('journal_daily_pnl', NULL, NULL)")
    forget_pnl_history()
    _, after = idea_submit(idea=idea(), actor="bot")
    for verdict in (before, after):
        observed = {c.rule: c.observed for c in verdict.checks}
        assert observed["max_daily_loss"] == -80
        assert observed["max_drawdown"] == 400 - (400 - 700 - 80)
    indexes = {row[0] for row in query("SELECT indexname FROM pg_indexes")}
    assert "journal_daily_pnl_closed_day" in indexes
