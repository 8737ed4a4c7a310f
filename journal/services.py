"""Writes of the trade journal: capture, the spool fallback, replay, reviews.

A trade is stored once: the database's unique key (trade_id, executed_at) decides,
with INSERT ... ON CONFLICT DO NOTHING, so a retry, a replay or a re-import never
doubles a trade. A trade first recorded while open may be completed once, when it is
sent again with its closing fields; nothing else about a stored trade ever changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from backoffice.db.errors import is_database_outage
from backoffice.errors import DomainError, Unavailable
from journal import storage
from journal.records import RecordError, TradeRecord, parse_record
from journal.spool import Spool, SpooledLine, SpoolError

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


# -- replay ------------------------------------------------------------------------


class ReplayBusy(Exception):
    """Another replay holds the spool's replay lock."""


@dataclass
class ReplayResult:
    files: int = 0
    read: int = 0
    quarantined: int = 0
    stored: CaptureResult = field(default_factory=CaptureResult)


def spool_replay(*, batch_size: int = 5000, progress=None) -> ReplayResult:
    """Move spooled trades into the database, idempotently; delete only what committed.

    A line that cannot be read, or that the database refuses, is quarantined with its
    exact bytes and the reason (spool directory and QuarantinedLine) and blocks nothing:
    every other line is stored. Safe while new trades are being spooled (active files
    are sealed under their lock first) and after a crash halfway (a sealed file is
    replayed again from its first line; the unique key makes the second pass store
    nothing twice). A database outage stops the replay; what was committed stays.
    """
    spool = get_spool()
    result = ReplayResult()
    with _replay_lock(spool.directory):
        for path in spool.seal():
            result.files += 1
            _replay_file(spool, path, batch_size, result, progress)
            spool.remove(path)
    return result


@dataclass
class DrainOutcome:
    replay: ReplayResult

    def summary(self) -> dict:
        stored = self.replay.stored
        return {
            "trades_read": self.replay.read,
            "trades_created": stored.created,
            "trades_closed": stored.closed,
            "trades_duplicate": stored.duplicates,
            "lines_quarantined": self.replay.quarantined,
        }


def spool_drain() -> DrainOutcome | None:
    """The periodic job's replay: None (nothing done) when the spool is empty, another
    replay runs, or the database does not answer yet; else the replay's outcome, with
    the daily summary compacted after it. Logs what it did; never raises for an outage.
    """
    from journal import summary

    spool = get_spool()
    if not spool.has_backlog():
        return None
    try:
        # A connection an outage broke is replaced (as at a request's or a task's start);
        # asked before sealing: there is nothing to do while the database is down.
        connection.close_if_unusable_or_obsolete()
        connection.ensure_connection()
        result = spool_replay()
    except ReplayBusy:
        return None
    except DatabaseError as exc:
        if not is_database_outage(exc):
            raise
        _discard_broken_connection()
        logger.info(
            "spool drain: the database does not answer yet", extra={"error": _first_line(exc)}
        )
        return None
    outcome = DrainOutcome(result)
    logger.info("spool drained", extra=outcome.summary())
    if result.stored.created or result.stored.closed:
        # A replay stores in batches, each adding its own summary rows: fold them.
        summary.compact()
    return outcome


# A replay batch also ends at this many bytes of spooled lines: 5,000 trades of the
# largest size would otherwise hold 170 MB.
REPLAY_BATCH_BYTES = 16 * 1024 * 1024


def _replay_file(spool: Spool, path: Path, batch_size: int, result: ReplayResult, progress):
    batch: list[tuple[SpooledLine, TradeRecord]] = []
    size = 0
    for line in spool.read(path):
        result.read += 1
        if line.entry is None:
            _quarantine(spool, line, line.error or "unreadable line", result)
            continue
        try:
            batch.append((line, parse_record(line.entry["trade"])))
        except RecordError as exc:
            _quarantine(spool, line, f"invalid trade: {exc}", result)
            continue
        size += len(line.raw)
        if len(batch) >= batch_size or size >= REPLAY_BATCH_BYTES:
            _replay_batch(spool, batch, result, progress)
            batch, size = [], 0
    if batch:
        _replay_batch(spool, batch, result, progress)


def _replay_batch(spool: Spool, batch: list, result: ReplayResult, progress) -> None:
    try:
        stored = store_records([record for _line, record in batch])
    except DatabaseError as exc:
        if is_database_outage(exc):
            raise
        # Every rule a database would apply is checked before a trade is spooled, so
        # this is rare: find the lines it refuses, one savepoint each.
        logger.warning(
            "replay: the database refused a batch; storing it line by line",
            extra={"error": _first_line(exc)},
        )
        stored = CaptureResult()
        for line, record in batch:
            try:
                stored.add(store_records([record]))
            except DatabaseError as line_exc:
                if is_database_outage(line_exc):
                    raise
                _quarantine(
                    spool, line, f"refused by the database: {_first_line(line_exc)}", result
                )
    result.stored.add(stored)
    if progress is not None:
        progress(len(batch))


def _quarantine(spool: Spool, line: SpooledLine, reason: str, result: ReplayResult) -> None:
    from journal.models import QuarantinedLine

    spool.quarantine(line, reason)
    QuarantinedLine.objects.get_or_create(
        source=line.path.name,
        line_number=line.line_number,
        defaults={
            "raw": line.raw,
            "sha256": hashlib.sha256(line.raw).hexdigest(),
            "reason": reason,
        },
    )
    result.quarantined += 1
    logger.error(
        "replay: spooled line quarantined",
        extra={"source": line.path.name, "line": line.line_number, "reason": reason[:300]},
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class _replay_lock:  # noqa: N801 - used as a context manager
    def __init__(self, directory: Path):
        self.path = directory / "replay.lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise ReplayBusy("another replay_spool is running on this spool") from None
        return self

    def __exit__(self, *exc_info):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


# -- reviews -----------------------------------------------------------------------


class ReviewRejected(Exception):
    """A review change is invalid; ``field`` names the bad field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


REVIEW_FIELDS = ("status", "grade", "tags", "notes", "mistakes")
GRADES = ("", "A", "B", "C", "D", "F")


def _clean_review_value(name: str, value):
    from journal.models import ReviewStatus

    if name == "status":
        if value not in ReviewStatus.values:
            raise ReviewRejected(name, f"must be one of {', '.join(ReviewStatus.values)}")
        return value
    if name == "grade":
        value = (value or "").strip().upper()
        if value not in GRADES:
            raise ReviewRejected(name, "must be A, B, C, D, F or empty")
        return value
    if name == "tags":
        if isinstance(value, str):
            value = [tag for tag in (t.strip() for t in value.split(",")) if tag]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ReviewRejected(name, "must be a list of words")
        if any(len(tag) > 40 for tag in value) or len(value) > 20:
            raise ReviewRejected(name, "at most 20 tags of at most 40 characters")
        return sorted(set(value))
    value = (value or "").strip()
    if len(value) > 10_000:
        raise ReviewRejected(name, "must be at most 10,000 characters")
    return value


def _as_text(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


@transaction.atomic
def trade_review(*, trade, reviewer, reason: str = "", **changes):
    """Change a trade's review; every changed field is recorded (who, when, old → new).

    Flagging needs a reason. Returns the review; raises ReviewRejected naming the field.
    """
    from django.utils import timezone

    from journal.models import ReviewChange, ReviewStatus, TradeReview

    unknown = set(changes) - set(REVIEW_FIELDS)
    if unknown:
        raise ReviewRejected(sorted(unknown)[0], "is not a review field")
    cleaned = {name: _clean_review_value(name, value) for name, value in changes.items()}
    reason = (reason or "").strip()[:500]
    if cleaned.get("status") == ReviewStatus.FLAGGED and not reason:
        raise ReviewRejected("reason", "flagging a trade needs a reason")
    # The row lock serialises two reviewers saving the same trade at once.
    review, _ = TradeReview.objects.select_for_update().get_or_create(trade_id=trade.pk)
    changed = []
    for name, value in cleaned.items():
        old = getattr(review, name)
        if old != value:
            changed.append(
                ReviewChange(
                    review=review,
                    changed_by=reviewer,
                    field=name,
                    old_value=_as_text(old),
                    new_value=_as_text(value),
                    reason=reason,
                )
            )
            setattr(review, name, value)
    if not changed:
        return review
    review.reviewed_by = reviewer
    review.reviewed_at = timezone.now()
    review.save()
    ReviewChange.objects.bulk_create(changed)
    return review


# -- quarantine ----------------------------------------------------------------------


class QuarantineError(Exception):
    """A quarantined line cannot be decided as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class QuarantineDecided(QuarantineError):
    """The quarantined line was already re-submitted or discarded (by someone else)."""


def _pending_line(line_id: int):
    from journal.models import QuarantinedLine, QuarantineStatus

    # The row lock serialises two operators deciding the same line at once.
    line = QuarantinedLine.objects.select_for_update().get(pk=line_id)
    if line.status != QuarantineStatus.PENDING:
        who = f" by {line.resolved_by}" if line.resolved_by_id else ""
        raise QuarantineDecided(f"this line was already {line.get_status_display().lower()}{who}")
    return line


@transaction.atomic
def quarantine_resubmit(*, line_id: int, trade: object, user) -> CaptureResult:
    """Store the fixed trade of a quarantined line, and record who did it and the outcome.

    Raises TradesRejected (nothing changes) when the fixed trade is still invalid, and
    QuarantineDecided when someone decided the line first.
    """
    from django.utils import timezone

    from journal.models import QuarantineStatus

    line = _pending_line(line_id)
    result = record_trades([trade], source="quarantine")
    line.status = QuarantineStatus.RESUBMITTED
    line.resolved_by = user
    line.resolved_at = timezone.now()
    line.resolution = (
        f"re-submitted: {result.created} created, {result.closed} closed, "
        f"{result.duplicates} already stored"
    )
    line.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
    transaction.on_commit(lambda: get_spool().archive_quarantined(line.source, line.line_number))
    logger.info(
        "quarantined line re-submitted",
        extra={"source": line.source, "line": line.line_number, "resolution": line.resolution},
    )
    return result


@transaction.atomic
def quarantine_discard(*, line_id: int, reason: str, user) -> None:
    """Give up on a quarantined line, with the reason; its bytes stay on record."""
    from django.utils import timezone

    from journal.models import QuarantineStatus

    reason = (reason or "").strip()
    if not reason:
        raise QuarantineError("discarding a quarantined line needs a reason", "reason")
    line = _pending_line(line_id)
    line.status = QuarantineStatus.DISCARDED
    line.resolved_by = user
    line.resolved_at = timezone.now()
    line.resolution = reason[:2000]
    line.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
    transaction.on_commit(lambda: get_spool().archive_quarantined(line.source, line.line_number))
    logger.warning(
        "quarantined line discarded",
        extra={"source": line.source, "line": line.line_number, "reason": reason[:300]},
    )
