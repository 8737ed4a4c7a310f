"""Every problem at once: a batch's errors name every bad field of every trade, on the
API, the exact import and the spool's replay alike (issue 27).

A bot that sends a row with a bad ``side`` and an ``executed_at`` in the future must
hear about both in one answer, not fix one and be refused for the other.
"""

import json
import os
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.models import QuarantinedLine, Trade
from journal.write.capture import get_spool
from journal.write.imports import ImportFailed, import_file
from journal.write.replay import spool_replay
from tests.journal.conftest import FROZEN_NOW

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_PROBLEMS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)

OPENED = FROZEN_NOW - timedelta(days=1)


def good_row(n: int, **overrides) -> dict:
    """An open trade (its rules between fields reach fewer fields than a closed one's)."""
    return {
        "trade_id": f"EP-{n}",
        "executed_at": OPENED.isoformat(),
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1.5",
        "entry_price": "1.08450",
        "fees": "1.20",
        **overrides,
    }


# One fault per field: its name, the field it breaks and how.
FAULTS = {
    "trade_id": ("trade_id", {"trade_id": "x" * 65}),
    "side": ("side", {"side": "up"}),
    "symbol": ("symbol", {"symbol": "EUR USD"}),
    "quantity": ("quantity", {"quantity": "-1"}),
    "entry_price": ("entry_price", {"entry_price": "abc"}),
    "fees": ("fees", {"fees": "-0.5"}),
    "future": ("executed_at", {"executed_at": (FROZEN_NOW + timedelta(days=1)).isoformat()}),
    "closed_at": ("closed_at", {"closed_at": "yesterday"}),
    "confidence": ("confidence", {"confidence": "1.5"}),
    "model_version": ("model_version", {"model_version": "xgb-3"}),
    "signals": ("signals", {"signals": "[1, 2]"}),
    "stop_loss": ("stop_loss", {"stop_loss": "-1"}),
    "idea_id": ("idea_id", {"idea_id": 987654}),  # no such idea
    "colour": ("colour", {"colour": "red"}),  # no such field
    # A rule between fields: a P&L on an open trade (judged while closed_at is valid).
    "pnl_while_open": ("pnl", {"pnl": "3"}),
}


@st.composite
def batches(draw):
    """1 to 4 rows, each with 0 to 4 faults (at least one fault in the batch), and the
    (index, field) every fault must be reported as."""
    rows, expected = [], set()
    for index in range(draw(st.integers(1, 4))):
        row = good_row(index)
        names = draw(st.lists(st.sampled_from(sorted(FAULTS)), max_size=4, unique=True))
        for name in names:
            field, overrides = FAULTS[name]
            row.update(overrides)
            if name != "pnl_while_open" or "closed_at" not in names:
                expected.add((index, field))
        rows.append(row)
    if not expected:
        rows[0].update(FAULTS["side"][1])
        expected.add((0, "side"))
    return rows, expected


def test_a_row_with_a_bad_side_and_a_time_in_the_future_names_both(bot, frozen_now):
    row = good_row(1, side="up", executed_at=(frozen_now + timedelta(hours=2)).isoformat())
    response = bot.post("/api/v1/trades", [good_row(0), row], format="json")
    assert response.status_code == 400
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {
        (1, "side"),
        (1, "executed_at"),
    }
    assert Trade.objects.count() == 0


def test_a_bad_field_and_a_broken_rule_between_fields_are_both_named(bot, frozen_now):
    # A long's stop above its entry, and a bad quantity: the rule still reads the fields
    # it needs (side, entry, stop), which are valid.
    row = good_row(1, stop_loss="1.2", quantity="0", pnl="3")
    response = bot.post("/api/v1/trades", row, format="json")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"stop_loss", "quantity", "pnl"}, response.json()


@EXAMPLES
@given(batch=batches())
def test_every_fault_of_every_row_is_reported_with_its_index_and_field(
    batch, bot, frozen_now, spool_dir, tmp_path_factory
):
    rows, expected = batch
    # The API: one 400 naming them all, nothing stored.
    with transaction.atomic():
        response = bot.post("/api/v1/trades", rows, format="json")
        assert response.status_code == 400, response.content
        got = {(e["index"], e["field"]) for e in response.json()["errors"]}
        assert got == expected
        assert Trade.objects.count() == 0
        transaction.set_rollback(True)
    # The exact import of the same rows as JSON lines: line = index + 1.
    path = tmp_path_factory.mktemp("problems") / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with transaction.atomic():
        with pytest.raises(ImportFailed) as failed:
            import_file(path)
        assert {(e.line - 1, e.field) for e in failed.value.errors} == expected
        transaction.set_rollback(True)
    # The spool's replay: each bad line quarantined, its reason naming every field.
    with transaction.atomic():
        get_spool().append(rows)
        result = spool_replay()
        bad = {index for index, _field in expected}
        assert result.quarantined == len(bad)
        named = set()
        for line in QuarantinedLine.objects.all():
            reasons = line.reason.removeprefix("invalid trade: ").split("; ")
            named |= {(line.line_number - 1, reason.partition(": ")[0]) for reason in reasons}
        assert named == expected
        transaction.set_rollback(True)
