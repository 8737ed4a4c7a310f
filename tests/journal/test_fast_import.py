"""The CSV fast path (journal/write/fast_import.py) against the exact path, on real PostgreSQL.

The fast path checks rows in SQL and must never accept a row that parse_record refuses,
nor store it differently: every spelling below is imported both ways, in savepoints that
are rolled back, and the stored rows are compared.
"""

import csv
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from journal.domain.trade_record import FIELDS, RecordError, parse_record
from journal.models import Trade
from journal.write import fast_import
from journal.write.imports import ImportFailed, ImportResult, import_file
from tests.journal.conftest import existing_ideas

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)
STORED = (*FIELDS, "status")


def row(**overrides) -> dict[str, str]:
    """A plainly spelled closed trade, every field as CSV text."""
    n = next(_ids)
    data = {
        "trade_id": f"F-{n:06d}",
        "executed_at": "2026-03-02T09:00:00+00:00",
        "closed_at": "2026-03-02T10:30:00Z",
        "symbol": "EURUSD",
        "side": "long",
        "quantity": "1.5",
        "entry_price": "1.08450",
        "exit_price": "1.08900",
        "fees": "1.20",
        "pnl": "66.30",
        "strategy": "breakout",
        "account": "desk-main",
        "broker_order_id": "ORD-1",
        "agent_votes": '{"trend": "long"}',
        "signals": '{"rsi": 31.5, "n": 3}',
        "model_version": "direction-xgb@3",
        "confidence": "0.75",
    }
    data.update(overrides)
    return data


def write_csv(path, rows: list[dict[str, str]], header=FIELDS) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for data in rows:
            writer.writerow([data.get(name, "") for name in header])


def stored_rows() -> list[tuple]:
    return list(Trade.objects.order_by("trade_id", "executed_at").values_list(*STORED))


def import_both_ways(path) -> tuple[bool, list | None, list | None]:
    """(fast path accepted?, rows it stored, rows the exact path stored or None)."""
    with transaction.atomic():
        accepted = fast_import.import_csv(path, ImportResult())
        fast_rows = stored_rows() if accepted else None
        transaction.set_rollback(True)
    with transaction.atomic():
        try:
            import_file(path, fast=False)
            exact_rows = stored_rows()
        except ImportFailed:  # refused: compared with parse_record below
            exact_rows = None
        transaction.set_rollback(True)
    return accepted, fast_rows, exact_rows


PLAIN = [
    {},
    {"executed_at": "2026-03-02T09:00:00Z"},
    {"executed_at": "2026-03-02T09:00:00.123456+05:30", "closed_at": "2026-03-02T09:00:01Z"},
    {"executed_at": "2026-03-02T09:00:00.5-04:00", "closed_at": "2026-03-02T14:00:00Z"},
    {"closed_at": "", "exit_price": "", "pnl": ""},
    {"fees": "", "strategy": "", "account": "", "broker_order_id": ""},
    {"agent_votes": "", "signals": "", "model_version": "", "confidence": ""},
    {"symbol": "BRK.B"},
    {"symbol": "ES=F"},
    {"symbol": "BTC/USD"},
    {"side": "short", "pnl": "-12.5"},
    {"pnl": "0"},
    {"pnl": "-0.00000001"},
    {"quantity": "123456789012.12345678"},
    {"quantity": "000000000001.5"},
    {"entry_price": "0.00000001"},
    {"confidence": "0"},
    {"confidence": "1.0000"},
    {"confidence": "0.123456"},  # rounded to 4 places by the column, both ways
    {"signals": '{"a": 1.10, "b": [1, 2.5, {"c": null}], "d": true}'},
    {"signals": '{"a": ' + "[" * 15 + "]" * 15 + "}"},
    {"stop_loss": "1.08000", "idea_id": "42"},
    {"side": "short", "pnl": "-3", "stop_loss": "1.09"},
    {"idea_id": "9223372036854775807"},
    {"signals": '{"a": 999999999999999, "b": -999999999999999.9}'},
    {"signals": '{"dup": 1, "dup": 2}'},
    {"signals": '  {"padded": 1}  '},
    {"signals": '{"text": "caf\\u00e9"}'},
    {"trade_id": "x" * 64},
    {"trade_id": "a b"},
    {"strategy": "mean revert #2"},
    {"model_version": "a@b"},
    {"executed_at": "1990-01-01T00:00:00Z", "closed_at": "1990-01-01T00:00:00Z"},
]
UNUSUAL_BUT_VALID = [
    {"symbol": "eurusd"},
    {"side": "LONG"},
    {"side": " long"},
    {"trade_id": " padded "},
    {"quantity": "+1.5"},
    {"quantity": "1."},
    {"quantity": "1E2"},
    {"quantity": "0000000000001.5"},
    {"executed_at": "2026-03-02 09:00:00+00:00"},
    {"executed_at": "2026-03-02T09:00+00:00"},
    {"executed_at": "2026-03-02T09:00:00.1234567+00:00"},
    {"executed_at": "2026-03-02T09:00:00+05:60"},
    {"executed_at": "1990-01-01T00:30:00+01:00", "closed_at": "1990-01-02T00:00:00Z"},
    {"strategy": "café"},
    {"signals": '{"a": 1e5}'},
    {"signals": '{"a": 1E-7}'},
    {"signals": '{"e": "5e3 is text"}'},
    {"confidence": ".5"},
    {"fees": " 1.20"},
]
INVALID = [
    {"trade_id": ""},
    {"trade_id": "x" * 65},
    {"trade_id": "tab\there"},
    {"executed_at": "2026-03-02T09:00:00"},
    {"executed_at": "2026-02-30T09:00:00Z"},
    {"executed_at": "2026-03-02T24:00:00Z"},
    {"executed_at": "2026-03-02T23:59:60Z"},
    {"executed_at": "1989-12-31T23:59:59Z"},
    {"executed_at": "yesterday"},
    {"executed_at": "2026-13-02T09:00:00Z"},
    {"executed_at": "2026-03-02T09:61:00Z"},
    {"executed_at": "2026-03-02T09:00:00+24:00"},
    {"executed_at": "0999-03-02T09:00:00Z"},
    {"executed_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "closed_at": ""},
    {"closed_at": "2026-03-02T08:00:00Z"},
    {"closed_at": "", "exit_price": "1.1", "pnl": ""},
    {"exit_price": ""},
    {"pnl": ""},
    {"symbol": "É"},
    {"symbol": "X" * 33},
    {"side": "buy"},
    {"quantity": "0"},
    {"quantity": "-1"},
    {"quantity": "NaN"},
    {"quantity": "Infinity"},
    {"quantity": "1.123456789"},
    {"quantity": "1234567890123"},
    {"entry_price": ""},
    {"exit_price": "0"},
    {"fees": "-1"},
    {"pnl": "--1"},
    {"confidence": "1.0001"},
    {"confidence": "-0.1"},
    {"confidence": "0.123456789"},
    {"pnl": "-1234567890123"},
    {"model_version": "x" * 101 + "@1"},
    {"model_version": "a@" + "1" * 31},
    {"symbol": "A" * 33},
    {"signals": "[]"},
    {"signals": "null"},
    {"signals": '{"a": NaN}'},
    {"signals": '{"a": Infinity}'},
    {"signals": "{not json"},
    {"signals": '{"a": "' + "x" * 70_000 + '"}'},
    {"model_version": "no-version"},
    {"model_version": "a@b@c"},
    # Stored once by the fast path and then unreadable by the application (the issue's
    # reproductions): nesting Python's json cannot read, an integer it refuses to parse.
    {"signals": '{"a": ' + "[" * 3000 + "]" * 3000 + "}"},
    {"signals": '{"a": ' + "9" * 5001 + "}"},
    {"signals": '{"a": ' + "[" * 17 + "]" * 17 + "}"},
    {"signals": '{"a": 1000000000000000}'},
    {"signals": '{"a": -1000000000000000.5}'},
    {"signals": '{"a": "\\u0000"}'},
    {"signals": '{"a": "\\ud800"}'},
    {"executed_at": "2101-01-01T00:00:00Z"},
    {"stop_loss": "1.09"},  # a long's stop above its entry
    {"side": "short", "pnl": "-3", "stop_loss": "1.08"},
    {"stop_loss": "0"},
    {"idea_id": "0"},
    {"idea_id": "-4"},
    {"idea_id": "4.5"},
    {"idea_id": "9223372036854775808"},
]


def test_every_row_the_fast_path_accepts_is_accepted_and_stored_alike(tmp_path):
    existing_ideas(42, 2**63 - 1)  # the ideas the rows name
    accepted_plain = 0
    for n, overrides in enumerate(PLAIN + UNUSUAL_BUT_VALID + INVALID):
        data = row(**overrides)
        path = tmp_path / f"one-{n}.csv"
        write_csv(path, [data])
        accepted, fast_rows, exact_rows = import_both_ways(path)
        try:
            parse_record({k: v for k, v in data.items()})
            valid = True
        except RecordError:
            valid = False
        assert valid == (exact_rows is not None), overrides
        if accepted:
            assert valid, f"the fast path accepted a row parse_record refuses: {overrides}"
            assert fast_rows == exact_rows, overrides
        if overrides in PLAIN or overrides == {}:
            assert accepted, f"a plain spelling was declined: {overrides}"
            accepted_plain += 1
        if overrides in INVALID:
            assert not valid, f"expected parse_record to refuse {overrides}"
    assert accepted_plain == len(PLAIN)


def test_a_plain_file_takes_the_fast_path_and_stores_what_the_exact_path_stores(tmp_path):
    path = tmp_path / "plain.csv"
    rows = [row() for _ in range(300)] + [row(closed_at="", exit_price="", pnl="")]
    write_csv(path, rows)
    accepted, fast_rows, exact_rows = import_both_ways(path)
    assert accepted
    assert len(fast_rows) == 301
    assert fast_rows == exact_rows

    result = import_file(path)
    assert (result.method, result.created, result.duplicates) == ("fast_copy", 301, 0)
    again = import_file(path)
    assert (again.method, again.created, again.duplicates, again.closed) == (
        "fast_copy",
        0,
        301,
        0,
    )
    assert Trade.objects.count() == 301


def test_a_file_with_one_unusual_row_is_imported_row_by_row(tmp_path):
    path = tmp_path / "mixed.csv"
    write_csv(path, [row() for _ in range(50)] + [row(symbol="gbpusd", side="Short", pnl="-1")])
    result = import_file(path)
    assert result.method == "copy"
    assert result.created == 51
    assert Trade.objects.filter(symbol="GBPUSD", side="short").count() == 1


def import_fast_counting_like_the_exact_path(path) -> ImportResult:
    """Import by the fast path after a rolled-back exact import; the counts must agree."""
    with transaction.atomic():
        exact = import_file(path, fast=False)
        transaction.set_rollback(True)
    fast = import_file(path)
    assert fast.method == "fast_copy"
    counts = ("created", "closed", "duplicates")
    assert [getattr(fast, n) for n in counts] == [getattr(exact, n) for n in counts]
    return fast


def test_a_file_that_opens_and_closes_a_trade_counts_like_the_exact_path(tmp_path):
    opened = row(closed_at="", exit_price="", pnl="")
    closed = {**opened, "closed_at": "2026-03-02T10:00:00Z", "exit_price": "1.1", "pnl": "2"}
    path = tmp_path / "open-close.csv"
    write_csv(path, [closed, opened, row()])
    fast = import_fast_counting_like_the_exact_path(path)
    assert (fast.created, fast.closed, fast.duplicates) == (2, 1, 0)
    trade = Trade.objects.get(trade_id=opened["trade_id"])
    assert (trade.status, str(trade.pnl)) == ("closed", "2.00000000")


def test_a_stored_open_trade_is_completed_by_a_fast_import(tmp_path):
    opened = row(closed_at="", exit_price="", pnl="")
    first = tmp_path / "first.csv"
    write_csv(first, [opened])
    assert import_file(first).created == 1
    second = tmp_path / "second.csv"
    write_csv(
        second,
        [{**opened, "closed_at": "2026-03-02T11:00:00Z", "exit_price": "1.2", "pnl": "5"}, row()],
    )
    result = import_file(second)
    assert (result.method, result.created, result.closed, result.duplicates) == (
        "fast_copy",
        1,
        1,
        0,
    )
    assert Trade.objects.get(trade_id=opened["trade_id"]).status == "closed"


def test_a_quoted_line_that_would_end_a_copy_loses_nothing(tmp_path):
    """A line "\\." ends a COPY even inside quotes: the row is refused, the rest kept."""
    path = tmp_path / "marker.csv"
    write_csv(path, [row(signals='{"note":\n\\.\n"x"}'), row(), row()])
    with pytest.raises(ImportFailed) as info:
        import_file(path)
    # The record spans lines 2-4; the row-by-row path names the line where it ends.
    assert [(e.line, e.field) for e in info.value.errors] == [(4, "signals")]
    assert not Trade.objects.exists()
    result = import_file(path, skip_invalid=True)
    assert (result.created, Trade.objects.count()) == (2, 2)


def test_a_declined_attempt_rewinds_the_progress_it_reported(tmp_path):
    path = tmp_path / "mixed.csv"
    write_csv(path, [row() for _ in range(20)] + [row(side="LONG")])
    steps: list[int] = []
    result = import_file(path, progress=steps.append)
    assert result.method == "copy"
    assert any(step < 0 for step in steps)
    assert sum(steps) == path.stat().st_size


def test_a_bad_file_is_still_refused_with_line_field_and_reason(tmp_path):
    path = tmp_path / "bad.csv"
    write_csv(path, [row(), row(quantity="-3"), row()])
    with pytest.raises(ImportFailed) as info:
        import_file(path)
    assert [(error.line, error.field) for error in info.value.errors] == [(3, "quantity")]
    assert not Trade.objects.exists()


def test_only_header_columns_are_needed(tmp_path):
    path = tmp_path / "narrow.csv"
    header = ("trade_id", "executed_at", "symbol", "side", "quantity", "entry_price")
    write_csv(path, [row(), row()], header=header)
    result = import_file(path)
    assert (result.method, result.created) == ("fast_copy", 2)
    trade = Trade.objects.first()
    assert (trade.status, trade.fees, trade.signals, trade.strategy) == ("open", 0, {}, "")


def test_json_numbers_read_back_alike(tmp_path):
    path = tmp_path / "json.csv"
    write_csv(path, [row(signals=json.dumps({"a": 1.10, "b": 0.1, "c": 7}))])
    import_file(path)
    assert Trade.objects.get().signals == {"a": 1.1, "b": 0.1, "c": 7}


@pytest.mark.parametrize(
    "content, reason",
    [("", "the file is empty"), ("\n", "missing required column"), ("trade_id\n", "executed_at")],
)
def test_degenerate_files_go_to_the_exact_path(tmp_path, content, reason):
    path = tmp_path / "odd.csv"
    path.write_text(content)
    with pytest.raises(ImportFailed, match=reason):
        import_file(path)
    assert not Trade.objects.exists()


def test_one_instant_spelled_two_ways_is_one_key(tmp_path):
    opened = row(executed_at="2026-03-02T09:00:00Z", closed_at="", exit_price="", pnl="")
    closed = {
        **opened,
        "executed_at": "2026-03-02T11:00:00+02:00",
        "closed_at": "2026-03-02T10:00:00Z",
        "exit_price": "1.1",
        "pnl": "2",
    }
    path = tmp_path / "spellings.csv"
    write_csv(path, [closed, opened])
    import_fast_counting_like_the_exact_path(path)
    assert Trade.objects.get().status == "closed"


def test_a_key_stored_behind_the_range_check_sends_the_file_to_the_exact_path(
    tmp_path, monkeypatch, caplog
):
    """As if a bot captured one of the file's trades between the check and the INSERT:
    the plain INSERT meets the unique key, and the exact path imports the file."""
    rows = [row() for _ in range(5)]
    first = tmp_path / "first.csv"
    write_csv(first, rows[:1])
    assert import_file(first).created == 1
    monkeypatch.setattr(fast_import, "TABLE_HAS_RANGE", "SELECT %s IS NULL AND %s IS NULL")
    path = tmp_path / "all.csv"
    write_csv(path, rows)
    result = import_file(path)
    assert (result.method, result.created, result.duplicates) == ("copy", 4, 1)
    assert "fast path declined" in caplog.text
    assert Trade.objects.count() == 5
