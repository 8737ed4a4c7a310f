"""A trade's idea_id (and its stop) on every path a trade takes: the API, the export in
both formats, both import paths, and the spool while the database is down."""

import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from journal.models import Trade
from journal.write.replay import spool_replay
from tests.journal.conftest import existing_ideas, open_trade_data, trade_data
from tests.journal.test_faults import drop_this_connection


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def links() -> dict[str, tuple]:
    return {
        t.trade_id: (t.idea_id, t.stop_loss, t.status) for t in Trade.objects.order_by("trade_id")
    }


@pytest.mark.django_db
def test_idea_ids_go_out_and_back_in_through_csv_and_json_lines_by_both_paths(bot, tmp_path):
    existing_ideas(7, 8, 2**63 - 1)
    trades = [
        trade_data(trade_id="L-1", idea_id=7, stop_loss="1.08"),
        trade_data(trade_id="L-2", idea_id="9223372036854775807"),
        open_trade_data(trade_id="L-3", idea_id=8, stop_loss="1.07"),
        trade_data(trade_id="L-4"),  # no idea: a trade a person made
    ]
    assert bot.post("/api/v1/trades", trades, format="json").status_code == 201
    listed = {t["trade_id"]: t["idea_id"] for t in bot.get("/api/v1/trades").json()["results"]}
    assert listed == {"L-1": 7, "L-2": 2**63 - 1, "L-3": 8, "L-4": None}
    before = links()
    csv_file, jsonl_file = tmp_path / "out.csv", tmp_path / "out.jsonl"
    run("export_trades", "--format", "csv", "-o", str(csv_file))
    run("export_trades", "--format", "jsonl", "-o", str(jsonl_file))
    header = csv_file.read_text().splitlines()[0].split(",")
    assert header[header.index("stop_loss") + 1] == "idea_id"
    assert header[header.index("idea_id") + 1] == "r_multiple"  # the figures follow
    exported = [json.loads(line) for line in jsonl_file.read_text().splitlines()]
    assert {e["trade_id"]: e["idea_id"] for e in exported}["L-1"] == 7
    for path, method in ((csv_file, "(fast_copy)"), (jsonl_file, "(copy)")):
        Trade.objects.all().delete()
        report = run("import_trades", str(path))
        assert method in report and "4 created" in report, report
        assert links() == before, path.name


@pytest.mark.django_db(transaction=True)
def test_a_spooled_trade_keeps_its_idea_when_it_is_replayed(bot, spool_dir):
    existing_ideas(41)
    assert bot.get("/api/v1/trades").status_code == 200  # the worker has seen the key
    drop_this_connection()
    response = bot.post(
        "/api/v1/trades",
        [trade_data(trade_id="SP-1", idea_id=41, stop_loss="1.08"), trade_data(trade_id="SP-2")],
        format="json",
    )
    assert response.status_code == 202, response.content
    assert Trade.objects.count() == 0
    result = spool_replay()
    assert (result.read, result.stored.created, result.quarantined) == (2, 2, 0), result
    assert links()["SP-1"][:2] == (41, Decimal("1.08"))
    assert links()["SP-2"][0] is None
