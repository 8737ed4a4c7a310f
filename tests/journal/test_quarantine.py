"""Replay is never blocked by one line: poisoned and unreadable lines are quarantined byte
for byte, every other line is stored, and an operator decides the quarantined ones.

The poisoned lines are written as an earlier version spooled them (raw JSON lines that
the record rules of today refuse), so these tests fail on a replay that stops at the
first bad line or keeps only a summary of it.
"""

import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from journal.models import QuarantinedLine, QuarantineStatus, Trade, TradeStatus
from journal.write.capture import TradesRejected, get_spool
from journal.write.quarantine import (
    QuarantineDecided,
    QuarantineError,
    quarantine_discard,
    quarantine_resubmit,
)
from journal.write.replay import spool_replay
from tests.journal.conftest import open_trade_data, spool_line, trade_data, write_spool_file

pytestmark = pytest.mark.django_db


POISONED = {
    "nul in signals": trade_data(signals={"x": "x\x00"}),
    "infinity in signals": trade_data(signals={"x": float("inf")}),
    "lone surrogate strategy": trade_data(strategy="\ud800"),
    "year 9999": trade_data(executed_at="9999-12-31T23:00:00-05:00"),
}


@pytest.mark.smoke
def test_poisoned_lines_are_quarantined_byte_for_byte_and_block_nothing(spool_dir):
    good = [trade_data() for _ in range(20)]
    poisoned = [spool_line(t) for t in POISONED.values()]
    torn = b'{"batch": "x", "trade": {"trade_id": "TORN"'
    lines = [spool_line(t) for t in good[:10]] + poisoned + [spool_line(t) for t in good[10:]]
    write_spool_file(spool_dir, [*lines, torn])

    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("replay_spool", "--no-progress", stdout=out)
    assert failed.value.returncode == 2  # non-zero: something was quarantined
    assert "20 created" in out.getvalue() and "5 quarantined" in out.getvalue()
    assert Trade.objects.count() == 20
    kept = {path.read_bytes() for path in get_spool().quarantined()}
    assert kept == {*poisoned, torn}
    assert {bytes(q.raw) for q in QuarantinedLine.objects.all()} == {*poisoned, torn}
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in get_spool().quarantined())
    assert get_spool().backlog()["trades"] == 0
    # Nothing left to do: a second replay succeeds and quarantines nothing twice.
    call_command("replay_spool", "--no-progress", stdout=io.StringIO())
    assert QuarantinedLine.objects.count() == 5


@pytest.mark.smoke
def test_an_open_and_its_close_spooled_apart_replay_closed(spool_dir):
    opened = open_trade_data(trade_id="SPOOLED-PAIR")
    closed = {
        **opened,
        "closed_at": (
            datetime.fromisoformat(opened["executed_at"]) + timedelta(hours=1)
        ).isoformat(),
        "exit_price": "1.2",
        "pnl": "30",
    }
    get_spool().append([opened, trade_data()])
    write_spool_file(spool_dir, [spool_line(closed)])  # another worker's file
    get_spool().append([opened])  # a retry of the open
    result = spool_replay()
    assert result.quarantined == 0
    trade = Trade.objects.get(trade_id="SPOOLED-PAIR")
    assert trade.status == TradeStatus.CLOSED and str(trade.pnl) == "30.00000000"


@pytest.mark.django_db(transaction=True)
def test_a_line_the_database_refuses_is_quarantined_and_the_batch_stored(spool_dir):
    """A rule only the database has (a constraint added by a DBA): the batch fails as a
    whole, is stored line by line, and the refused line is quarantined."""
    trades = [trade_data() for _ in range(6)]
    trades[3]["trade_id"] = "REFUSED-BY-DB"
    get_spool().append(trades)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE journal_trade ADD CONSTRAINT test_refuse "
            "CHECK (trade_id <> 'REFUSED-BY-DB') NOT VALID"
        )
    try:
        result = spool_replay()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE journal_trade DROP CONSTRAINT test_refuse")
    assert result.quarantined == 1 and result.stored.created == 5
    (line,) = QuarantinedLine.objects.all()
    assert "refused by the database" in line.reason and "test_refuse" in line.reason
    assert json.loads(bytes(line.raw))["trade"]["trade_id"] == "REFUSED-BY-DB"


# -- the operator's decisions ----------------------------------------------------------------


@pytest.fixture
def quarantined(spool_dir):
    write_spool_file(spool_dir, [spool_line(trade_data(trade_id="Q-1", strategy="\ud800"))])
    spool_replay()
    return QuarantinedLine.objects.get()


def test_a_fixed_trade_is_resubmitted_and_the_decision_recorded(
    quarantined, trusted_operator, django_capture_on_commit_callbacks
):
    trade = json.loads(bytes(quarantined.raw))["trade"]
    with pytest.raises(TradesRejected):
        quarantine_resubmit(line_id=quarantined.pk, trade=trade, user=trusted_operator)
    trade["strategy"] = "breakout"
    with django_capture_on_commit_callbacks(execute=True):
        result = quarantine_resubmit(line_id=quarantined.pk, trade=trade, user=trusted_operator)
    assert result.created == 1
    assert Trade.objects.get(trade_id="Q-1").strategy == "breakout"
    quarantined.refresh_from_db()
    assert quarantined.status == QuarantineStatus.RESUBMITTED
    assert quarantined.resolved_by == trusted_operator
    assert quarantined.resolution == "re-submitted (strategy corrected): Q-1 created"
    assert get_spool().quarantined() == [], "a decided line no longer waits"
    with pytest.raises(QuarantineDecided):
        quarantine_discard(line_id=quarantined.pk, reason="late", user=trusted_operator)


def test_a_discard_needs_a_reason_and_keeps_the_bytes(quarantined, operator):
    with pytest.raises(QuarantineError):
        quarantine_discard(line_id=quarantined.pk, reason="  ", user=operator)
    quarantine_discard(line_id=quarantined.pk, reason="test trade from the sandbox", user=operator)
    quarantined.refresh_from_db()
    assert quarantined.status == QuarantineStatus.DISCARDED
    assert quarantined.resolution == "test trade from the sandbox"
    assert b"Q-1" in bytes(quarantined.raw)
    assert not Trade.objects.exists()


def test_the_admin_worklist_resubmits_and_discards(client, quarantined, trusted_operator):
    client.force_login(trusted_operator)
    listing = client.get("/admin/journal/quarantinedline/")
    assert listing.status_code == 200 and b"lone surrogate" in listing.content
    page = client.get(f"/admin/journal/quarantinedline/{quarantined.pk}/change/")
    assert page.status_code == 200
    assert b"\\ud800" in page.content  # shown escaped, to be fixed
    fixed = json.loads(bytes(quarantined.raw))["trade"] | {"strategy": "fixed"}
    response = client.post(
        f"/admin/journal/quarantinedline/{quarantined.pk}/change/",
        {"action": "resubmit", "trade": json.dumps(fixed)},
    )
    assert response.status_code == 302
    assert Trade.objects.get(trade_id="Q-1").strategy == "fixed"


def test_the_admin_refuses_a_still_invalid_fix_naming_the_field(
    client, quarantined, trusted_operator
):
    client.force_login(trusted_operator)
    response = client.post(
        f"/admin/journal/quarantinedline/{quarantined.pk}/change/",
        {"action": "resubmit", "trade": '{"strategy": "still\\u0000bad"}'},
    )
    assert response.status_code == 200
    assert b"strategy: " in response.content
    assert not Trade.objects.exists()


def test_a_reviewer_sees_no_quarantine_and_cannot_decide(client, quarantined, django_user_model):
    from tests.admin.conftest import staff_member

    reviewer = staff_member(django_user_model, "rita", "Reviewer")
    client.force_login(reviewer)
    url = f"/admin/journal/quarantinedline/{quarantined.pk}/change/"
    assert client.get(url).status_code == 403
    response = client.post(url, {"action": "discard", "reason": "no"})
    assert response.status_code == 403
    quarantined.refresh_from_db()
    assert quarantined.status == QuarantineStatus.PENDING


def test_readyz_reports_the_quarantine_and_the_oldest_spooled_trade(staff_client, quarantined):
    get_spool().append([trade_data()])
    spool = staff_client.get("/readyz").json()["checks"]["spool"]
    assert spool["quarantined_files"] == 1
    assert spool["backlog"] == 1 and 0 <= spool["oldest_age_seconds"] < 60


def test_readyz_fails_when_the_spool_cannot_be_written(client, settings, tmp_path):
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a directory")
    settings.SPOOL_DIR = in_the_way / "spool"  # ENOTDIR, for root too
    body = client.get("/readyz")
    assert body.status_code == 503 and "spool" in body.json()["failed"]
