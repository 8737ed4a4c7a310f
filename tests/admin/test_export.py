"""CSV export from the trade list: the filtered selection, streamed, in the record format
with the review's columns after it (and the file imports back as the same trades)."""

import csv
import io
import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from django.http import StreamingHttpResponse

from journal.domain.trade_record import FIELDS, FIGURE_COLUMNS, REVIEW_COLUMNS, parse_record
from journal.models import ReviewStatus, Trade
from journal.reviews import trade_review
from journal.write.imports import import_file
from tests.admin.conftest import make_trades

pytestmark = pytest.mark.smoke

EXPORT = "/admin/journal/trade/export.csv"


def csv_text(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="trades-')
    return b"".join(response.streaming_content).decode()


def read_csv(response) -> list[dict]:
    reader = csv.DictReader(io.StringIO(csv_text(response)))
    assert tuple(reader.fieldnames) == (*FIELDS, *FIGURE_COLUMNS, *REVIEW_COLUMNS)
    return list(reader)


def test_the_export_streams_what_the_filters_select(reviewer_client):
    make_trades(2)
    gbp = make_trades(2, symbol="GBPUSD", side="short", start_days_ago=5)
    exported = read_csv(reviewer_client.get(EXPORT, {"symbol": "GBPUSD", "side": "short"}))
    assert [row["trade_id"] for row in exported] == [t.trade_id for t in gbp]


def test_exported_rows_read_back_as_the_same_trades(reviewer_client):
    trade = make_trades(1, agent_votes={"trend": "long"}, confidence="0.8125")[0]
    (row,) = read_csv(reviewer_client.get(EXPORT))
    record = parse_record({name: row[name] for name in FIELDS})
    assert (record.trade_id, record.quantity, record.pnl, record.confidence) == (
        trade.trade_id,
        trade.quantity,
        trade.pnl,
        trade.confidence,
    )
    assert record.agent_votes == {"trend": "long"}


def test_the_list_links_to_an_export_with_its_current_filters(reviewer_client):
    make_trades(1)
    html = reviewer_client.get("/admin/journal/trade/", {"symbol": "EURUSD", "q": "T"}).content
    link = re.search(r'href="([^"]+)" id="export-csv"', html.decode()).group(1)
    path, _, query = unescape(link).partition("?")
    assert path == EXPORT and parse_qs(query) == {"symbol": ["EURUSD"], "q": ["T"]}


def test_the_search_applies_to_the_export_too(reviewer_client):
    first, _ = make_trades(2)
    exported = read_csv(reviewer_client.get(EXPORT, {"q": first.trade_id}))
    assert [row["trade_id"] for row in exported] == [first.trade_id]


def test_the_selected_trades_export_as_an_action(reviewer_client):
    first, second, _ = make_trades(3)
    response = reviewer_client.post(
        "/admin/journal/trade/",
        {"action": "export_selected_csv", "_selected_action": [first.pk, second.pk]},
    )
    assert {row["trade_id"] for row in read_csv(response)} == {first.trade_id, second.trade_id}


def test_a_bad_filter_is_a_bad_request(reviewer_client):
    assert reviewer_client.get(EXPORT, {"executed": "someday"}).status_code == 400


def test_the_export_carries_each_trades_review(reviewer_client, reviewer):
    flagged, reviewed, untouched = make_trades(3)
    trade_review(
        trade=flagged,
        reviewer=reviewer,
        reason="late entry",
        status=ReviewStatus.FLAGGED,
        grade="D",
        tags=["fomo", "late"],
        notes='=HYPERLINK("http://evil.example")',
    )
    trade_review(trade=reviewed, reviewer=reviewer, status=ReviewStatus.REVIEWED, grade="A")
    rows = {row["trade_id"]: row for row in read_csv(reviewer_client.get(EXPORT))}
    row = rows[flagged.trade_id]
    assert (row["review_status"], row["review_grade"], row["review_tags"]) == (
        "flagged",
        "D",
        "fomo, late",
    )
    # A note a spreadsheet would run as a formula is exported as text.
    assert row["review_notes"] == '\'=HYPERLINK("http://evil.example")'
    assert row["reviewed_by"] == reviewer.username and row["reviewed_at"]
    assert (rows[reviewed.trade_id]["review_status"], rows[reviewed.trade_id]["review_grade"]) == (
        "reviewed",
        "A",
    )
    assert rows[untouched.trade_id]["review_status"] == "unreviewed"
    assert rows[untouched.trade_id]["reviewed_by"] == ""


def test_the_export_with_its_review_columns_imports_back(reviewer_client, reviewer, tmp_path):
    trades = make_trades(2)
    trade_review(trade=trades[0], reviewer=reviewer, notes="+1 good patience", tags=["patience"])
    path = tmp_path / "trades.csv"
    path.write_text(csv_text(reviewer_client.get(EXPORT)))
    # Every row reads as the trade it was (the same key: stored once, not twice).
    result = import_file(path, fmt="csv")
    assert (result.rows, result.duplicates, result.created, result.errors) == (2, 2, 0, [])
    assert Trade.objects.count() == 2
