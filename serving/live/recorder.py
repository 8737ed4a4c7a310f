"""Prediction records, written off the request path (serving.models.PredictionRecord).

Every answered prediction gets an id: the request's record id, a UUID version 7 (its
first 48 bits the time in milliseconds), and the row's index, ``<32 hex>-<row>``. The
request thread does three cheap things: it makes that id, draws the sampling decision
(SERVING_RECORD_SAMPLE_RATE) and, when sampled, appends a tuple of references to this
worker's queue. Nothing there serialises, and nothing waits for the database.

A writer thread of the worker (started on the first record) takes what is queued every
SERVING_RECORD_FLUSH_MS and writes it in one statement: COPY on PostgreSQL, a multi-row
INSERT where the server refuses COPY FROM STDIN (the test suite's WebAssembly
TimescaleDB; said once in the log), bulk_create on SQLite. What cannot be written is
dropped and counted, never waited for:

  dropped_full         the queue held SERVING_RECORD_QUEUE_MAX records (a slow database)
  dropped_unavailable  the write failed (the database is down, or slower than the
                       writer's statement timeout); for SERVING_RECORD_RETRY_SECONDS
                       after a failure what arrives is dropped too (one warning an outage)
  refused              the database refused one record (it is dropped alone)

The counts are this worker's in ``stats()`` (in /readyz's details for staff) and all
workers' in the metrics endpoint (serving_prediction_records_total{outcome}).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, connections, transaction

from backoffice.core.ops.prometheus import observe_records

logger = logging.getLogger(__name__)

COLUMNS = (
    "id",
    "requested_at",
    "model_version_id",
    "model",
    "version",
    "alias",
    "protocol",
    "rows",
    "inputs",
    "outputs",
    "cached",
    "latency_ms",
    "request_id",
    "api_key",
    "username",
    "sample_rate",
    "role",
    "shadow_of",
)
TABLE = "serving_predictionrecord"
COPY_SQL = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
INSERT_CHUNK = 200  # rows per INSERT ... VALUES of the fallback (18 parameters a row)
# A write that takes longer than this is abandoned (its batch dropped and counted): a
# database that slow must not pin the writer while the queue fills.
STATEMENT_TIMEOUT_MS = 5000
try:
    from psycopg import Error as _PsycopgError
except ImportError:  # SQLite-only installs
    _PsycopgError = DatabaseError
# What a failed write raises: Django's errors, psycopg's own from COPY (its cursor
# method is not wrapped by Django), and socket errors.
_WRITE_FAILURES = (DatabaseError, _PsycopgError, OSError)
OUTCOMES = ("written", "dropped_full", "dropped_unavailable", "refused", "not_sampled")


class Entry(NamedTuple):
    """One answered request, as the request thread left it (references, not copies)."""

    id: int  # the UUID v7 as an integer
    served: Any  # serving.predict.hotswap.ServedVersion
    alias: str | None
    protocol: str
    rows: Any  # the float64 matrix, or None when the answer came by the body's hash
    body: Any  # then the JSONBody, parsed by the writer
    outputs: list
    cached: bool
    latency_ms: float
    request_id: str
    api_key: str
    username: str
    sample_rate: float
    # With a challenger on the alias (serving.live.challenger_routing): champion, challenger or
    # shadow; a shadow's answer record id.
    role: str = ""
    shadow_of: int | None = None


def new_record_id(at: datetime | None = None) -> int:
    """A UUID version 7 as an integer: 48 bits of Unix milliseconds (now, or ``at``),
    74 random bits."""
    ms = time.time_ns() // 1_000_000 if at is None else int(at.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return (
        (ms << 80)
        | (0x7 << 76)
        | ((rand >> 68) << 64)  # 12 bits
        | (0b10 << 62)
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)  # 62 bits
    )


def record_time(record_id: int | uuid.UUID) -> datetime:
    """When the record was made: the millisecond its id carries."""
    value = record_id.int if isinstance(record_id, uuid.UUID) else record_id
    return datetime.fromtimestamp((value >> 80) / 1000, UTC)


def prediction_ids(record_id: int, rows: int) -> list[str]:
    """The answer's id of each row: ``<record id as 32 hex>-<row index>``."""
    base = f"{record_id:032x}"
    return [f"{base}-{row}" for row in range(rows)]


def prediction_made_at(value: str) -> datetime | None:
    """When the prediction an id names was made (the id carries it), or None if it is
    not a prediction id of this back office."""
    parsed = parse_prediction_id(value)
    return None if parsed is None else record_time(parsed[0])


def parse_prediction_id(value: str) -> tuple[uuid.UUID, int] | None:
    """(record id, row) of a prediction id, or None if it is not one."""
    base, sep, row = (value or "").strip().rpartition("-")
    if not sep or len(base) != 32 or not (row.isascii() and row.isdigit()) or len(row) > 6:
        return None
    try:
        record = uuid.UUID(hex=base)
    except ValueError:
        return None
    if record.version != 7:
        return None
    return record, int(row)


def _text(value: str | None, limit: int) -> str:
    """Text PostgreSQL takes: no NUL, no lone surrogate, at most ``limit`` characters."""
    if not value:
        return ""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value[:limit]


class PredictionRecorder:
    """This worker's queue of records and the thread that writes them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._queue: deque[Entry] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # False: nothing starts a writer thread; whoever holds the recorder calls
        # flush() (the tests: on their own connection, in their own transaction).
        self.background = True
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._published = dict.fromkeys(OUTCOMES, 0)
        self.batches = 0
        self.last_error = ""
        self._down_until = 0.0
        self._copy_refused = False  # the server answered COPY FROM STDIN "not supported"

    # -- the request thread ------------------------------------------------------------
    @staticmethod
    def sampled() -> bool:
        rate = settings.SERVING_RECORD_SAMPLE_RATE
        return rate >= 1 or (rate > 0 and random.random() < rate)  # noqa: S311 - sampling

    def submit(self, entry: Entry) -> None:
        """Queue ``entry``; never blocks on the database (a full queue drops it)."""
        with self._lock:
            if len(self._queue) >= settings.SERVING_RECORD_QUEUE_MAX:
                self.counts["dropped_full"] += 1
                return
            self._queue.append(entry)
        if self.background and (self._thread is None or self._pid != os.getpid()):
            self._start()

    def skip(self) -> None:
        """A prediction that the sampling left out."""
        self.counts["not_sampled"] += 1  # an int under the GIL: exact enough for a count

    # -- the writer ----------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            # A forked worker inherits the parent's object but not its thread.
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="prediction-recorder", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        connection = connections["default"]  # this thread's own
        try:
            while not self._stopping.is_set():
                self._wake.wait(settings.SERVING_RECORD_FLUSH_MS / 1000)
                self._wake.clear()
                try:
                    connection.close_if_unusable_or_obsolete()
                    self.flush(timeout=True)
                except Exception:  # the writer must outlive anything a batch does
                    logger.exception("prediction recorder: a flush failed")
                    connection.close()
            self.flush(timeout=True)  # what was queued when asked to stop
        finally:
            connection.close()
            self._stopping.clear()

    def flush(self, *, timeout: bool = False) -> int:
        """Write what is queued now; the number of records written.

        The writer thread calls it every SERVING_RECORD_FLUSH_MS (``timeout``: under its
        statement timeout); tests call it on their own connection.
        """
        with self._flush_lock:
            with self._lock:
                batch = list(self._queue)
                self._queue.clear()
            if not batch:
                self._publish()
                return 0
            if time.monotonic() < self._down_until:
                self._drop(batch)
                return 0
            try:
                written = self._write(batch, timeout=timeout)
            except _WRITE_FAILURES as exc:
                self._failed(batch, exc)
                return 0
            if self.last_error:
                logger.info("prediction records are written again")
                self.last_error = ""
            self.batches += 1
            self.counts["written"] += written
            self._publish()
            return written

    def _drop(self, batch: list[Entry]) -> None:
        self.counts["dropped_unavailable"] += len(batch)
        self._publish()

    def _failed(self, batch: list[Entry], exc: BaseException) -> None:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        if not self.last_error:
            logger.warning(
                "prediction records dropped: the database cannot take them",
                extra={"records": len(batch), "error": f"{type(exc).__name__}: {first}"},
            )
        self.last_error = f"{type(exc).__name__}: {first}"
        self._down_until = time.monotonic() + settings.SERVING_RECORD_RETRY_SECONDS
        self._drop(batch)
        if threading.current_thread() is self._thread:
            connections["default"].close()

    def _publish(self) -> None:
        """Hand the counts since the last call to the metrics (from the writer, so that
        the request thread never touches the metric files)."""
        deltas = {}
        for outcome in OUTCOMES:
            now = self.counts[outcome]
            deltas[outcome] = now - self._published[outcome]
            self._published[outcome] = now
        observe_records(deltas)

    # -- writing -----------------------------------------------------------------------
    def _write(self, batch: list[Entry], *, timeout: bool) -> int:
        connection = connections["default"]
        rows = [self._row(entry) for entry in batch]
        if connection.vendor != "postgresql":
            return self._write_orm(rows)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Records may be dropped anyway (an outage drops them): the commit need
                # not wait for the WAL to reach the disk, which spares the database an
                # fsync a flush on the disk that holds the trades.
                cursor.execute("SET LOCAL synchronous_commit = off")
                if timeout:
                    cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                if not self._copy_refused:
                    copied = self._copy(cursor, rows)
                    if copied is not None:
                        return copied
        return self._insert(rows, timeout=timeout)

    def _copy(self, cursor, rows: list[tuple]) -> int | None:
        """COPY the rows; None when the server does not take COPY FROM STDIN."""
        from psycopg import errors as pg_errors

        try:
            with transaction.atomic():
                with cursor.copy(COPY_SQL) as copy:
                    for row in rows:
                        copy.write_row(row)
        except pg_errors.FeatureNotSupported as exc:
            self._copy_refused = True
            logger.warning(
                "prediction records: this server refuses COPY FROM STDIN; writing them "
                "with multi-row INSERT statements from now on",
                extra={"error": str(exc).strip().splitlines()[0][:200]},
            )
            return None
        except (pg_errors.DataError, pg_errors.IntegrityError):
            return self._insert_one_by_one(rows)
        return len(rows)

    def _insert(self, rows: list[tuple], *, timeout: bool) -> int:
        written = 0
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            try:
                with transaction.atomic(), connections["default"].cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                    if timeout:
                        cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                    cursor.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])
                written += len(chunk)
            except (DataError, IntegrityError):
                written += self._insert_one_by_one(chunk)
        return written

    def _insert_one_by_one(self, rows: list[tuple]) -> int:
        """A batch the database refused: each record alone, the refused ones dropped."""
        written = 0
        for row in rows:
            try:
                with transaction.atomic(), connections["default"].cursor() as cursor:
                    cursor.execute(_insert_sql(1), list(row))
                written += 1
            except DatabaseError as exc:
                if _is_outage(exc):
                    raise
                self.counts["refused"] += 1
                logger.warning(
                    "prediction record refused by the database",
                    extra={"record": str(row[0]), "error": str(exc).strip()[:200]},
                )
        return written

    def _write_orm(self, rows: list[tuple]) -> int:
        from serving.models import PredictionRecord

        objects = []
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            values["inputs"] = None if values["inputs"] is None else orjson.loads(values["inputs"])
            values["outputs"] = orjson.loads(values["outputs"])
            objects.append(PredictionRecord(**values))
        PredictionRecord.objects.bulk_create(objects)
        return len(objects)

    @staticmethod
    def _row(entry: Entry) -> tuple:
        """The record's column values: JSON as text, the time from the id."""
        served = entry.served
        rows = entry.rows
        if rows is None and entry.body is not None:
            rows = _parse_again(entry.body, served)
        inputs = (
            None if rows is None else orjson.dumps(rows, option=orjson.OPT_SERIALIZE_NUMPY).decode()
        )
        return (
            uuid.UUID(int=entry.id),
            record_time(entry.id),
            served.id,
            _text(served.model, 100),
            served.version,
            _text(entry.alias, 50),
            entry.protocol,
            len(entry.outputs),
            inputs,
            orjson.dumps(entry.outputs).decode(),
            entry.cached,
            entry.latency_ms,
            _text(entry.request_id, 128),
            _text(entry.api_key, 100),
            _text(entry.username, 150),
            entry.sample_rate,
            entry.role,
            None if entry.shadow_of is None else uuid.UUID(int=entry.shadow_of),
        )

    # -- state ---------------------------------------------------------------------------
    def stats(self) -> dict:
        """This worker's counts since it started, and what waits to be written."""
        return {
            "queued": len(self._queue),
            "sample_rate": settings.SERVING_RECORD_SAMPLE_RATE,
            "writer": "thread" if self._thread is not None and self._thread.is_alive() else "idle",
            "batches": self.batches,
            **self.counts,
            "method": "insert" if self._copy_refused else "copy",
            "last_error": self.last_error or None,
        }

    def stop(self, timeout: float = 2.0) -> None:
        """Write what is queued and end the writer thread, waiting at most ``timeout``
        seconds (a worker's exit; tests)."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)
        self._thread = None

    def reset(self) -> None:
        """Forget what is queued and every count (tests)."""
        with self._flush_lock, self._lock:
            self._queue.clear()
            self.counts = dict.fromkeys(OUTCOMES, 0)
            self._published = dict.fromkeys(OUTCOMES, 0)
            self.batches = 0
            self.last_error = ""
            self._down_until = 0.0


def _insert_sql(count: int) -> str:
    placeholders = (
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    return f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES " + ", ".join([placeholders] * count)  # noqa: S608 - fixed names


def _is_outage(exc: BaseException) -> bool:
    from backoffice.core.db.outages import is_database_outage

    return is_database_outage(exc)


def _parse_again(body, served):
    """The rows of a body answered by its hash (never parsed on the request path)."""
    from serving.inputs import parse_rows

    try:
        return parse_rows(body.parsed(), served.feature_names, max_rows=settings.SERVING_MAX_ROWS)
    except Exception:  # the same bytes parsed before; if not, the inputs stay unknown
        return None
