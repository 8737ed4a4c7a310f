"""Capture: validate trades and store them once, or spool them while the database is down.

A trade is stored once: the database's unique key (trade_id, executed_at) decides, with
INSERT ... ON CONFLICT DO NOTHING (journal.write.storage), so a retry, a replay or a
re-import never doubles a trade. A trade first recorded while open may be completed
once, when it is sent again with its closing fields; nothing else about a stored trade
ever changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from backoffice.db.errors import is_database_outage
from backoffice.errors import DomainError, Unavailable
from journal import instruments
from journal.write import storage
from journal.write.records import RecordError, TradeRecord, parse_record
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


def validate_records(items: Sequence[object]) -> list[TradeRecord]:
    """Parse every item; raise TradesRejected naming each bad one (by index) and field."""
    records: list[TradeRecord] = []
    errors: dict[int, dict[str, str]] = {}
    for index, item in enumerate(items):
        try:
            records.append(item if isinstance(item, TradeRecord) else parse_record(item))
        except RecordError as exc:
            errors[index] = exc.errors
    if errors:
        raise TradesRejected(errors, total=len(items))
    return records


def refuse_unknown_instruments(records: Sequence[TradeRecord]) -> None:
    """TradesRejected naming ``symbol`` of each trade on a symbol that is not one of the
    desk's instruments, where they are required (settings.INSTRUMENTS_REQUIRED)."""
    if not instruments.required():
        return
    unknown = instruments.unknown_symbols({record.symbol for record in records})
    if unknown:
        raise TradesRejected(
            {
                index: {"symbol": f"{record.symbol} {instruments.UNKNOWN}"}
                for index, record in enumerate(records)
                if record.symbol in unknown
            },
            total=len(records),
        )


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

    Raises TradesRejected (nothing stored) for invalid input, SpoolUnavailable when the
    database is down and the spool cannot be written either.
    """
    records = validate_records(items)
    if not records:
        return CaptureResult()
    refuse_unknown_instruments(records)
    try:
        result = store_records(records)
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        _discard_broken_connection()
        return _spool(records, exc, source=source)
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
