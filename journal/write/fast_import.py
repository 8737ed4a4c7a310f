"""The CSV import's fast path on PostgreSQL: COPY the cells as text, check them in SQL.

``parse_record`` costs tens of microseconds a row in Python; PostgreSQL checks the same
rules over a whole staged file in a fraction of that. The rules here are a strict subset
of ``parse_record``'s: a row they accept, ``parse_record`` accepts with the same values
(tests/journal/test_fast_import.py runs both on the same rows). They accept only the
plain spellings of the record format: printable ASCII text without surrounding blanks,
upper-case symbols, times as ``YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM)``, unsigned
decimals (a sign only on pnl) with at most 12 digits before and 8 after the point, JSON
objects without exponents.

A file with any row outside them -- an error, or an unusual but valid spelling such as
``LONG`` or ``+1.5``, a row of the wrong width, bytes that are not UTF-8 -- is handed
back, with nothing of the attempt left behind, to the exact path
(``journal.write.imports._import_copy``), which accepts what is valid and names line, field and
reason for the rest. So this path never decides that a row is wrong; it only recognises
files that are plainly right, which is what bulk files from our own exports and from
brokers' systems are.

One difference is visible in the database and not through the application: numbers
inside ``agent_votes`` and ``signals`` are stored as written (``1.10``), where the exact
path stores Python's float (``1.1``); both read back as the same float.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import secrets
from pathlib import Path

import psycopg
from django.apps import apps
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from journal import instruments
from journal.domain.trade_record import (
    DERIVED_COLUMNS,
    FIELDS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_NUMBER_DIGITS,
    SPEC,
    header_problem,
)
from journal.write import storage
from journal.write.capture import latest_trade_time
from journal.write.storage import COLUMNS

logger = logging.getLogger(__name__)

STAGE = "__stage__"  # replaced by the staging table's name, one per import
BATCH_ROWS = 10_000

# PostgreSQL's regular expressions are slow with bounded repeats ({0,62}): the rules use
# unbounded ones with length checks, and digit "shapes" (translate) for times. Applied
# with COLLATE "C" so that ranges are byte ranges whatever the database's collation.
_TEXT = r"^[!-~]([ -~]*[!-~])?$"  # printable ASCII, no blank at either end
_SYMBOL = r"^[A-Z0-9][A-Z0-9._/:=^-]*$"
_ID = r"^[1-9][0-9]{0,18}$"
_ESCAPED = r"^''[=+@''-]"  # journal.domain.trade_record.spreadsheet_text's apostrophe
_UNSIGNED = r"^[0-9]+(\.[0-9]+)?$"
_SIGNED = r"^-?[0-9]+(\.[0-9]+)?$"
_CONFIDENCE = r"^(0(\.[0-9]+)?|1(\.0+)?)$"
_MODEL_VERSION = r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$"
# A number with an exponent, where a number may start (may also match inside a string).
_EXPONENT = r"[:,[][[:space:]]*-?[0-9]+(\.[0-9]+)?[eE]"
# YYYY-MM-DDTHH:MM:SS[.f to .ffffff](Z|+HH:MM|-HH:MM) with every digit made 0.
_TIME_SHAPES = tuple(
    f"0000-00-00T00:00:00{fraction}{zone}"
    for fraction in ("", *("." + "0" * n for n in range(1, 7)))
    for zone in ("Z", "+00:00", "-00:00")
)


class Declined(Exception):
    """The file is not plainly right; the exact path must import it."""


def _matches(column: str, pattern: str) -> str:
    return f"({column} COLLATE \"C\" ~ '{pattern}')"


def _optional(column: str, condition: str) -> str:
    return f"({column} IS NULL OR {condition})"


def _text(column: str, max_length: int = 64) -> str:
    # A cell escaped for spreadsheets ('=..., ''...) is unescaped by the exact path.
    return (
        f"({_matches(column, _TEXT)} AND char_length({column}) <= {max_length} "
        f"AND NOT {_matches(column, _ESCAPED)})"
    )


def _time(column: str) -> str:
    """The plain ISO 8601 shape, from 1990, hour below 24 and second below 60 (which
    PostgreSQL would take and Python refuses); other bad fields fail the cast."""
    shapes = ", ".join(f"'{shape}'" for shape in _TIME_SHAPES)
    return (
        f"(translate({column}, '123456789', '000000000') IN ({shapes}) "
        f"AND {column} >= '1990' AND substr({column}, 12, 2) < '24' "
        f"AND substr({column}, 18, 2) < '60')"
    )


def _decimal(column: str, pattern: str = _UNSIGNED) -> str:
    """At most 12 digits before the point (leading zeros aside) and 8 after it."""
    return (
        f"({_matches(column, pattern)} AND abs({column}::numeric) < 1e12 "
        f"AND scale({column}::numeric) <= 8)"
    )


# journal.domain.trade_record._storable_json's limits in jsonpath: a container nested deeper than
# MAX_JSON_DEPTH (level 0 is the object itself), a number of more digits before the point.
_TOO_DEEP = (
    f'strict $.**{{{MAX_JSON_DEPTH} to last}} ? (@.type() == "object" || @.type() == "array")'
)
_TOO_BIG = (
    f'strict $.** ? (@.type() == "number" && '
    f"(@ >= 1e{MAX_JSON_NUMBER_DIGITS} || @ <= -1e{MAX_JSON_NUMBER_DIGITS}))"
)


def _json(column: str) -> str:
    return _optional(
        column,
        f"(octet_length({column}) <= {MAX_JSON_BYTES} AND {column} !~ '{_EXPONENT}' "
        f"AND jsonb_typeof({column}::jsonb) = 'object' "
        f"AND NOT jsonb_path_exists({column}::jsonb, '{_TOO_DEEP}') "
        f"AND NOT jsonb_path_exists({column}::jsonb, '{_TOO_BIG}'))",
    )


# The latest time a trade may carry: the application's clock plus the clock-skew
# allowance (journal.write.capture.latest_trade_time, as the exact path's), passed in;
# the database's clock may differ.
_FUTURE = "%(latest)s::timestamptz"

# Every rule of parse_record, in its strict form: one per field of the format (checked
# below: a field added to journal.domain.trade_record.SPEC needs its rule here), then the
# rules between fields. A row passes when all are TRUE; NULL (an absent required value)
# counts as failing.
FIELD_RULES = {
    "trade_id": _text("trade_id"),
    "executed_at": f"({_time('executed_at')} AND executed_at::timestamptz <= {_FUTURE})",
    "closed_at": _optional(
        "closed_at",
        f"({_time('closed_at')} AND closed_at::timestamptz >= executed_at::timestamptz "
        f"AND closed_at::timestamptz <= {_FUTURE})",
    ),
    "symbol": f"({_matches('symbol', _SYMBOL)} AND char_length(symbol) <= 32)",
    "side": "side IN ('long', 'short')",
    "quantity": f"({_decimal('quantity')} AND quantity::numeric > 0)",
    "entry_price": f"({_decimal('entry_price')} AND entry_price::numeric > 0)",
    "exit_price": _optional(
        "exit_price", f"({_decimal('exit_price')} AND exit_price::numeric > 0)"
    ),
    "fees": _optional("fees", _decimal("fees")),
    "pnl": _optional("pnl", _decimal("pnl", _SIGNED)),
    "strategy": _optional("strategy", _text("strategy")),
    "account": _optional("account", _text("account")),
    "broker_order_id": _optional("broker_order_id", _text("broker_order_id")),
    "agent_votes": _json("agent_votes"),
    "signals": _json("signals"),
    "model_version": _optional(
        "model_version",
        f"({_matches('model_version', _MODEL_VERSION)} "
        "AND position('@' in model_version) <= 101 "
        "AND char_length(model_version) - position('@' in model_version) <= 30)",
    ),
    "confidence": _optional(
        "confidence",
        f"({_matches('confidence', _CONFIDENCE)} AND scale(confidence::numeric) <= 8)",
    ),
    "stop_loss": _optional(
        "stop_loss",
        f"({_decimal('stop_loss')} AND stop_loss::numeric > 0 AND CASE side "
        "WHEN 'long' THEN stop_loss::numeric < entry_price::numeric "
        "ELSE stop_loss::numeric > entry_price::numeric END)",
    ),
    "idea_id": _optional(
        "idea_id", f"({_matches('idea_id', _ID)} AND idea_id::numeric <= {2**63 - 1})"
    ),
}
if set(FIELD_RULES) != set(FIELDS):
    raise ImportError(f"fast path rules missing for {sorted(set(FIELDS) - set(FIELD_RULES))}")
RULES = (
    *FIELD_RULES.values(),
    # A closed trade has its exit price and P&L; an open one has neither.
    "((closed_at IS NULL AND exit_price IS NULL AND pnl IS NULL) OR "
    "(closed_at IS NOT NULL AND exit_price IS NOT NULL AND pnl IS NOT NULL))",
)
ROW_RULES = " AND ".join(RULES)
# Rows failing the rules, and the file's time range (to see whether it meets the table).
VALIDATE = f"""
    SELECT count(*) FILTER (WHERE ({ROW_RULES}) IS NOT TRUE),
           min(executed_at::timestamptz), max(executed_at::timestamptz)
    FROM {STAGE}
"""  # noqa: S608
# Where instruments are required, a row on a symbol that is none declines the file (the
# exact path names it).
VALIDATE_INSTRUMENTS = VALIDATE.replace(
    f"WHERE ({ROW_RULES}) IS NOT TRUE",
    f"WHERE ({ROW_RULES}) IS NOT TRUE OR symbol NOT IN "  # noqa: S608 - fixed names
    "(SELECT symbol FROM journal_instrument WHERE is_active)",
)
# A row naming an idea that does not exist declines the file (the exact path names it);
# run after VALIDATE, so every idea_id is a valid bigint here.
HAS_UNKNOWN_IDEAS = f"""
    SELECT EXISTS (SELECT 1 FROM {STAGE} AS s WHERE s.idea_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM __ideas__ AS d WHERE d.id = s.idea_id::bigint))
"""  # noqa: S608 - fixed names
TABLE_HAS_RANGE = """
    SELECT EXISTS (SELECT 1 FROM journal_trade WHERE executed_at BETWEEN %s AND %s)
"""

_CASTS = {
    "id": "bigint",
    "time": "timestamptz",
    "decimal": "numeric",
    "confidence": "numeric",
    "json": "jsonb",
}


def _typed(spec) -> str:
    """A staged text column as journal_trade's type, its default where it is absent."""
    column = spec.name
    if spec.default is not None and not spec.required:
        default = "{}" if isinstance(spec.default, dict) else str(spec.default)
        column = f"coalesce({column}, '{default}')"
    cast = _CASTS.get(spec.kind)
    return f"{column}::{cast}" if cast else column


# The staged text as journal_trade's types, in COLUMNS order; recorded_at is %s.
_TYPED = {
    **{spec.name: _typed(spec) for spec in SPEC},
    "status": "CASE WHEN closed_at IS NULL THEN 'open' ELSE 'closed' END",
    "recorded_at": "%s::timestamptz",
}
_TYPED_SELECT = ", ".join(f"{_TYPED[name]} AS {name}" for name in COLUMNS)
_TYPED_STAGE = f"(SELECT {_TYPED_SELECT} FROM {STAGE}) AS typed"  # noqa: S608
# Keys met twice in one file: the open version first, so that the closing one completes
# it (as the exact path does). Without such keys (the usual file) no sort is needed.
# Each records the checks of the trades it stores (journal.write.checks) and selects how
# many it stored.
MOVE = storage.checked_insert_sql(_TYPED_STAGE, distinct=True)
MOVE_UNIQUE = storage.checked_insert_sql(_TYPED_STAGE)
# A file of new keys in a time range the table has no trade in (a first import, a day's
# file before any capture of that day): a plain INSERT, about a fifth cheaper than the
# conflict checks. A writer who adds one of its keys meanwhile makes it fail with a
# unique violation, which hands the file to the exact path.
MOVE_NEW = storage.checked_insert_sql(_TYPED_STAGE, on_conflict=False)
HAS_REPEATED_KEYS = f"""
    SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY trade_id, executed_at::timestamptz
                   HAVING count(*) > 1)
"""  # noqa: S608
_CLOSING_SELECT = ", ".join(
    f"{_TYPED[name]} AS {name}" for name in ("trade_id", "executed_at", *storage.CLOSING)
)
CLOSE = storage.close_sql(f"(SELECT {_CLOSING_SELECT} FROM {STAGE}) AS typed")  # noqa: S608


def import_csv(path: Path, result, progress=None) -> bool:
    """Import a plainly right CSV file; False (nothing done) hands it to the exact path.

    Runs inside the caller's transaction, in a savepoint of its own. ``result`` is an
    ``ImportResult``; it is filled only when the file was imported here.
    """
    consumed = [0]

    def advance(size: int) -> None:
        consumed[0] += size
        if progress is not None:
            progress(size)

    try:
        with transaction.atomic():
            rows, created, closed = _run(path, advance)
    except (
        Declined,
        DataError,
        IntegrityError,
        # COPY's own errors come from psycopg unwrapped (a NUL byte in a cell).
        psycopg.errors.DataError,
        psycopg.errors.IntegrityError,
        UnicodeDecodeError,
        csv.Error,
    ) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        logger.info(
            "import of %s: the fast path declined the file (%s); validating it row by row",
            path.name,
            reason[:300],
        )
        if progress is not None and consumed[0]:
            progress(-consumed[0])
        return False
    result.rows = result.valid = rows
    result.created = created
    result.closed = closed
    result.duplicates = rows - created - closed
    result.method = "fast_copy"
    return True


def _run(path: Path, advance) -> tuple[int, int, int]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise Declined("no header")
        header = [name.strip() for name in header]
        if header_problem(header):
            raise Declined("the header")  # the exact path refuses it, saying why
        # The exports' figures and review columns are staged with the rest and never
        # read: an export re-imports by this path too.
        extra = [name for name in header if name in DERIVED_COLUMNS]
        # An unlogged table, not a temporary one: PostgreSQL scans it with parallel
        # workers (about twice as fast here). Made and dropped inside the transaction,
        # so a crash leaves nothing behind.
        stage = f"journal_import_{os.getpid()}_{secrets.token_hex(4)}"
        with connection.cursor() as cursor:
            columns = ", ".join(f"{name} text" for name in (*FIELDS, *extra))
            cursor.execute(f"CREATE UNLOGGED TABLE {stage} ({columns})")
            rows = _copy(cursor, stage, reader, header, handle, advance)
            if cursor.rowcount != rows:  # never seen: a guard against a silently short COPY
                raise Declined(f"COPY stored {cursor.rowcount} of {rows} row(s)")
            if rows == 0:
                raise Declined("no rows")
            validate = VALIDATE_INSTRUMENTS if instruments.required() else VALIDATE
            cursor.execute(validate.replace(STAGE, stage), {"latest": latest_trade_time()})
            failing, first, last = cursor.fetchone()
            if failing:
                raise Declined(f"{failing} row(s) outside the plain spelling")
            if _names_unknown_ideas(cursor, stage):
                raise Declined("an idea_id names no trade idea")
            # Grouping and sorting a large file spill to disk at the default work_mem.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(HAS_REPEATED_KEYS.replace(STAGE, stage))
            if cursor.fetchone()[0]:
                move = MOVE
            else:
                cursor.execute(TABLE_HAS_RANGE, [first, last])
                move = MOVE_UNIQUE if cursor.fetchone()[0] else MOVE_NEW
            cursor.execute(move.replace(STAGE, stage), [timezone.now()])
            created = cursor.fetchone()[0]
            closed = 0
            if created < rows:  # some keys were known, or met twice: complete open trades
                cursor.execute(CLOSE.replace(STAGE, stage))
                closed = cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {stage}")
    return rows, created, closed


def _names_unknown_ideas(cursor, stage: str) -> bool:
    if not apps.is_installed("desk"):
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {stage} WHERE idea_id IS NOT NULL)")  # noqa: S608
        return cursor.fetchone()[0]
    ideas = apps.get_model("desk", "TradeIdea")._meta.db_table
    cursor.execute(HAS_UNKNOWN_IDEAS.replace(STAGE, stage).replace("__ideas__", ideas))
    return cursor.fetchone()[0]


def _copy(cursor, stage: str, reader, header: list[str], handle, advance) -> int:
    """Stream the rows as Python's csv module reads them, in COPY's text format.

    PostgreSQL parses exactly the cells Python saw (the two disagree on stray quotes
    inside a CSV field). A batch is joined by C loops and escaped as a whole; only a
    batch with a tab, newline or carriage return inside a cell is escaped cell by cell.
    """
    width = len(header)
    rows = 0
    position = 0
    command = f"COPY {stage} ({', '.join(header)}) FROM STDIN (FORMAT text, NULL '')"
    with cursor.copy(command) as copy:
        while batch := list(itertools.islice(reader, BATCH_ROWS)):
            if set(map(len, batch)) != {width}:
                raise Declined(f"a row before line {reader.line_num} is not {width} fields wide")
            copy.write(_text_batch(batch, width))
            rows += len(batch)
            now = handle.buffer.tell()
            advance(now - position)
            position = now
    return rows


def _text_batch(batch: list[list[str]], width: int) -> str:
    text = "\n".join(map("\t".join, batch))
    plain = (
        text.count("\t") == len(batch) * (width - 1)
        and text.count("\n") == len(batch) - 1
        and "\r" not in text
    )
    if not plain:
        return "\n".join("\t".join(map(_escape, row)) for row in batch) + "\n"
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return text + "\n"


def _escape(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
