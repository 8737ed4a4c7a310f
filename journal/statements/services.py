"""What a person does with a statement: upload it, import it, check it again, add an
instrument it names, run a stopped step again. Each checks the permission it needs and
raises StatementRefused naming the input at fault; the steps themselves run as jobs
(journal.statements.jobs).

Permissions: uploading (and its dry run) needs journal.add_statementimport; importing
stores trades, so it needs journal.add_trade, as the API and the quarantine's
re-submission do; adding an instrument needs journal.add_instrument.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from backoffice.core.errors import DomainError
from journal import instruments
from journal.domain.trade_record import check_storable_text
from journal.models import Instrument, StatementImport, StatementStatus
from journal.statements import formats, jobs
from journal.statements.reading import StatementUnreadable, zone_of

UPLOAD_PERMISSION = "journal.add_statementimport"
IMPORT_PERMISSION = "journal.add_trade"
INSTRUMENT_PERMISSION = "journal.add_instrument"
AUTO = "auto"


class StatementRefused(DomainError):
    code = "statement_refused"


class StatementForbidden(StatementRefused):
    status = 403
    code = "forbidden"


def _require(user, permission: str, doing: str) -> None:
    if not user.has_perm(permission):
        raise StatementForbidden(f"{doing} needs the permission {permission!r}")


def _plain_text(value: str, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    try:
        check_storable_text(text)
    except ValueError as exc:
        raise StatementRefused(f"{field} {exc}", field=field) from None
    if len(text) > limit or not text.isprintable():
        raise StatementRefused(
            f"{field} must be printable text of at most {limit} characters", field=field
        )
    return text


@transaction.atomic
def statement_upload(
    *,
    user,
    filename: str,
    data: bytes,
    fmt: str = AUTO,
    time_zone: str = "UTC",
    account: str = "",
    strategy: str = "",
) -> StatementImport:
    """Keep an uploaded statement and start its dry run (a job)."""
    _require(user, UPLOAD_PERMISSION, "uploading a statement")
    limit = settings.JOURNAL_STATEMENT_MAX_MB * 1024 * 1024
    if len(data) > limit:
        raise StatementRefused(
            f"the file has {len(data):,} bytes; the limit is "
            f"{settings.JOURNAL_STATEMENT_MAX_MB} MB: export a shorter period",
            field="file",
        )
    if not data.strip():
        raise StatementRefused("the file is empty", field="file")
    name = PurePath((filename or "statement").replace("\\", "/")).name or "statement"
    name = name.encode("utf-8", "replace").decode("utf-8")
    name = "".join(c if c.isprintable() and c != "\x00" else "_" for c in name)[:200]
    if fmt == AUTO:
        try:
            fmt = formats.detect(data, name)
        except StatementUnreadable as exc:
            raise StatementRefused(str(exc), field="format") from None
    elif fmt not in formats.LABELS:
        raise StatementRefused(f"{fmt[:20]!r} is not a statement format", field="format")
    try:
        zone_of(time_zone)
    except ValueError as exc:
        raise StatementRefused(str(exc), field="time_zone") from None
    statement = StatementImport.objects.create(
        filename=name,
        format=fmt,
        time_zone=time_zone,
        account=_plain_text(account, field="account", limit=64),
        strategy=_plain_text(strategy, field="strategy", limit=64),
        content=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=user,
        status=StatementStatus.WAITING_CHECK,
    )
    jobs.dispatch_on_commit(statement.pk)
    return statement


@transaction.atomic
def statement_import(*, statement_id: int, user) -> StatementImport:
    """Import a checked statement (a job): its valid trades stored, the rest quarantined."""
    _require(user, IMPORT_PERMISSION, "importing a statement (it stores trades)")
    # The conditional update is the lock: of two people pressing Import, one starts it.
    started = StatementImport.objects.filter(
        pk=statement_id, status=StatementStatus.CHECKED
    ).update(status=StatementStatus.WAITING_IMPORT, imported_by=user)
    statement = StatementImport.objects.get(pk=statement_id)
    if not started:
        state = statement.get_status_display().lower()
        raise StatementRefused(f"this statement is not ready to import (it is {state})")
    jobs.dispatch_on_commit(statement_id)
    return statement


@transaction.atomic
def statement_check_again(*, statement_id: int, user) -> StatementImport:
    """Run a statement's dry run again (after an instrument was added, say)."""
    _require(user, UPLOAD_PERMISSION, "checking a statement")
    again = StatementImport.objects.filter(
        pk=statement_id,
        status__in=[StatementStatus.CHECKED, StatementStatus.FAILED],
        import_report={},
    ).update(status=StatementStatus.WAITING_CHECK)
    statement = StatementImport.objects.get(pk=statement_id)
    if not again:
        raise StatementRefused(
            f"this statement cannot be checked again (it is "
            f"{statement.get_status_display().lower()})"
        )
    jobs.dispatch_on_commit(statement_id)
    return statement


@transaction.atomic
def statement_run_again(*, statement_id: int, user, now=None) -> StatementImport:
    """Run a step again whose runner stopped (no progress for
    JOURNAL_STATEMENT_STALE_SECONDS): its transaction left nothing behind."""
    _require(user, UPLOAD_PERMISSION, "running a statement's step again")
    now = now or timezone.now()
    statement = StatementImport.objects.select_for_update().get(pk=statement_id)
    if not is_stale(statement, now=now):
        raise StatementRefused("this statement's step is not stopped: wait for it")
    waiting = (
        StatementStatus.WAITING_CHECK
        if statement.status == StatementStatus.CHECKING
        else StatementStatus.WAITING_IMPORT
    )
    statement.status = waiting
    statement.claim = ""
    statement.save(update_fields=["status", "claim"])
    jobs.dispatch_on_commit(statement_id)
    return statement


def is_stale(statement: StatementImport, *, now) -> bool:
    """Whether a running step has shown no progress for the stale time."""
    if statement.status not in (StatementStatus.CHECKING, StatementStatus.IMPORTING):
        return False
    progress = jobs.progress_get(statement.pk)
    last = (progress or {}).get("at") or statement.started_at
    if last is None:
        return True
    return now - last > timedelta(seconds=settings.JOURNAL_STATEMENT_STALE_SECONDS)


@transaction.atomic
def statement_add_instrument(*, statement_id: int, symbol: str, user) -> Instrument:
    """Add the instrument the statement's dry run proposed for ``symbol``, then check
    the statement again."""
    _require(user, INSTRUMENT_PERMISSION, "adding an instrument")
    statement = StatementImport.objects.select_for_update().get(pk=statement_id)
    proposals = {
        item["symbol"]: item
        for item in (statement.check_report or {}).get("unknown_symbols", [])
        if isinstance(item, dict) and isinstance(item.get("symbol"), str)
    }
    found = proposals.get(symbol)
    if found is None:
        raise StatementRefused(
            f"the statement's dry run names no unknown symbol {symbol[:32]!r}", field="symbol"
        )
    if found.get("missing"):
        raise StatementRefused(
            f"{symbol} cannot be added with one click: {found['missing']}; add it with "
            "the instrument's form",
            field="symbol",
        )
    fields = found["proposal"]
    instrument = Instrument(
        symbol=fields["symbol"],
        name=fields["name"],
        asset_class=fields["asset_class"],
        quote_currency=fields["quote_currency"],
        tick_size=Decimal(fields["tick_size"]),
        price_decimals=int(fields["price_decimals"]),
        quantity_step=Decimal(fields["quantity_step"]),
        quantity_unit=fields.get("quantity_unit", "lots"),
        point_value=Decimal(fields["point_value"]),
    )
    try:
        instrument.full_clean()
    except ValidationError as exc:
        messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise StatementRefused(f"{symbol} cannot be added: {messages}", field="symbol") from None
    instrument.save()
    transaction.on_commit(instruments.forget)
    if statement.status == StatementStatus.CHECKED:
        statement.status = StatementStatus.WAITING_CHECK
        statement.save(update_fields=["status"])
        jobs.dispatch_on_commit(statement_id)
    return instrument
