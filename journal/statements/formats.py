"""Which format a statement is in, and the reader of each.

The project's own trade records (CSV with the format's header, JSON lines) are read as
they are; a broker's statement is turned into them (journal.statements.ibkr, .mt5).
A file's format is told from its first bytes, or given by the person uploading it.
"""

from __future__ import annotations

import io
import json
from zoneinfo import ZoneInfo

from journal.statements import ibkr, mt5
from journal.statements.reading import Row, Statement, StatementUnreadable
from journal.write.imports import ImportFailed, RowError, read_csv, read_jsonl

CSV = "csv"
JSONL = "jsonl"
LABELS = {
    CSV: "Trade records (CSV, the journal's header)",
    JSONL: "Trade records (JSON lines)",
    ibkr.XML: "Interactive Brokers Flex Query, trades (XML)",
    ibkr.CSV: "Interactive Brokers Flex Query, trades (CSV)",
    mt5.FORMAT: "MetaTrader 5 trade history report (HTML)",
}
CHOICES = list(LABELS.items())


def detect(data: bytes, filename: str = "") -> str:
    """The format of a statement, from its first bytes (its name breaks a tie)."""
    head = _head_text(data)
    lowered = head.lstrip().lower()
    if (
        lowered.startswith("<?xml")
        or "<flexqueryresponse" in lowered
        or "<flexstatementresponse" in lowered
    ):
        return ibkr.XML
    if lowered.startswith("<!doctype html") or "<html" in lowered or "<table" in lowered:
        return mt5.FORMAT
    if lowered.startswith("{"):
        return JSONL
    first = lowered.splitlines()[0] if lowered else ""
    cells = [cell.strip().strip('"') for cell in first.split(",")]
    if cells and (
        cells[0] in ("bof", "header")
        or any(ibkr.canonical(cell) in ("buy_sell", "price") for cell in cells)
        or "clientaccountid" in cells
    ):
        return ibkr.CSV
    if "trade_id" in cells:
        return CSV
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    by_suffix = {"jsonl": JSONL, "ndjson": JSONL, "xml": ibkr.XML, "htm": mt5.FORMAT}
    by_suffix["html"] = mt5.FORMAT
    if suffix in by_suffix:
        return by_suffix[suffix]
    raise StatementUnreadable(
        "cannot tell which statement this is (not a Flex Query, an MT5 report or the "
        "journal's trade records): choose its format",
        field="format",
    )


def _head_text(data: bytes) -> str:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.decode("utf-8", errors="ignore").removeprefix("\ufeff")


def read(
    data: bytes, fmt: str, *, zone: ZoneInfo, account: str = "", strategy: str = ""
) -> Statement:
    """The statement's trades (and unreadable rows), whatever its format."""
    if fmt == ibkr.XML:
        return ibkr.read_xml(data, zone=zone, account=account, strategy=strategy)
    if fmt == ibkr.CSV:
        return ibkr.read_csv(data, zone=zone, account=account, strategy=strategy)
    if fmt == mt5.FORMAT:
        return mt5.read(data, zone=zone, account=account, strategy=strategy)
    if fmt in (CSV, JSONL):
        return read_records(data, fmt)
    raise StatementUnreadable(f"unknown format {fmt!r}", field="format")


def read_records(data: bytes, fmt: str) -> Statement:
    """The journal's own records, as they are: they carry their accounts, strategies
    and times with offsets (an account or time zone given for a broker's statement
    does not apply)."""
    statement = Statement(fmt)
    reader = read_csv if fmt == CSV else read_jsonl
    # Split as the reader splits (on newlines only), so that its line numbers match.
    lines = data.split(b"\n") if fmt == JSONL else None
    try:
        for line, row in reader(io.BytesIO(data)):
            source = _source(lines, line, row)
            if isinstance(row, RowError):
                statement.add(Row(line, None, [(row.field, row.reason)], source))
                continue
            if isinstance(row, dict):
                symbol = row.get("symbol")
                if isinstance(symbol, str) and symbol.strip():
                    statement.facts(symbol.strip().upper())
            statement.add(Row(line, row, [], source))
    except ImportFailed as exc:
        raise StatementUnreadable(str(exc)) from None
    return statement


def record_line(statement: Statement, row: Row) -> str:
    """The row's trade as one JSON line for the import: a JSON-lines file's own line
    (its numbers exactly as written), any other format's record."""
    if statement.format == JSONL:
        return row.source
    return json.dumps(row.record, ensure_ascii=True)


def _source(lines: list[bytes] | None, line: int, row) -> str:
    if lines is not None and 0 < line <= len(lines):
        return lines[line - 1].decode("utf-8", "replace").removeprefix("\ufeff").rstrip("\r")
    if isinstance(row, dict):
        return json.dumps(row, default=str, ensure_ascii=True)
    return ""
