"""What every capture path refuses alike, naming the field: a time beyond the clock-skew
allowance (issue 27) and an idea that does not exist (issue 26, item 12).

The paths: the API, the CSV fast path (it declines; the exact path names the row), the
exact import by COPY (CSV and JSON lines), the import in batches (the embedded SQLite's
way), and the spool's replay (the line is quarantined). The clock is Django's, frozen.
"""

import csv
from datetime import timedelta

import pytest
from django.db import transaction

from journal.domain.trade_record import FIELDS
from journal.models import QuarantinedLine, Trade
from journal.write.capture import get_spool
from journal.write.imports import ImportFailed, import_file
from journal.write.replay import spool_replay
from tests.journal.conftest import existing_ideas

pytestmark = pytest.mark.django_db

SKEW = 300


@pytest.fixture(autouse=True)
def _skew(settings):
    settings.CLOCK_SKEW_SECONDS = SKEW


def plain_row(n: int, opened, **overrides) -> dict:
    """A trade spelled as the fast path takes it (seconds, +00:00)."""
    opened = opened.replace(microsecond=0)
    return {
        "trade_id": f"CR-{n}",
        "executed_at": opened.isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1.5",
        "entry_price": "1.08450",
        **overrides,
    }


def write_csv(path, rows) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([row.get(name, "") for name in FIELDS])


def write_jsonl(path, rows) -> None:
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def import_errors(path, **options) -> set[tuple[int, str]]:
    """(line, field) of every error of an import that must fail; nothing stored."""
    with pytest.raises(ImportFailed) as failed:
        import_file(path, **options)
    assert Trade.objects.count() == 0
    return {(error.line, error.field) for error in failed.value.errors}


def replay_reasons(rows) -> dict[int, str]:
    """{line: reason} of the quarantined lines after spooling ``rows`` and replaying."""
    get_spool().append(rows)
    spool_replay()
    return {line.line_number: line.reason for line in QuarantinedLine.objects.all()}


# -- the clock-skew allowance -------------------------------------------------------------


def test_the_api_takes_a_trade_within_the_allowance_and_refuses_one_beyond(bot, frozen_now):
    within = plain_row(1, frozen_now + timedelta(seconds=SKEW - 1))
    beyond = plain_row(2, frozen_now + timedelta(seconds=SKEW + 1))
    response = bot.post("/api/v1/trades", [within, beyond], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "executed_at", "message": "is in the future"}
    ]
    assert bot.post("/api/v1/trades", within, format="json").status_code == 201


def test_a_close_beyond_the_allowance_is_refused_naming_closed_at(bot, frozen_now):
    row = plain_row(
        1,
        frozen_now - timedelta(hours=1),
        closed_at=(frozen_now + timedelta(seconds=SKEW + 1)).isoformat(),
        exit_price="1.09",
        pnl="10",
    )
    response = bot.post("/api/v1/trades", row, format="json")
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("closed_at", "is in the future")
    ]


def test_the_allowance_is_the_setting(bot, frozen_now, settings):
    settings.CLOCK_SKEW_SECONDS = 0
    row = plain_row(1, frozen_now + timedelta(seconds=1))
    assert bot.post("/api/v1/trades", row, format="json").status_code == 400
    settings.CLOCK_SKEW_SECONDS = 3600
    assert bot.post("/api/v1/trades", row, format="json").status_code == 201


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("csv", {}),  # the fast path declines it; the exact path names the row
        ("csv", {"fast": False}),
        ("jsonl", {}),
        ("csv", {"use_copy": False}),  # in batches, as on the embedded SQLite
    ],
)
def test_every_import_path_refuses_a_trade_beyond_the_allowance(fmt, options, frozen_now, tmp_path):
    rows = [
        plain_row(1, frozen_now - timedelta(days=1)),
        plain_row(2, frozen_now + timedelta(seconds=SKEW + 1)),
        plain_row(3, frozen_now + timedelta(seconds=SKEW)),
    ]
    path = tmp_path / f"rows.{fmt}"
    (write_csv if fmt == "csv" else write_jsonl)(path, rows)
    first_line = 2 if fmt == "csv" else 1
    assert import_errors(path, **options) == {(first_line + 1, "executed_at")}
    result = import_file(path, skip_invalid=True, **options)
    assert result.created == 2


def test_the_replay_quarantines_a_trade_beyond_the_allowance_of_its_own_clock(
    frozen_now, spool_dir
):
    reasons = replay_reasons(
        [
            plain_row(1, frozen_now + timedelta(seconds=SKEW + 1)),
            plain_row(2, frozen_now + timedelta(seconds=SKEW)),
        ]
    )
    assert reasons == {1: "invalid trade: executed_at: is in the future"}
    assert list(Trade.objects.values_list("trade_id", flat=True)) == ["CR-2"]


# -- ideas that do not exist --------------------------------------------------------------


def test_the_api_refuses_an_idea_id_that_names_no_idea(bot, frozen_now):
    existing_ideas(5)
    rows = [
        plain_row(1, frozen_now - timedelta(hours=1), idea_id=5),
        plain_row(2, frozen_now - timedelta(hours=1), idea_id=424242),
    ]
    response = bot.post("/api/v1/trades", rows, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": 1,
            "field": "idea_id",
            "message": "names no trade idea of the desk (idea #424242 does not exist)",
        }
    ]
    assert Trade.objects.count() == 0
    assert bot.post("/api/v1/trades", rows[0], format="json").status_code == 201
    assert Trade.objects.get().idea_id == 5


def test_an_unknown_idea_and_another_bad_field_of_the_row_are_named_together(bot, frozen_now):
    row = plain_row(1, frozen_now - timedelta(hours=1), idea_id=424242, side="sideways")
    fields = {e["field"] for e in bot.post("/api/v1/trades", row, format="json").json()["errors"]}
    assert fields == {"idea_id", "side"}


@pytest.mark.parametrize(
    ("fmt", "options", "method"),
    [
        ("csv", {}, "fast_copy"),
        ("csv", {"fast": False}, "copy"),
        ("jsonl", {}, "copy"),
        ("csv", {"use_copy": False}, "batches"),
    ],
)
def test_every_import_path_refuses_an_unknown_idea_and_takes_a_known_one(
    fmt, options, method, frozen_now, tmp_path
):
    existing_ideas(5, 6)
    opened = frozen_now - timedelta(days=2)
    rows = [
        plain_row(1, opened, idea_id="5"),
        plain_row(2, opened, idea_id="424242"),
        plain_row(3, opened, idea_id="6", side="up"),  # a bad side too: both named
        plain_row(4, opened, idea_id="424242", quantity="0"),
        plain_row(5, opened, idea_id="6"),
    ]
    path = tmp_path / f"rows.{fmt}"
    (write_csv if fmt == "csv" else write_jsonl)(path, rows)
    line = 2 if fmt == "csv" else 1  # the first row's line
    assert import_errors(path, **options) == {
        (line + 1, "idea_id"),
        (line + 2, "side"),
        (line + 3, "quantity"),
        (line + 3, "idea_id"),
    }
    with transaction.atomic():
        result = import_file(path, skip_invalid=True, **options)
        assert (result.created, result.valid) == (2, 2)
        assert sorted(Trade.objects.values_list("idea_id", flat=True)) == [5, 6]
        transaction.set_rollback(True)
    # Without the unknown ideas, the file goes in by the path it would take anyway.
    good = [row for row in rows if row["idea_id"] != "424242" and row["side"] == "long"]
    (write_csv if fmt == "csv" else write_jsonl)(path, good)
    result = import_file(path, **options)
    assert (result.created, result.method) == (2, method)


def test_the_replay_quarantines_a_trade_of_an_unknown_idea(frozen_now, spool_dir):
    existing_ideas(5)
    opened = frozen_now - timedelta(hours=1)
    reasons = replay_reasons(
        [plain_row(1, opened, idea_id=424242, stop_loss="2"), plain_row(2, opened, idea_id=5)]
    )
    assert reasons == {
        1: "invalid trade: idea_id: names no trade idea of the desk (idea #424242 does not "
        "exist); stop_loss: a long trade's stop must be below the entry price"
    }
    assert Trade.objects.get().idea_id == 5


def test_a_quarantined_line_resubmitted_with_an_unknown_idea_is_refused(frozen_now, admin_user):
    import hashlib
    import json

    from journal.write.capture import TradesRejected
    from journal.write.quarantine import quarantine_resubmit

    trade = plain_row(1, frozen_now - timedelta(hours=1), idea_id=424242)
    raw = json.dumps({"trade": trade}).encode()
    line = QuarantinedLine.objects.create(
        source="sealed-x.jsonl",
        line_number=1,
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        reason="test",
    )
    with pytest.raises(TradesRejected) as refused:
        # The line failed on its idea: sending the same unknown idea again is refused.
        quarantine_resubmit(line_id=line.pk, trade=trade, user=admin_user)
    assert refused.value.errors[0]["field"] == "idea_id"
    line.refresh_from_db()
    assert line.status == "pending" and Trade.objects.count() == 0
