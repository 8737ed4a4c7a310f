"""The broker statement readers (journal.statements): each format against its fixture,
written from the format's public description (tests/journal/statements/), and against
what people upload by mistake or on purpose.

No database: the readers turn bytes into trades in the record format; the import
(tests/journal/test_statement_imports.py) applies the record format's rules.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import quoteattr
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.domain.trade_record import parse_record
from journal.statements import formats, guesses, ibkr, mt5
from journal.statements.reading import StatementUnreadable, decimal_of, local_time

FIXTURES = Path(__file__).parent / "statements"
NEW_YORK = ZoneInfo("America/New_York")
ATHENS = ZoneInfo("Europe/Athens")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def records(statement) -> dict[str, dict]:
    return {row.record["trade_id"]: row.record for row in statement.rows if row.record}


def problems(statement) -> dict[int, list[tuple[str, str]]]:
    return {row.line: row.problems for row in statement.rows if row.problems}


# -- Interactive Brokers Flex Query -----------------------------------------------------


def test_a_flex_query_xml_becomes_round_trips_paired_first_in_first_out():
    statement = formats.read(fixture("ibkr_flex_trades.xml"), ibkr.XML, zone=NEW_YORK)
    found = records(statement)
    assert statement.account == "U1234567"
    assert sorted(found) == [
        "IBKR-1001",
        "IBKR-1003",
        "IBKR-1006",
        "IBKR-1008",
        "IBKR-1009",
        "IBKR-1011",
        "IBKR-1014",
    ]
    # A stock bought and sold: times from New York (EDT, UTC-4) to UTC; the P&L is the
    # move less both commissions, as IBKR's fifoPnlRealized (172.98) says.
    aapl = found["IBKR-1001"]
    assert aapl["executed_at"] == "2026-05-04T14:30:00+00:00"
    assert aapl["closed_at"] == "2026-05-05T19:10:00+00:00"
    assert (aapl["side"], aapl["quantity"], aapl["entry_price"], aapl["exit_price"]) == (
        "long",
        "100",
        "185.5",
        "187.25",
    )
    assert (aapl["fees"], aapl["pnl"], aapl["account"]) == ("2.02", "172.98", "U1234567")
    # A short future closed by two executions: their weighted exit, the multiplier of 50.
    es = found["IBKR-1003"]
    assert (es["side"], es["quantity"], es["exit_price"]) == ("short", "2", "5292.75")
    assert (es["fees"], es["pnl"]) == ("9", "841")
    # No open/close indicator (FX): inferred from the position.
    assert (found["IBKR-1006"]["pnl"], found["IBKR-1006"]["fees"]) == ("13.8", "4")
    # C;O closes the long of 10 and opens a short of 5, which a later buy closes.
    assert (found["IBKR-1008"]["quantity"], found["IBKR-1008"]["pnl"]) == ("10", "15")
    gld_short = found["IBKR-1009"]
    assert (gld_short["side"], gld_short["quantity"], gld_short["exit_price"]) == (
        "short",
        "5",
        "214",
    )
    assert (gld_short["fees"], gld_short["pnl"]) == ("1.5", "14")
    # Still open at the end of the statement.
    assert "exit_price" not in found["IBKR-1014"] and "closed_at" not in found["IBKR-1014"]
    # The cancelled execution and the close of a position opened before the period.
    refused = problems(statement)
    assert [field for field, _ in refused[22]] == ["openCloseIndicator"]
    assert "does not open" in refused[22][0][1]
    assert refused[23] == [("buySell", "BUY (Ca.): a cancelled execution, not a trade")]
    assert statement.skipped == 2  # the closed lot and the order


@pytest.mark.parametrize(
    "name", ["ibkr_flex_trades.csv", "ibkr_flex_sections.csv", "ibkr_flex_descriptors.csv"]
)
def test_each_flex_query_csv_layout_reads_as_the_xml(name):
    xml = formats.read(fixture("ibkr_flex_trades.xml"), ibkr.XML, zone=NEW_YORK)
    data = fixture(name)
    assert formats.detect(data, name) == ibkr.CSV
    statement = formats.read(data, ibkr.CSV, zone=NEW_YORK)
    assert records(statement) == records(xml)
    assert sorted(r for rows in problems(statement).values() for r in rows) == sorted(
        r for rows in problems(xml).values() for r in rows
    )
    assert statement.account == "U1234567"


def test_every_flex_trade_passes_the_record_format_but_the_option_with_spaces():
    statement = formats.read(fixture("ibkr_flex_trades.xml"), ibkr.XML, zone=NEW_YORK)
    refused = {}
    for trade_id, record in records(statement).items():
        try:
            parse_record(record)
        except ValueError as exc:
            refused[trade_id] = exc.errors
    assert list(refused) == ["IBKR-1011"]
    assert list(refused["IBKR-1011"]) == ["symbol"]


def test_flex_times_in_the_formats_ibkr_writes():
    def at(**values):
        return ibkr.flex_time(values, NEW_YORK).isoformat()

    assert at(date_time="20260504;103000") == "2026-05-04T14:30:00+00:00"
    assert at(date_time="2026-05-04;10:30:00") == "2026-05-04T14:30:00+00:00"
    assert at(date_time="2026-05-04 10:30:00") == "2026-05-04T14:30:00+00:00"
    assert at(date_time="2026-05-04,10:30:00") == "2026-05-04T14:30:00+00:00"
    assert at(date_time="20260504103000") == "2026-05-04T14:30:00+00:00"
    assert at(date_time="04-May-26;103000") == "2026-05-04T14:30:00+00:00"
    assert at(trade_date="20260504", trade_time="103000") == "2026-05-04T14:30:00+00:00"
    # An offset the query appended wins over the zone given.
    assert at(date_time="2026-01-05;10:00:00 EST") == "2026-01-05T15:00:00+00:00"
    for bad, says in [
        ({"date_time": "05/04/2026;103000"}, "slashes"),
        ({"date_time": "20260504"}, "no time"),
        ({"date_time": "20260504;256100"}, "not a time of day"),
        ({"date_time": "99990504;103000"}, "1990 to 2100"),
        ({"date_time": "20260230;103000"}, "not a date and time"),
        ({"date_time": "2026-01-05;10:00:00 XYZ"}, "time zone"),
        ({}, "no time"),
    ]:
        with pytest.raises(ValueError, match=says):
            ibkr.flex_time(bad, NEW_YORK)


def test_a_time_the_clocks_skipped_or_showed_twice_is_refused_not_guessed():
    with pytest.raises(ValueError, match="did not happen"):
        ibkr.flex_time({"date_time": "20260308;023000"}, NEW_YORK)
    with pytest.raises(ValueError, match="happened twice"):
        ibkr.flex_time({"date_time": "20261101;013000"}, NEW_YORK)


def _flex_xml(executions: list[dict], *, account: str = "U1") -> bytes:
    rows = "\n".join(
        "<Trade " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in e.items()) + " />"
        for e in executions
    )
    return (
        f'<FlexQueryResponse queryName="q" type="AF"><FlexStatements count="1">'
        f'<FlexStatement accountId="{account}"><Trades>\n{rows}\n</Trades></FlexStatement>'
        "</FlexStatements></FlexQueryResponse>"
    ).encode()


def _flex_csv(executions: list[dict]) -> bytes:
    names = list(executions[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([e[name] for name in names] for e in executions)
    return out.getvalue().encode()


# Fills of one contract that start and end flat: (buy?, quantity, price in cents, fee).
fills = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(1, 50),
        st.integers(9_000, 11_000),
        st.integers(0, 300),
    ),
    min_size=1,
    max_size=30,
)


def _executions(steps, multiplier: int) -> list[dict]:
    position = 0
    out = []
    for _n, (buy, quantity, cents, fee) in enumerate(steps):
        out.append((buy, quantity, cents, fee))
        position += quantity if buy else -quantity
    if position:  # flatten at the end
        out.append((position < 0, abs(position), 10_000, 100))
    return [
        {
            "accountId": "U1",
            "symbol": "XYZ",
            "conid": "1",
            "currency": "USD",
            "assetCategory": "STK",
            "multiplier": str(multiplier),
            "tradeID": str(n + 1),
            "dateTime": f"202605{1 + n // 1440 % 28:02d};{n // 60 % 24:02d}{n % 60:02d}00",
            "quantity": str(quantity if buy else -quantity),
            "tradePrice": f"{Decimal(cents) / 100}",
            "ibCommission": f"{-Decimal(fee) / 100}",
            "buySell": "BUY" if buy else "SELL",
            "openCloseIndicator": "",
        }
        for n, (buy, quantity, cents, fee) in enumerate(out)
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=fills, multiplier=st.sampled_from([1, 50, 100]))
def test_paired_trades_account_for_every_fill_and_every_cent(steps, multiplier):
    """Whatever the fills, once flat again: the trades' P&L is the cash the fills made
    less every commission, the quantities opened are the trades', and the CSV of the
    same fills reads as its XML."""
    executions = _executions(steps, multiplier)
    statement = ibkr.read_xml(_flex_xml(executions), zone=ZoneInfo("UTC"))
    found = list(records(statement).values())
    assert not problems(statement)
    assert all(r.get("closed_at") for r in found), "flat at the end: every trade closed"
    cash = sum(
        (
            Decimal(e["tradePrice"]) * -Decimal(e["quantity"]) * multiplier
            + Decimal(e["ibCommission"])
            for e in executions
        ),
        Decimal(0),
    )
    assert sum((Decimal(r["pnl"]) for r in found), Decimal(0)) == cash
    assert all(Decimal(r["fees"]) >= 0 and Decimal(r["quantity"]) > 0 for r in found)
    longs = sum(Decimal(r["quantity"]) for r in found if r["side"] == "long")
    bought = sum(Decimal(e["quantity"]) for e in executions if e["buySell"] == "BUY")
    assert longs <= bought
    assert records(ibkr.read_csv(_flex_csv(executions), zone=ZoneInfo("UTC"))) == records(statement)


def test_a_flex_xml_with_entities_or_a_dtd_is_refused_before_anything_expands():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<FlexQueryResponse>&lol2;</FlexQueryResponse>"
    )
    with pytest.raises(StatementUnreadable, match="DTD or entities"):
        ibkr.read_xml(bomb, zone=NEW_YORK)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"<FlexQueryResponse><Trades><Trade></FlexQueryResponse>", "line 1: not well-formed"),
        (b"<html><body>a page</body></html>", "not a Flex Query"),
        (
            b"<FlexStatementResponse><Status>Fail</Status><ErrorCode>1019</ErrorCode>"
            b"</FlexStatementResponse>",
            "could not be made",
        ),
        (b"<FlexQueryResponse>\xff\xfe\x00</FlexQueryResponse>", "not well-formed"),
        (b"<a>" * 100_000, "not"),
    ],
)
def test_a_file_that_is_no_flex_xml_is_refused_naming_why(data, says):
    with pytest.raises(StatementUnreadable, match=says):
        ibkr.read_xml(data, zone=NEW_YORK)


def test_hostile_values_in_a_flex_execution_are_row_problems_not_crashes():
    base = {
        "accountId": "U1",
        "symbol": "AAPL",
        "conid": "1",
        "currency": "USD",
        "multiplier": "1",
        "tradeID": "9",
        "dateTime": "20260504;103000",
        "quantity": "10",
        "tradePrice": "185",
        "ibCommission": "-1",
        "buySell": "BUY",
        "openCloseIndicator": "O",
    }
    hostile = {
        "quantity": ["1e999999", "Infinity", "NaN", "0", "ten", "9" * 60],
        "tradePrice": ["-", "1e5", "1,2,3.4.5"],
        "dateTime": ["99991231;235959", "\x00", "20260504;103000 ZZZ"],
        "buySell": ["HOLD", ""],
        "openCloseIndicator": ["X"],
        "multiplier": ["0", "-50"],
    }
    for name, values in hostile.items():
        for value in values:
            executions = [{**base, name: value}]
            statement = ibkr.read_csv(_flex_csv(executions), zone=NEW_YORK)
            assert not records(statement), (name, value)
            assert problems(statement), (name, value)


def test_a_flex_csv_without_the_needed_columns_says_which():
    data = b'"ClientAccountID","Symbol","Quantity"\n"U1","AAPL","1"\n'
    with pytest.raises(StatementUnreadable, match="TradePrice, Buy/Sell, DateTime"):
        ibkr.read_csv(data, zone=NEW_YORK)
    with pytest.raises(StatementUnreadable, match="not UTF-8"):
        ibkr.read_csv(b'"Symbol"\n"\xff\xfe\xfa"\n', zone=NEW_YORK)


# -- MetaTrader 5 ----------------------------------------------------------------------


def test_an_mt5_report_becomes_its_positions_closed_and_open():
    data = fixture("mt5_report.html")
    assert data[:2] == b"\xff\xfe"  # UTF-16 with its BOM, as the terminal saves it
    assert formats.detect(data, "ReportHistory-51234567.html") == mt5.FORMAT
    statement = mt5.read(data, zone=ATHENS)
    found = records(statement)
    assert statement.account == "51234567"
    assert sorted(found) == [
        "MT5-51234567-1001",
        "MT5-51234567-1002",
        "MT5-51234567-1004",
        "MT5-51234567-1006",
        "MT5-51234567-1007",
    ]
    eurusd = found["MT5-51234567-1001"]
    # Athens is UTC+3 in May; the comment's hidden cell is no column.
    assert eurusd["executed_at"] == "2026-05-04T07:23:45+00:00"
    assert eurusd["closed_at"] == "2026-05-04T11:02:10+00:00"
    assert (eurusd["side"], eurusd["quantity"], eurusd["entry_price"]) == ("long", "0.5", "1.1")
    assert (eurusd["exit_price"], eurusd["stop_loss"]) == ("1.104", "1.098")
    # P&L: profit plus commission and swap; fees: what they cost.
    assert (eurusd["pnl"], eurusd["fees"]) == ("196.5", "3.5")
    gold = found["MT5-51234567-1002"]
    assert (gold["side"], gold["entry_price"], gold["exit_price"]) == ("short", "2350.5", "2355.5")
    assert (gold["pnl"], gold["fees"], gold["stop_loss"]) == ("-51.9", "1.9", "2352")
    # A stop moved past the entry is no initial stop: left out, and the report says so.
    assert "stop_loss" not in found["MT5-51234567-1004"]
    assert any("1 stop(s)" in note for note in statement.notes)
    # Open Positions: an open trade, which the report that closes it completes.
    still_open = found["MT5-51234567-1007"]
    assert ("closed_at" not in still_open) and still_open["side"] == "short"
    # The position with an impossible time is a row problem; the balance row and the
    # totals row are no trades; the Orders and Deals sections are not positions.
    assert [field for rows in problems(statement).values() for field, _ in rows] == ["Time"]
    assert statement.skipped == 2
    for record in found.values():
        parse_record(record)


def test_an_mt5_report_in_utf8_reads_the_same():
    utf16 = fixture("mt5_report.html")
    utf8 = utf16[2:].decode("utf-16-le").encode("utf-8")
    assert records(mt5.read(utf8, zone=ATHENS)) == records(mt5.read(utf16, zone=ATHENS))


def test_the_account_given_replaces_the_reports_in_the_key_and_the_trade():
    statement = mt5.read(fixture("mt5_report.html"), zone=ATHENS, account="desk-2")
    assert "MT5-desk-2-1001" in records(statement)
    assert {r["account"] for r in records(statement).values()} == {"desk-2"}


@pytest.mark.parametrize(
    ("html", "says"),
    [
        ("<html><table><tr><td>Deals</td></tr></table></html>", "no Positions section"),
        (
            "<table><tr><th>Positions</th></tr><tr><td>Time</td><td>Symbol</td></tr></table>",
            "has no position, type",
        ),
    ],
)
def test_an_html_file_that_is_no_mt5_report_says_why(html, says):
    with pytest.raises(StatementUnreadable, match=says):
        mt5.read(html.encode(), zone=ATHENS)


def test_hostile_mt5_cells_are_row_problems():
    head = (
        "<table><tr><th>Positions</th></tr><tr><td>Time</td><td>Position</td><td>Symbol</td>"
        "<td>Type</td><td>Volume</td><td>Price</td><td>S / L</td><td>T / P</td><td>Time</td>"
        "<td>Price</td><td>Commission</td><td>Swap</td><td>Profit</td></tr>"
    )
    good = [
        "2026.05.04 10:23:45",
        "7",
        "EURUSD",
        "buy",
        "0.5",
        "1.1",
        "",
        "",
        "2026.05.04 11:00:00",
        "1.2",
        "0",
        "0",
        "5",
    ]
    for index, value in [
        (0, "9999.12.31 23:59:59"),
        (1, "<script>"),
        (4, "1e999999"),
        (5, "\u202e1.1"),
        (8, "2026.03.29 03:30:00"),  # Athens skipped this hour
        (12, "NaN"),
    ]:
        cells = list(good)
        cells[index] = value
        row = "<tr>" + "".join(f"<td>{c.replace('<', '&lt;')}</td>" for c in cells) + "</tr>"
        statement = mt5.read((head + row + "</table>").encode(), zone=ATHENS)
        assert not records(statement) and problems(statement), (index, value)


# -- shared ----------------------------------------------------------------------------


def test_formats_are_told_from_the_first_bytes():
    assert formats.detect(b"trade_id,executed_at,symbol\n") == formats.CSV
    assert formats.detect(b'{"trade_id": "x"}\n') == formats.JSONL
    assert formats.detect(b"\xef\xbb\xbf<?xml version='1.0'?><FlexQueryResponse/>") == ibkr.XML
    with pytest.raises(StatementUnreadable, match="choose its format"):
        formats.detect(b"\x00\x01\x02 binary")


def test_decimals_as_brokers_write_them():
    assert decimal_of("1,234.50", what="x") == Decimal("1234.50")
    assert decimal_of("1 234.50", what="x") == Decimal("1234.50")
    assert decimal_of("-0.70", what="x") == Decimal("-0.70")
    for bad in ("1e5", "Infinity", "", "1.2.3", "9" * 30):
        with pytest.raises(ValueError):
            decimal_of(bad, what="x")


def test_local_times_become_utc():
    from datetime import datetime

    assert local_time(datetime(2026, 1, 5, 10), NEW_YORK).isoformat() == "2026-01-05T15:00:00+00:00"


def test_an_instrument_is_proposed_only_from_what_the_statement_says():
    statement = formats.read(fixture("ibkr_flex_trades.xml"), ibkr.XML, zone=NEW_YORK)
    fx = guesses.proposal("EUR.USD", statement.facts("EUR.USD"))
    assert fx.complete
    assert fx.fields == {
        "symbol": "EUR.USD",
        "name": "EUR.USD",
        "asset_class": "fx",
        "quantity_unit": "lots",
        "quote_currency": "USD",
        "tick_size": "0.00001",
        "price_decimals": "5",
        "quantity_step": "1",
        "point_value": "1",
    }
    # A future: IBKR does not say whether its underlying is an index or a commodity.
    future = guesses.proposal("ESM6", statement.facts("ESM6"))
    assert not future.complete and "asset class" in future.missing
    assert future.fields["point_value"] == "50"
    gold = guesses.proposal(
        "XAUUSD", mt5.read(fixture("mt5_report.html"), zone=ATHENS).facts("XAUUSD")
    )
    assert gold.complete and gold.fields["point_value"] == "100"
