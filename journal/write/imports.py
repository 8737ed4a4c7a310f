"""Import of trades in the record format: CSV or JSON lines.

An import reads and validates every row and commits all of it or nothing (unless the
operator asks to skip invalid rows, which are then reported). On PostgreSQL a plainly
spelled CSV file takes the fast path (journal.write.fast_import); any other file is
validated row by row and streamed with COPY into the stage of journal.write.storage,
so re-importing a file changes nothing.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from django.db import connection, transaction

from journal import instruments
from journal.domain.trade_record import (
    DERIVED_COLUMNS,
    TEXT_FIELDS,
    RecordError,
    TradeRecord,
    from_spreadsheet_text,
    header_problem,
    parse_record,
)
from journal.write import fast_import, storage
from journal.write.capture import (
    UNKNOWN_IDEA,
    latest_trade_time,
    store_records,
    unknown_idea_ids,
)

FORMATS = ("csv", "jsonl")
MAX_REPORTED_ERRORS = 50


class ImportFailed(Exception):
    """The file cannot be imported; nothing of it was committed."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        self.errors = errors or []
        super().__init__(message)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class ImportResult:
    rows: int = 0
    valid: int = 0
    created: int = 0
    duplicates: int = 0
    closed: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    method: str = ""


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise ImportFailed(f"unknown format {given!r}: use csv or jsonl")
        return given
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise ImportFailed(f"cannot tell the format of {path.name}: use --format csv or jsonl")


class _Lines:
    """Decoded lines of a binary file, counting lines and bytes, refusing non-UTF-8."""

    def __init__(self, handle: IO[bytes], progress=None):
        self.handle = handle
        self.number = 0
        self.progress = progress

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            if self.progress is not None:
                self.progress(len(raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFailed(
                    f"line {self.number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                    f"column {exc.start + 1}); nothing was imported"
                ) from None
            if self.number == 1:
                text = text.removeprefix("\ufeff")
            yield text


def read_csv(handle: IO[bytes], progress=None) -> Iterator[tuple[int, dict | RowError]]:
    """(line, row or error) for every record of a CSV file with the format's header."""
    lines = _Lines(handle, progress)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed("line 1: the file is empty; nothing was imported") from None
    except csv.Error as exc:
        raise ImportFailed(f"line 1: unreadable CSV ({exc}); nothing was imported") from None
    header = [name.strip() for name in header]
    check_header(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed(
                f"line {reader.line_num}: unreadable CSV ({exc}); nothing was imported"
            ) from None
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            yield (
                reader.line_num,
                RowError(
                    reader.line_num, "(row)", f"has {len(values)} fields, the header {len(header)}"
                ),
            )
            continue
        row = dict(zip(header, values, strict=True))
        for name in DERIVED_COLUMNS:
            row.pop(name, None)  # the exports' figures and review: not the trade's
        for name in TEXT_FIELDS.intersection(row):
            row[name] = from_spreadsheet_text(row[name])
        yield reader.line_num, row


def check_header(header: list[str]) -> None:
    problem = header_problem(header)
    if problem:
        raise ImportFailed(f"line 1: {problem}; nothing was imported")


def read_jsonl(handle: IO[bytes], progress=None) -> Iterator[tuple[int, dict | RowError]]:
    lines = _Lines(handle, progress)
    empty = True
    for text in lines:
        if not text.strip():
            continue
        empty = False
        try:
            row = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            yield lines.number, RowError(lines.number, "(row)", f"not JSON: {exc}")
            continue
        if isinstance(row, dict):
            for name in DERIVED_COLUMNS:
                row.pop(name, None)  # the exports' figures and review: not the trade's
        yield lines.number, row
    if empty:
        raise ImportFailed("line 1: the file is empty; nothing was imported")


# Rows validated before the ideas they name are looked up, at once.
LOOKUP_ROWS = 2000


def validated_rows(
    path: Path,
    fmt: str,
    progress=None,
    known: dict | None = None,
    idea_lines: dict[int, list[int]] | None = None,
) -> Iterator[tuple[int, TradeRecord | list[RowError]]]:
    """(line, record or its errors) for every row, every bad field of a row named at
    once: the format's rules (journal.domain.trade_record.parse_record), a symbol that is no
    instrument (``known``: the instruments a symbol must be one of; None: any) and an
    ``idea_id`` of no trade idea. The ideas are looked up every LOOKUP_ROWS rows, unless
    ``idea_lines`` is given: then each idea named is noted there ({idea id: [line]})
    for the caller to look up once the rows are read (a COPY holds the connection while
    they stream)."""
    reader = read_csv if fmt == "csv" else read_jsonl
    latest = latest_trade_time()
    with path.open("rb") as handle:
        pending: list[tuple[int, object]] = []
        for line, row in reader(handle, progress):
            pending.append((line, _parsed(row, latest)))
            if len(pending) >= LOOKUP_ROWS:
                yield from _with_references(pending, known, idea_lines)
                pending = []
        yield from _with_references(pending, known, idea_lines)


def _parsed(row, latest) -> TradeRecord | RowError | RecordError:
    if isinstance(row, RowError):
        return row
    try:
        return parse_record(row, latest=latest)
    except RecordError as exc:
        return exc


def _with_references(rows: list, known: dict | None, idea_lines: dict | None):
    """Each parsed row as a record or its errors, with those of what it names."""
    named = {}
    for line, item in rows:
        if isinstance(item, TradeRecord):
            named[line] = (item.symbol, item.idea_id)
        elif isinstance(item, RecordError):
            named[line] = (item.values.get("symbol"), item.values.get("idea_id"))
    if idea_lines is None:
        missing = unknown_idea_ids({idea for _symbol, idea in named.values() if idea})
    else:
        missing = set()
        for line, (_symbol, idea) in named.items():
            if idea is not None:
                idea_lines.setdefault(idea, []).append(line)
    for line, item in rows:
        if isinstance(item, RowError):
            yield line, [item]
            continue
        symbol, idea = named[line]
        errors = [] if isinstance(item, TradeRecord) else list(item.errors.items())
        if known is not None and symbol is not None and symbol not in known:
            errors.insert(0, ("symbol", f"{symbol} {instruments.UNKNOWN}"))
        if idea is not None and idea in missing:
            errors.append(("idea_id", UNKNOWN_IDEA.format(id=idea)))
        if errors:
            yield line, [RowError(line, name, reason) for name, reason in errors]
        else:
            yield line, item


def import_file(
    path: Path,
    *,
    fmt: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress=None,
    use_copy: bool | None = None,
    fast: bool = True,
) -> ImportResult:
    """Import a file of trades; all or nothing unless ``skip_invalid``."""
    if not path.is_file():
        raise ImportFailed(f"{path} is not a file")
    fmt = detect_format(path, fmt)
    if use_copy is None:
        use_copy = connection.vendor == "postgresql"
    result = ImportResult(dry_run=dry_run, method="copy" if use_copy else "batches")
    # Read before the rows stream into a COPY, which holds the connection meanwhile.
    known = instruments.instruments() if instruments.required() else None
    idea_lines: dict[int, list[int]] | None = {} if use_copy else None
    rows = validated_rows(path, fmt, progress, known, idea_lines)
    with transaction.atomic():
        # A plainly right CSV file is checked in SQL (journal/write/fast_import.py); any other
        # is validated row by row, naming line, field and reason.
        try_fast = fast and use_copy and fmt == "csv"
        if not (try_fast and fast_import.import_csv(path, result, progress)):
            if use_copy:
                _import_copy(rows, result, idea_lines)
            else:
                _import_batches(rows, result)
        if result.errors and not skip_invalid:
            transaction.set_rollback(True)
            raise ImportFailed(
                f"{_count_lines(result.errors)} of {result.rows} row(s) invalid; nothing was "
                "imported (use --skip-invalid to import the valid rows)",
                result.errors,
            )
        if dry_run:
            transaction.set_rollback(True)
    return result


def _count_lines(errors: list[RowError]) -> int:
    return len({error.line for error in errors})


def _collect(result: ImportResult, item) -> TradeRecord | None:
    result.rows += 1
    if isinstance(item, list):
        if len(result.errors) < 100_000:  # a report, not a second copy of a bad file
            result.errors.extend(item)
        return None
    result.valid += 1
    return item


def _import_batches(rows, result: ImportResult, batch_size: int = 2000) -> None:
    batch: list[TradeRecord] = []
    for _line, item in rows:
        record = _collect(result, item)
        if record is not None:
            batch.append(record)
        if len(batch) >= batch_size:
            _store(batch, result)
            batch = []
    if batch:
        _store(batch, result)


def _store(batch: list[TradeRecord], result: ImportResult) -> None:
    stored = store_records(batch)
    result.created += stored.created
    result.closed += stored.closed
    result.duplicates += stored.duplicates


def _import_copy(rows, result: ImportResult, idea_lines: dict[int, list[int]]) -> None:
    """COPY the valid rows into the stage (journal.write.storage), refuse those naming an
    unknown idea (looked up once the COPY is done), then move the rest at once."""
    with connection.cursor() as cursor:
        valid_lines: set[int] = set()
        storage.stage(cursor, _valid_records(rows, result, valid_lines))
        missing = unknown_idea_ids(idea_lines)
        if missing:
            _refuse_unknown_ideas(cursor, result, missing, idea_lines, valid_lines)
        if result.errors and not result.valid:
            return
        # The DISTINCT ON sort of a large file spills to disk at the default work_mem.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        result.created, result.closed = storage.move_stage(cursor)
    result.duplicates = result.valid - result.created - result.closed


def _valid_records(rows, result: ImportResult, lines: set[int] | None = None):
    for line, item in rows:
        record = _collect(result, item)
        if record is not None:
            if lines is not None and record.idea_id is not None:
                lines.add(line)
            yield record


def _refuse_unknown_ideas(cursor, result, missing, idea_lines, valid_lines) -> None:
    """Name ``idea_id`` on every line naming one of the ``missing`` ideas, and take the
    valid ones among them out of the stage (--skip-invalid imports the others)."""
    refused = sorted((line, idea) for idea in missing for line in idea_lines[idea])
    for line, idea in refused:
        result.errors.append(RowError(line, "idea_id", UNKNOWN_IDEA.format(id=idea)))
    result.errors.sort(key=lambda error: error.line)
    result.valid -= len({line for line, _idea in refused if line in valid_lines})
    cursor.execute(
        f"DELETE FROM {storage.STAGE} WHERE idea_id = ANY(%s)",  # noqa: S608 - fixed name
        [sorted(missing)],
    )


def file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
