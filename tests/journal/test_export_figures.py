"""The export and GET /api/v1/trades carry each trade's figures and review (issue 29):
r_multiple, holding time, MAE / MFE where the stored bars cover the trade, tags and
mistakes, with numbers at their instrument's decimals (the API wrote 8 decimals).

Decision: the figures and the review's columns are derived (from the trade, the bars,
the review), so an import reads past them, on its fast path and its exact one, CSV and
JSON lines; the round trip is exact: an exported file imported into an empty journal
gives back the same trades, and their export the same record and figure columns.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.management import call_command

from desk.models import MarketBar
from journal.domain.trade_record import DERIVED_COLUMNS, FIELDS, FIGURE_COLUMNS, REVIEW_COLUMNS
from journal.instruments import forget, instruments_seed
from journal.models import ReviewChange, Trade, TradeReview
from journal.reviews import trade_review
from journal.write.capture import record_trades
from journal.write.exports import EXPORT_COLUMNS, export_rows
from journal.write.imports import import_file
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def journal(django_user_model):
    """EURUSD long with a stop, held 2 h 30 min, H1 bars cover it (low 1.0830, high
    1.0890), reviewed with a tag and a mistake; XAUUSD short without a stop or bars; an
    open trade; ZZZ (no instrument)."""
    instruments_seed()
    forget()
    MarketBar.objects.bulk_create(
        [
            MarketBar(
                symbol="EURUSD",
                timeframe="H1",
                captured_at=T0 + timedelta(hours=n),
                open=D("1.0850"),
                high=D(high),
                low=D(low),
                close=D("1.0850"),
            )
            for n, (low, high) in enumerate(
                [("1.0830", "1.0860"), ("1.0840", "1.0890"), ("1.0850", "1.0870")]
            )
        ]
    )
    record_trades(
        [
            trade_data(
                trade_id="EUR-1",
                opened=T0,
                closed_at=(T0 + timedelta(hours=2, minutes=30)).isoformat(),
                entry_price="1.0845",
                exit_price="1.0870",
                stop_loss="1.0825",
                quantity="1.5",
                fees="1.2",
                pnl="373.8",
            ),
            trade_data(
                trade_id="GOLD-1",
                opened=T0 - timedelta(days=1),
                symbol="XAUUSD",
                side="short",
                entry_price="2350.5",
                exit_price="2341",
                quantity="1",
                fees="0",
                pnl="950",
            ),
            open_trade_data(trade_id="OPEN-1", opened=T0 + timedelta(hours=5)),
            trade_data(
                trade_id="ZZZ-1",
                opened=T0 - timedelta(days=2),
                symbol="ZZZ",
                entry_price="10.125",
                exit_price="10.5",
                quantity="3",
                fees="0",
                pnl="1.125",
            ),
        ]
    )
    reviewer = django_user_model.objects.create_user("rita", is_staff=True)
    eur = Trade.objects.get(trade_id="EUR-1")
    trade_review(trade=eur, reviewer=reviewer, grade="b", tags=["Retest"], mistakes=["Moved Stop"])
    return {t.trade_id: t for t in Trade.objects.all()}


def exported(fmt: str = "csv") -> str:
    out = io.StringIO()
    export_rows(Trade.objects.order_by("-executed_at"), out, fmt)
    return out.getvalue()


def csv_rows(text: str) -> dict[str, dict]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == EXPORT_COLUMNS == (*FIELDS, *DERIVED_COLUMNS)
    return {row["trade_id"]: row for row in reader}


def test_the_export_carries_the_figures_the_review_and_the_instruments_decimals(journal):
    rows = csv_rows(exported())
    eur, gold, open_, zzz = (rows[k] for k in ("EUR-1", "GOLD-1", "OPEN-1", "ZZZ-1"))
    # R = (1.0870 - 1.0845) / (1.0845 - 1.0825) = 1.25; held 2 h 30 min.
    assert (eur["r_multiple"], eur["holding_seconds"]) == ("1.2500", "9000")
    # The H1 bars from 10:00 and 11:00 and 12:00 hold the window: low 1.0830, high 1.0890.
    assert (eur["mae"], eur["mfe"], eur["mae_r"], eur["mfe_r"]) == (
        "0.00150",
        "0.00450",
        "0.7500",
        "2.2500",
    )
    assert (eur["entry_price"], eur["quantity"], eur["fees"], eur["pnl"]) == (
        "1.08450",
        "1.50",
        "1.20",
        "373.80",
    )
    assert (eur["review_tags"], eur["review_mistakes"], eur["review_grade"]) == (
        "retest",
        "moved stop",
        "B",
    )
    # No stop: no R; no bars: no MAE / MFE; an open trade: no figure at all.
    assert gold["r_multiple"] == "" and gold["mae"] == "" and gold["holding_seconds"] == "3600"
    assert gold["entry_price"] == "2350.50" and gold["review_status"] == "unreviewed"
    assert all(open_[name] == "" for name in FIGURE_COLUMNS)
    assert zzz["entry_price"] == "10.125" and zzz["pnl"] == "1.125"  # no instrument: as stored


def test_json_lines_carry_lists_and_nulls(journal):
    rows = {r["trade_id"]: r for r in map(json.loads, exported("jsonl").splitlines())}
    eur, gold = rows["EUR-1"], rows["GOLD-1"]
    assert list(eur) == list(EXPORT_COLUMNS)
    assert (eur["r_multiple"], eur["mae"], eur["review_tags"], eur["review_mistakes"]) == (
        "1.2500",
        "0.00150",
        ["retest"],
        ["moved stop"],
    )
    assert gold["r_multiple"] is None and gold["mfe_r"] is None and gold["review_tags"] == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_reimports_exactly_reading_past_its_figures(journal, tmp_path, fmt):
    text = exported(fmt)
    before = list(Trade.objects.order_by("trade_id").values(*FIELDS))
    path = tmp_path / f"trades.{fmt}"
    path.write_text(text)
    # An empty journal (the test's own: nothing deletes trades in the application).
    ReviewChange.objects.all().delete()
    TradeReview.objects.all().delete()
    Trade.objects.all().delete()
    result = import_file(path)
    assert (result.created, result.errors) == (4, [])
    from django.db import connection

    if fmt == "csv" and connection.vendor == "postgresql":
        assert result.method == "fast_copy"  # the plain spelling of our own export
    assert list(Trade.objects.order_by("trade_id").values(*FIELDS)) == before
    again = exported(fmt)
    if fmt == "csv":
        first, second = csv_rows(text), csv_rows(again)
        for trade_id, row in first.items():
            for name in (*FIELDS, *FIGURE_COLUMNS):
                assert second[trade_id][name] == row[name], (trade_id, name)
            # The review is not the trade's: no import writes it.
            assert second[trade_id]["review_status"] == "unreviewed"
    assert import_file(path).created == 0  # and again: nothing twice


def test_a_column_that_is_no_figure_is_still_refused(journal, tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text(",".join((*FIELDS, "r_multiplex")) + "\n")
    with pytest.raises(Exception, match="unknown column"):
        import_file(path)


def test_export_trades_writes_the_same_columns(journal, tmp_path):
    target = tmp_path / "out.csv"
    call_command("export_trades", "-o", str(target), "--no-progress", stdout=io.StringIO())
    header = target.read_text().splitlines()[0].split(",")
    assert tuple(header) == EXPORT_COLUMNS
    assert {"r_multiple", "review_mistakes"} <= set(header) and set(REVIEW_COLUMNS) <= set(header)


# -- GET /api/v1/trades ---------------------------------------------------------------------


def test_the_api_answers_the_figures_tags_and_the_instruments_decimals(journal, reader):
    body = reader.get("/api/v1/trades", {"limit": 10}).json()
    trades = {t["trade_id"]: t for t in body["results"]}
    eur = trades["EUR-1"]
    assert (eur["entry_price"], eur["exit_price"], eur["stop_loss"]) == (
        "1.08450",
        "1.08700",
        "1.08250",
    )
    assert (eur["quantity"], eur["fees"], eur["pnl"]) == ("1.50", "1.20", "373.80")
    assert (eur["r_multiple"], eur["holding_seconds"], eur["mae"], eur["mfe_r"]) == (
        "1.2500",
        "9000",
        "0.00150",
        "2.2500",
    )
    assert (eur["tags"], eur["mistakes"]) == (["retest"], ["moved stop"])
    gold = trades["GOLD-1"]
    assert (gold["r_multiple"], gold["mae"], gold["tags"]) == (None, None, [])
    assert gold["entry_price"] == "2350.50" and gold["pnl"] == "950.00"
    assert trades["ZZZ-1"]["entry_price"] == "10.125"  # no instrument: as stored
    assert trades["OPEN-1"]["holding_seconds"] is None and trades["OPEN-1"]["pnl"] is None
    assert not any("00000000" in json.dumps(t) for t in body["results"])  # never 8 places


def test_the_api_filters_by_grade_and_mistake_in_any_case(journal, reader):
    for params, expected in (
        ({"mistake": "MOVED  stop"}, ["EUR-1"]),
        ({"grade": "B"}, ["EUR-1"]),
        ({"grade": "none"}, ["OPEN-1", "GOLD-1", "ZZZ-1"]),
        ({"tag": "retest", "symbol": "XAUUSD"}, []),
    ):
        answer = reader.get("/api/v1/trades", params)
        assert answer.status_code == 200, answer.content
        assert [t["trade_id"] for t in answer.json()["results"]] == expected, params
    bad = reader.get("/api/v1/trades", {"grade": "Z"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "grade"
