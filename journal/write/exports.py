"""Export of trades in the record format: CSV (safe to open in a spreadsheet) or JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO, Any

from journal.write.records import FIELDS, REVIEW_COLUMNS, TEXT_FIELDS, spreadsheet_text

FORMATS = ("csv", "jsonl")


def export_cell(value: Any, field: str | None = None) -> str:
    """One value as it is written in a CSV cell of the record format."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return spreadsheet_text(text) if field in TEXT_FIELDS else text


class _Echo:
    """A file-like object whose write returns what it was given (for csv.writer)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(queryset, chunk_size: int = 5000) -> Iterator[str]:
    """The trades of ``queryset`` as CSV lines in the record format, header first, safe
    to open in a spreadsheet; streamed through a server-side cursor. The one CSV writer
    of the journal: export_trades and the admin's export both use it."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(FIELDS)
    for values in queryset.values_list(*FIELDS).iterator(chunk_size=chunk_size):
        yield writer.writerow([export_cell(v, f) for f, v in zip(FIELDS, values, strict=True)])


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
    yield writer.writerow((*FIELDS, *REVIEW_COLUMNS))
    for values in queryset.values_list(*FIELDS, *REVIEW_VALUES).iterator(chunk_size=chunk_size):
        record = [export_cell(v, f) for f, v in zip(FIELDS, values, strict=False)]
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
    for values in queryset.values_list(*FIELDS).iterator(chunk_size=5000):
        # JSON keeps objects and whole numbers (idea_id) as they are, as the API answers
        # them; decimals and times are strings, as in CSV.
        row = {
            name: (v if isinstance(v, dict | list | int) else export_cell(v))
            for name, v in zip(FIELDS, values, strict=True)
        }
        handle.write(json.dumps(row) + "\n")
        count += 1
        if progress is not None:
            progress(1)
    return count
