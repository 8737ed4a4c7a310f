"""What every statement reader shares: the file's text, numbers, local times, its rows.

A reader turns a broker's file into ``Row``s: each a trade in the record format
(journal.domain.trade_record; JSON values: decimals as text, times ISO 8601 with offset) with
the line it came from, or the problems that kept it from being one. A file that cannot
be read at all (not text, not the format) raises ``StatementUnreadable`` naming the line.
The record format's own rules (journal.domain.trade_record.parse_record) are applied after
reading, by the import, to every trade whatever the broker: a reader does not repeat
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backoffice.core.errors import DomainError
from journal.domain.trade_record import shown

# Rows one statement may hold: a year of a busy desk. A larger file is split by period.
MAX_ROWS = 200_000
# Prices and quantities kept per symbol for the instrument a person may add from them.
SAMPLES_PER_SYMBOL = 500


class StatementUnreadable(DomainError):
    """The file as a whole cannot be read as the format: nothing of it is imported."""

    code = "statement_unreadable"


@dataclass
class Row:
    """One trade of a statement, or the problems that kept a row from being one."""

    line: int  # of the uploaded file, counted from 1
    record: dict[str, Any] | None  # the trade in the record format, None when unreadable
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    source: str = ""  # the row as the file wrote it (kept with a quarantined row)


@dataclass
class SymbolFacts:
    """What a statement says about one symbol: enough to propose its instrument."""

    currency: str = ""
    asset_class: str = ""  # journal.models.AssetClass value, "" when the file does not say
    point_value: Decimal | None = None  # the contract's multiplier
    description: str = ""
    prices: list[Decimal] = field(default_factory=list)
    quantities: list[Decimal] = field(default_factory=list)

    def saw(self, *, prices=(), quantities=()) -> None:
        for value in prices:
            if value is not None and len(self.prices) < SAMPLES_PER_SYMBOL:
                self.prices.append(value)
        for value in quantities:
            if value is not None and len(self.quantities) < SAMPLES_PER_SYMBOL:
                self.quantities.append(value)


@dataclass
class Statement:
    """A statement as read: its trades (and unreadable rows), in the file's order."""

    format: str
    rows: list[Row] = field(default_factory=list)
    account: str = ""
    notes: list[str] = field(default_factory=list)
    symbols: dict[str, SymbolFacts] = field(default_factory=dict)
    skipped: int = 0  # rows that are not trades (balance rows, summaries, orders)

    def add(self, row: Row) -> None:
        if len(self.rows) >= MAX_ROWS:
            raise StatementUnreadable(
                f"line {row.line}: the statement holds more than {MAX_ROWS:,} trades; "
                "export it in shorter periods"
            )
        self.rows.append(row)

    def facts(self, symbol: str) -> SymbolFacts:
        return self.symbols.setdefault(symbol, SymbolFacts())


def text_of(data: bytes, *, what: str) -> str:
    """The file's text: UTF-8 (with or without a BOM) or UTF-16 with its BOM (which
    MetaTrader writes); anything else is refused, naming the first bad byte."""
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise StatementUnreadable(
                f"the {what} is not valid UTF-16 text (byte {exc.start + 1}); nothing was imported"
            ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise StatementUnreadable(
            f"line {line}: the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save it as UTF-8 and upload it again"
        ) from None
    return text.removeprefix("\ufeff")


_GROUPING = re.compile(r"[,\s\u00a0\u202f]")
# Brokers write plain decimals: no exponent (1e999999 would be a million digits).
_PLAIN = re.compile(r"[+-]?\d{1,20}(\.\d{1,20})?")


def decimal_of(text: str, *, what: str, grouping: bool = True) -> Decimal:
    """A decimal written by a broker: digit grouping (1,234.50 or 1 234.50) removed
    when ``grouping``. ValueError naming ``what`` when it is not a plain number."""
    raw = text.strip()
    cleaned = _GROUPING.sub("", raw) if grouping else raw
    if not _PLAIN.fullmatch(cleaned):
        raise ValueError(f"{what} is not a number (got {shown(raw)})")
    return Decimal(cleaned)


def zone_of(name: str) -> ZoneInfo:
    """The time zone named ``name`` (an IANA name such as Europe/Athens)."""
    from zoneinfo import ZoneInfoNotFoundError, available_timezones

    if name not in available_timezones() and name != "UTC":
        raise ValueError(f"{shown(name)} is not a time zone name (e.g. UTC, Europe/Athens)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{shown(name)} is not a time zone name") from None


def local_time(moment: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time of ``zone`` as a UTC time; ValueError for a time the clocks
    skipped, or one they showed twice (which of the two cannot be told)."""
    first = moment.replace(tzinfo=zone, fold=0)
    second = moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        exists = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment
        if exists:
            raise ValueError(
                f"{moment:%Y-%m-%d %H:%M:%S} happened twice in {zone.key} (the clocks went "
                "back): which one cannot be told"
            )
        raise ValueError(
            f"{moment:%Y-%m-%d %H:%M:%S} did not happen in {zone.key} (the clocks went forward)"
        )
    return first.astimezone(UTC)


def plain(value: Decimal) -> str:
    """A decimal as the record format's text, without an exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text
