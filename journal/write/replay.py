"""Replay: spooled trades into the database; what cannot be stored, into the quarantine.

The periodic job (journal.tasks.drain_spool) and ``manage.py replay_spool`` call
spool_replay; an operator decides each quarantined line in the admin
(journal.write.quarantine).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, connection

from backoffice.core.db.outages import is_database_outage
from journal.domain.trade_record import RecordError, TradeRecord, parse_record
from journal.write.capture import (
    CaptureResult,
    _discard_broken_connection,
    get_spool,
    latest_trade_time,
    reference_problems,
    store_records,
)
from journal.write.spool import Spool, SpooledLine

logger = logging.getLogger(__name__)


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
    from journal.analytics import summary

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
    """Check every line by capture's rules (the format's, with the clock read now; the
    instruments and ideas it names) and store the valid ones in batches."""
    batch: list[tuple[SpooledLine, TradeRecord | RecordError]] = []
    size = 0
    latest = latest_trade_time()
    for line in spool.read(path):
        result.read += 1
        if line.entry is None:
            _quarantine(spool, line, line.error or "unreadable line", result)
            continue
        try:
            parsed: TradeRecord | RecordError = parse_record(line.entry["trade"], latest=latest)
        except RecordError as exc:
            parsed = exc
        batch.append((line, parsed))
        size += len(line.raw)
        if len(batch) >= batch_size or size >= REPLAY_BATCH_BYTES:
            _replay_checked(spool, batch, result, progress)
            batch, size = [], 0
    if batch:
        _replay_checked(spool, batch, result, progress)


def _replay_checked(spool: Spool, batch: list, result: ReplayResult, progress) -> None:
    """Quarantine the lines of ``batch`` that break a rule, naming every bad field of
    each, and store the others."""
    problems = reference_problems(
        {
            index: parsed if isinstance(parsed, TradeRecord) else parsed.values
            for index, (_line, parsed) in enumerate(batch)
        }
    )
    valid = []
    for index, (line, parsed) in enumerate(batch):
        errors = {**problems.get(index, {})}
        if isinstance(parsed, RecordError):
            errors.update(parsed.errors)
        if errors:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in errors.items())
            _quarantine(spool, line, f"invalid trade: {reasons}", result)
        else:
            valid.append((line, parsed))
    if valid:
        _replay_batch(spool, valid, result, progress)


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
