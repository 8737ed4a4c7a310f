"""Export of trades in the record format: CSV (safe to open in a spreadsheet) or JSON lines.

Decimals are written plainly, never in scientific notation (``str`` of a stored zero is
``0E-8``, which the import's fast path rightly declines): a price with its instrument's
decimals, a quantity with its quantity step's, fees and P&L with their currency's, each
only where that is exact (an off-tick price keeps the digits it has), and without padding
zeros where the symbol is no instrument. An export therefore re-imports by the fast path.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any

from backoffice.core.formatting import CURRENCY_DECIMALS, significant_decimals, step_decimals
from journal import instruments
from journal.domain.trade_record import FIELDS, REVIEW_COLUMNS, TEXT_FIELDS, spreadsheet_text

FORMATS = ("csv", "jsonl")
PRICE_FIELDS = frozenset({"entry_price", "exit_price", "stop_loss"})
MONEY_FIELDS = frozenset({"fees", "pnl"})
_SYMBOL = FIELDS.index("symbol")


def plain_decimal(value: Decimal, decimals: int | None = None) -> str:
    """``value`` in plain notation with at least ``decimals`` places where that is exact
    (more where the value has more), without padding zeros when ``decimals`` is None."""
    if not value:
        value = abs(value)  # no "-0"
    places = significant_decimals(value)
    if decimals is not None:
        places = max(places, decimals)
    return f"{value:.{places}f}"


def field_decimals(field: str | None, instrument) -> int | None:
    """The decimals ``field`` is written with for a trade of ``instrument`` (None: as
    few as the value needs)."""
    if instrument is None or field is None:
        return None
    if field in PRICE_FIELDS:
        return instrument.price_decimals
    if field == "quantity":
        return step_decimals(instrument.quantity_step)
    if field in MONEY_FIELDS:
        return CURRENCY_DECIMALS.get(instrument.quote_currency, 2)
    return None


def export_cell(value: Any, field: str | None = None, instrument=None) -> str:
    """One value as it is written in a CSV cell of the record format."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_decimal(value, field_decimals(field, instrument))
    text = str(value)
    return spreadsheet_text(text) if field in TEXT_FIELDS else text


def _instruments() -> dict:
    return instruments.instruments() or {}


def record_cells(values: tuple, known: dict) -> list[str]:
    """A trade's values (in FIELDS order) as the record format's cells."""
    instrument = known.get(values[_SYMBOL])
    return [export_cell(v, f, instrument) for f, v in zip(FIELDS, values, strict=True)]


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(queryset, chunk_size: int = 5000) -> Iterator[str]:
    """The trades of ``queryset`` as CSV lines in the record format, header first, safe
    to open in a spreadsheet; streamed through a server-side cursor. The one CSV writer
    of the journal: export_trades and the admin's export both use it."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    known = _instruments()
    yield writer.writerow(FIELDS)
    for values in queryset.values_list(*FIELDS).iterator(chunk_size=chunk_size):
        yield writer.writerow(record_cells(values, known))


# The review's values in the admin's export, in REVIEW_COLUMNS' order.
REVIEW_VALUES = (
    "review__status",
    "review__grade",
    "review__tags",
    "review__notes",
    "review__reviewed_by__username",
    "review__reviewed_at",
)


def review_csv_lines(queryset, chunk_size: int = 5000) -> Iterator[str]:
    """csv_lines with the review columns after the record's (REVIEW_COLUMNS): status,
    grade, tags, notes, reviewer and time. The text a reviewer typed is escaped for a
    spreadsheet like the record's own text; import_trades reads past these columns."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    known = _instruments()
    yield writer.writerow((*FIELDS, *REVIEW_COLUMNS))
    for values in queryset.values_list(*FIELDS, *REVIEW_VALUES).iterator(chunk_size=chunk_size):
        record = record_cells(values[: len(FIELDS)], known)
        status, grade, tags, notes, reviewer, reviewed_at = values[len(FIELDS) :]
        review = [
            status or "unreviewed",
            grade or "",
            spreadsheet_text(", ".join(tags or [])),
            spreadsheet_text(notes or ""),
            spreadsheet_text(reviewer or ""),
            export_cell(reviewed_at),
        ]
        yield writer.writerow(record + review)


def export_rows(queryset, handle: IO[str], fmt: str, progress=None) -> int:
    """Stream trades in the record format; returns the number written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    count = 0
    if fmt == "csv":
        lines = csv_lines(queryset)
        handle.write(next(lines))
        for line in lines:
            handle.write(line)
            count += 1
            if progress is not None:
                progress(1)
        return count
    known = _instruments()
    for values in queryset.values_list(*FIELDS).iterator(chunk_size=5000):
        # JSON keeps objects and whole numbers (idea_id) as they are, as the API answers
        # them; decimals and times are strings, as in CSV.
        # Text as it is (no spreadsheet escape in JSON); decimals by the instrument.
        instrument = known.get(values[_SYMBOL])
        row = {
            name: v
            if isinstance(v, dict | list | int)
            else plain_decimal(v, field_decimals(name, instrument))
            if isinstance(v, Decimal)
            else export_cell(v)
            for name, v in zip(FIELDS, values, strict=True)
        }
        handle.write(json.dumps(row) + "\n")
        count += 1
        if progress is not None:
            progress(1)
    return count
