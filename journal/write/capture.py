"""Capture: validate trades and store them once, or spool them while the database is down.

A trade is stored once: the database's unique key (trade_id, executed_at) decides, with
INSERT ... ON CONFLICT DO NOTHING (journal.write.storage), so a retry, a replay or a
re-import never doubles a trade. A trade first recorded while open may be completed
once, when it is sent again with its closing fields; nothing else about a stored trade
ever changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from backoffice.core.db.outages import is_database_outage
from backoffice.core.errors import DomainError, Unavailable
from journal import instruments
from journal.domain.trade_record import RecordError, TradeRecord, parse_record
from journal.write import checks, storage
from journal.write.spool import Spool, SpoolError

logger = logging.getLogger(__name__)

MAX_BATCH = 1000


class TradesRejected(DomainError):
    """Some records of a batch are invalid; nothing of the batch was stored.

    ``by_index`` maps the index of each bad record to {field: reason}; ``errors`` lists
    them all for the API, each with its ``index``.
    """

    def __init__(self, by_index: dict[int, dict[str, str]], total: int):
        self.by_index = by_index
        self.total = total
        super().__init__(
            f"{len(by_index)} of {total} trade(s) invalid; nothing was stored",
            errors=[
                {"index": index, "field": name, "message": reason}
                for index, fields in by_index.items()
                for name, reason in fields.items()
            ],
        )


class SpoolUnavailable(Unavailable):
    """The database is down and the spool cannot be written: the trades were not taken."""

    code = "spool_unavailable"
    retry_after = 30


@dataclass
class CaptureResult:
    created: int = 0
    duplicates: int = 0
    closed: int = 0
    spooled: int = 0
    # What capture's checks flagged in the trades sent (journal.write.checks): stored
    # and flagged, never refused. [{"index", "field", "message"}]
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: CaptureResult) -> None:
        self.created += other.created
        self.duplicates += other.duplicates
        self.closed += other.closed
        self.spooled += other.spooled


@lru_cache(maxsize=4)
def _spool_for(directory: str) -> Spool:
    return Spool(directory)


def get_spool() -> Spool:
    """The spool under settings.SPOOL_DIR (one instance per directory and process)."""
    return _spool_for(str(settings.SPOOL_DIR))


def latest_trade_time() -> datetime:
    """The latest time a captured trade may carry: now (django.utils.timezone.now) plus
    the clock-skew allowance settings.CLOCK_SKEW_SECONDS. Every capture path (the
    API, the spool's replay, both import paths) refuses a later executed_at or closed_at."""
    return timezone.now() + timedelta(seconds=settings.CLOCK_SKEW_SECONDS)


def parse_records(
    items: Sequence[object], *, latest: datetime | None = None
) -> tuple[dict[int, TradeRecord], dict[int, dict[str, str]], dict[int, dict[str, Any]]]:
    """({index: record} of the valid items, {index: {field: reason}} of the others, and
    {index: {field: value}} of the others' valid fields)."""
    latest = latest or latest_trade_time()
    records: dict[int, TradeRecord] = {}
    errors: dict[int, dict[str, str]] = {}
    partial: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            records[index] = (
                item if isinstance(item, TradeRecord) else parse_record(item, latest=latest)
            )
        except RecordError as exc:
            errors[index] = exc.errors
            partial[index] = exc.values
    return records, errors, partial


def validate_records(items: Sequence[object]) -> list[TradeRecord]:
    """Parse every item; raise TradesRejected naming each bad one (by index) and field."""
    records, errors, _partial = parse_records(items)
    if errors:
        raise TradesRejected(errors, total=len(items))
    return list(records.values())


UNKNOWN_IDEA = "names no trade idea of the desk (idea #{id} does not exist)"


def unknown_idea_ids(ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that name no desk.TradeIdea (all of them without the desk app).
    Reads the database: an outage raises."""
    ids = set(ids)
    if not ids:
        return set()
    if not apps.is_installed("desk"):
        return ids
    idea_model = apps.get_model("desk", "TradeIdea")
    known: set[int] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 5000):
        chunk = ordered[start : start + 5000]
        known.update(idea_model.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return ids - known


def reference_problems(values: dict[Any, Any]) -> dict[Any, dict[str, str]]:
    """{key: {field: reason}} of the trades that name what the desk does not know: a
    symbol that is no instrument (where instruments are required) and an ``idea_id`` of
    no trade idea. ``values``: {key: a TradeRecord, or a dict of a record's valid fields}.
    Reads the database for the ideas: an outage raises."""

    def get(item, name):
        return item.get(name) if isinstance(item, dict) else getattr(item, name)

    problems: dict[Any, dict[str, str]] = {}
    symbols = {key: get(item, "symbol") for key, item in values.items()}
    if instruments.required():
        unknown = instruments.unknown_symbols({s for s in symbols.values() if s is not None})
        for key, symbol in symbols.items():
            if symbol is not None and symbol in unknown:
                problems.setdefault(key, {})["symbol"] = f"{symbol} {instruments.UNKNOWN}"
    ideas = {key: get(item, "idea_id") for key, item in values.items()}
    missing = unknown_idea_ids(idea for idea in ideas.values() if idea is not None)
    for key, idea in ideas.items():
        if idea is not None and idea in missing:
            problems.setdefault(key, {})["idea_id"] = UNKNOWN_IDEA.format(id=idea)
    return problems


def _merged(*parts: dict[int, dict[str, str]]) -> dict[int, dict[str, str]]:
    merged: dict[int, dict[str, str]] = {}
    for part in parts:
        for index, fields in part.items():
            merged.setdefault(index, {}).update(fields)
    return dict(sorted(merged.items()))


def store_records(records: Sequence[TradeRecord]) -> CaptureResult:
    """Insert records idempotently, in one transaction; raises on any database error."""
    result = CaptureResult()
    with transaction.atomic():
        for start in range(0, len(records), MAX_BATCH):
            chunk = records[start : start + MAX_BATCH]
            created, closed = storage.insert_trades(chunk)
            result.created += created
            result.closed += closed
            result.duplicates += len(chunk) - created - closed
    return result


def record_trades(items: Sequence[object], *, source: str = "api") -> CaptureResult:
    """Validate and store trades; spool them when the database cannot be reached.

    Raises TradesRejected (nothing stored) naming every bad field of every trade at once
    (the format's rules, then an unknown instrument or idea), SpoolUnavailable when the
    database is down and the spool cannot be written either. The result's ``warnings``
    list what capture's checks flagged (journal.write.checks): stored, never refused.
    """
    if not items:
        return CaptureResult()
    parsed, errors, partial = parse_records(items)
    outage: DatabaseError | None = None
    try:
        problems = reference_problems({**parsed, **partial})
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        # The ideas cannot be looked up: the spool's replay checks them (and quarantines
        # a trade naming none), as it checks every rule again.
        outage, problems = exc, {}
    if errors or problems:
        # A field's own error (a symbol badly spelled) stands before what it names.
        raise TradesRejected(_merged(problems, errors), total=len(items))
    records = list(parsed.values())
    warnings = checks.warnings(records, instruments.instrument_for)
    try:
        if outage is not None:
            raise outage
        result = store_records(records)
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        _discard_broken_connection()
        result = _spool(records, exc, source=source)
        result.warnings = warnings
        return result
    result.warnings = warnings
    if result.created or result.closed:
        logger.info(
            "trades recorded",
            extra={
                "source": source,
                "trades_created": result.created,
                "trades_duplicate": result.duplicates,
                "trades_closed": result.closed,
            },
        )
    return result


def _discard_broken_connection() -> None:
    try:
        connection.close()
    except DatabaseError:
        pass


def _spool(records: Sequence[TradeRecord], exc: BaseException, *, source: str) -> CaptureResult:
    try:
        written = get_spool().append([record.as_json() for record in records])
    except SpoolError as spool_exc:
        logger.error(
            "trades refused: database unreachable and spool not writable",
            extra={"source": source, "trades": len(records), "spool_error": str(spool_exc)},
        )
        raise SpoolUnavailable(
            "the database is unreachable and the trade spool cannot be written "
            f"({spool_exc.strerror}); nothing was taken, send again later"
        ) from spool_exc
    logger.warning(
        "database unreachable: trades spooled",
        extra={"source": source, "spooled": written, "error": str(exc).splitlines()[0][:200]},
    )
    return CaptureResult(spooled=written)
