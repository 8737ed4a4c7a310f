"""A statement's dry run and import, run as jobs, with their progress and the quarantine.

A step (the dry run, then the import) waits in ``status`` until a runner claims it with
a conditional update (one claim wins, however many runners try) and a fresh ``claim``
token; the step's outcome is written only under that token. Runners:

- a Celery worker (the project's Celery app), when the broker is Redis and a worker answers a
  ping: the task ``journal.run_statement``;
- otherwise this web process, in a thread of its own: the embedded default of
  ``make run`` has no worker, and a deployment whose worker is down still imports.
  That is logged (a warning) and shown on the statement's page.
``JOURNAL_STATEMENT_RUNNER`` (auto, worker, web) chooses one for good.

The dry run reads the statement, then imports its trades with
journal.write.imports.import_file and rolls back: the counts of new trades, closes
and duplicates are the import's own. The import does the same and commits, in one
transaction with the rows it quarantines (what cannot be read or stored, kept with its
line for an operator: journal.write.quarantine) and the statement's new status.

Progress lives in the cache (Redis in production, shared by the worker and the web),
under ``journal:statement:<id>:progress``, written every PROGRESS_ROWS rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from celery import current_app as app
from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.utils import timezone

from journal import instruments
from journal.domain.trade_record import SYMBOL
from journal.models import QuarantinedLine, StatementImport, StatementStatus
from journal.statements import formats, guesses
from journal.statements.reading import Statement, StatementUnreadable, zone_of
from journal.write.imports import ImportFailed, ImportResult, import_file

logger = logging.getLogger(__name__)

TASK = "journal.run_statement"
WORKER = "job worker"
WEB = "web process"
PROGRESS_ROWS = 2000
MAX_REPORTED_ERRORS = 200
PING_SECONDS = 1.0
QUARANTINE_BATCH = 1000
# The web process's runners, by statement id: tests wait for them (wait_for_web_jobs).
_threads: dict[int, threading.Thread] = {}


class Superseded(Exception):
    """The step was claimed again meanwhile (a retry): this run's outcome is dropped."""


# -- dispatch --------------------------------------------------------------------------


def dispatch(statement_id: int) -> str:
    """Hand the statement's waiting step to a runner; which one it was."""
    choice = settings.JOURNAL_STATEMENT_RUNNER
    if choice == "worker" or (choice == "auto" and worker_available()):
        # By name: the task (journal.tasks) runs this module, which need not import it.
        app.send_task(TASK, args=[statement_id])
        return WORKER
    if choice == "auto":
        logger.warning(
            "no job worker answered: the statement runs in this web process",
            extra={"statement": statement_id},
        )
    thread = threading.Thread(
        target=_run_in_web_process, args=(statement_id,), name=f"statement-{statement_id}"
    )
    thread.daemon = True
    _threads[statement_id] = thread
    thread.start()
    return WEB


def dispatch_on_commit(statement_id: int) -> None:
    """dispatch() once the transaction that made the step wait is committed."""
    transaction.on_commit(lambda: dispatch(statement_id))


def worker_available() -> bool:
    """Whether a Celery worker answers a ping on the broker (never with memory://)."""
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        return False

    try:
        return bool(app.control.ping(timeout=PING_SECONDS))
    except Exception:
        logger.warning("the job broker did not answer a ping", exc_info=True)
        return False


def _run_in_web_process(statement_id: int) -> None:
    try:
        run_job(statement_id, runner=WEB)
    finally:
        connections.close_all()  # this thread's own connection


def wait_for_web_jobs(timeout: float = 120.0) -> None:
    """Wait for the statements this process runs itself (tests and shutdown)."""
    for statement_id, thread in list(_threads.items()):
        thread.join(timeout)
        if not thread.is_alive():
            _threads.pop(statement_id, None)


# -- the job ---------------------------------------------------------------------------

STEPS = {
    StatementStatus.WAITING_CHECK: StatementStatus.CHECKING,
    StatementStatus.WAITING_IMPORT: StatementStatus.IMPORTING,
}


def run_job(statement_id: int, *, runner: str) -> str | None:
    """Claim and run the statement's waiting step; the step run, or None when there was
    none to claim (another runner has it, or it ran)."""
    claim = uuid.uuid4().hex
    for waiting, running in STEPS.items():
        claimed = StatementImport.objects.filter(pk=statement_id, status=waiting).update(
            status=running,
            claim=claim,
            runner=runner,
            started_at=timezone.now(),
            finished_at=None,
            failure="",
        )
        if claimed:
            break
    else:
        return None
    statement = StatementImport.objects.get(pk=statement_id)
    logger.info(
        "statement step started",
        extra={"statement": statement_id, "step": running, "runner": runner},
    )
    try:
        if running == StatementStatus.CHECKING:
            _check(statement, claim)
        else:
            _import(statement, claim)
    except Superseded:
        logger.warning("statement step superseded by a retry", extra={"statement": statement_id})
    except (StatementUnreadable, ImportFailed) as exc:
        _fail(statement, claim, str(exc))
    except Exception:
        logger.exception("statement step failed", extra={"statement": statement_id})
        _fail(
            statement,
            claim,
            "the step stopped on an unexpected error (logged with the statement's id); "
            "nothing of it was stored: run it again, or ask an engineer",
        )
    finally:
        progress_clear(statement_id)
    return running


def _fail(statement: StatementImport, claim: str, message: str) -> None:
    # Only a step still running fails: one that finished keeps its outcome.
    StatementImport.objects.filter(
        pk=statement.pk, claim=claim, status__in=list(STEPS.values())
    ).update(status=StatementStatus.FAILED, failure=message[:2000], finished_at=timezone.now())
    logger.warning(
        "statement step failed", extra={"statement": statement.pk, "reason": message[:300]}
    )


def _check(statement: StatementImport, claim: str) -> None:
    """The dry run: read, import, roll back; the report is the import's own counts."""
    instruments.forget()  # an instrument added a moment ago, maybe in another process
    parsed = _read(statement)
    with _records_file(parsed) as (path, lines):
        result = _import_rows(statement, path, lines, dry_run=True)
    report = _report(parsed, result, lines)
    done = StatementImport.objects.filter(
        pk=statement.pk, claim=claim, status=StatementStatus.CHECKING
    ).update(status=StatementStatus.CHECKED, check_report=report, finished_at=timezone.now())
    if not done:
        raise Superseded


def _import(statement: StatementImport, claim: str) -> None:
    """The import: the valid trades stored, the rest quarantined, the status set, in
    one transaction."""
    instruments.forget()
    parsed = _read(statement)
    with _records_file(parsed) as (path, lines), transaction.atomic():
        result = _import_rows(statement, path, lines, dry_run=False)
        quarantined = quarantine(statement, parsed, result, lines)
        report = {**_report(parsed, result, lines), "quarantined": quarantined}
        done = StatementImport.objects.filter(
            pk=statement.pk, claim=claim, status=StatementStatus.IMPORTING
        ).update(status=StatementStatus.IMPORTED, import_report=report, finished_at=timezone.now())
        if not done:
            raise Superseded
    logger.info(
        "statement imported",
        extra={
            "statement": statement.pk,
            "new_trades": result.created,
            "closed_trades": result.closed,
            "duplicates": result.duplicates,
            "quarantined": quarantined,
        },
    )


def _read(statement: StatementImport) -> Statement:
    progress_set(statement.pk, step="reading the statement", fraction=0.0)
    return formats.read(
        bytes(statement.content),
        statement.format,
        zone=zone_of(statement.time_zone),
        account=statement.account,
        strategy=statement.strategy,
    )


@contextmanager
def _records_file(parsed: Statement):
    """The statement's trades as a JSON-lines file for the import, and the statement's
    line of each of its lines (the import names lines of this file)."""
    handle, name = tempfile.mkstemp(prefix="statement-", suffix=".jsonl")
    lines: list[int] = []
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            for row in parsed.rows:
                if row.record is not None:
                    out.write(formats.record_line(parsed, row).replace("\n", " ") + "\n")
                    lines.append(row.line)
        yield Path(name), lines
    finally:
        Path(name).unlink(missing_ok=True)


def _import_rows(statement, path: Path, lines: list[int], *, dry_run: bool) -> ImportResult:
    if not lines:
        return ImportResult(dry_run=dry_run)
    total = max(path.stat().st_size, 1)
    step = "dry run: checking every trade" if dry_run else "storing the trades"
    seen = {"bytes": 0, "rows": 0}

    def tick(size: int) -> None:
        seen["bytes"] += size
        seen["rows"] += 1
        if seen["rows"] % PROGRESS_ROWS == 0:
            progress_set(statement.pk, step=step, fraction=seen["bytes"] / total, rows=seen["rows"])

    return import_file(path, fmt="jsonl", skip_invalid=True, dry_run=dry_run, progress=tick)


def _report(parsed: Statement, result: ImportResult, lines: list[int]) -> dict:
    errors = [
        {"line": row.line, "field": name, "reason": reason}
        for row in parsed.rows
        for name, reason in row.problems
    ]
    errors += [
        {"line": lines[error.line - 1], "field": error.field, "reason": error.reason}
        for error in result.errors
        if 0 < error.line <= len(lines)
    ]
    errors.sort(key=lambda error: error["line"])
    trades = sum(1 for row in parsed.rows if row.record is not None)
    symbols = {}
    for row in parsed.rows:
        if isinstance(row.record, dict) and isinstance(row.record.get("symbol"), str):
            name = row.record["symbol"].strip().upper()
            if SYMBOL.match(name):  # a symbol the format refuses is an error, not an instrument
                symbols[name] = symbols.get(name, 0) + 1
    unknown = sorted(instruments.unknown_symbols(symbols))
    return {
        "format": parsed.format,
        "account": parsed.account,
        "rows": len(parsed.rows),
        "trades": trades,
        "valid": result.valid,
        "new": result.created,
        "closes": result.closed,
        "duplicates": result.duplicates,
        "invalid": len({error["line"] for error in errors}),
        "errors": errors[:MAX_REPORTED_ERRORS],
        "skipped": parsed.skipped,
        "notes": parsed.notes,
        "instruments_required": instruments.required(),
        "unknown_symbols": [_unknown(name, symbols[name], parsed) for name in unknown],
    }


def _unknown(symbol: str, rows: int, parsed: Statement) -> dict:
    found = guesses.proposal(symbol, parsed.facts(symbol))
    return {"symbol": symbol, "rows": rows, "proposal": found.fields, "missing": found.missing}


# -- the quarantine --------------------------------------------------------------------


def quarantine(statement, parsed: Statement, result: ImportResult, lines: list[int]) -> int:
    """Keep every row that cannot be read or stored as a quarantined line of the
    statement (its line, the trade as read, the row as written, the reasons); a line
    quarantined before (an import run again) is kept once. Returns how many rows."""
    reasons: dict[int, list[str]] = {}
    for error in result.errors:
        if 0 < error.line <= len(lines):
            reasons.setdefault(lines[error.line - 1], []).append(f"{error.field}: {error.reason}")
    source = f"statement {statement.pk}: {statement.filename}"[:200]
    batch: list[QuarantinedLine] = []
    count = 0
    for row in parsed.rows:
        why = [f"{name}: {reason}" for name, reason in row.problems] or reasons.get(row.line)
        if not why:
            continue
        raw = _envelope(statement, parsed, row)
        batch.append(
            QuarantinedLine(
                source=source,
                line_number=row.line,
                raw=raw,
                sha256=hashlib.sha256(raw).hexdigest(),
                reason="; ".join(why)[:5000],
            )
        )
        count += 1
        if len(batch) >= QUARANTINE_BATCH:
            QuarantinedLine.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    QuarantinedLine.objects.bulk_create(batch, ignore_conflicts=True)
    return count


def _envelope(statement, parsed: Statement, row) -> bytes:
    """The quarantined line: {"trade": the trade as read, "statement": where it came
    from}, as the quarantine's re-submission reads it (journal.write.quarantine)."""
    where = json.dumps(
        {
            "id": statement.pk,
            "file": statement.filename,
            "format": parsed.format,
            "line": row.line,
            "source": row.source[:20000],
        },
        ensure_ascii=True,
    )
    if row.record is None:
        return f'{{"statement": {where}}}\n'.encode()
    if parsed.format == formats.JSONL:
        # The line's own JSON, numbers exactly as written.
        return f'{{"trade": {row.source}, "statement": {where}}}\n'.encode()
    trade = json.dumps(row.record, ensure_ascii=True)
    return f'{{"trade": {trade}, "statement": {where}}}\n'.encode()


# -- progress --------------------------------------------------------------------------


def _progress_key(statement_id: int) -> str:
    return f"journal:statement:{statement_id}:progress"


def progress_set(statement_id: int, *, step: str, fraction: float, rows: int = 0) -> None:
    value = {
        "step": step,
        "percent": round(min(max(fraction, 0.0), 1.0) * 100),
        "rows": rows,
        "at": timezone.now().isoformat(),
    }
    try:
        cache.set(_progress_key(statement_id), value, timeout=86400)
    except Exception:
        logger.warning("statement progress not written", exc_info=True)


def progress_get(statement_id: int) -> dict | None:
    """The running step's progress: step, percent, rows, at (an ISO time); or None."""
    try:
        value = cache.get(_progress_key(statement_id))
    except Exception:
        logger.warning("statement progress not read", exc_info=True)
        return None
    if isinstance(value, dict) and isinstance(value.get("at"), str):
        try:
            value = {**value, "at": datetime.fromisoformat(value["at"])}
        except ValueError:
            return None
        return value
    return None


def progress_clear(statement_id: int) -> None:
    try:
        cache.delete(_progress_key(statement_id))
    except Exception:
        logger.warning("statement progress not cleared", exc_info=True)
