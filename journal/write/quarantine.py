"""The quarantine's decisions: re-submit a quarantined line, corrected, or discard it.

The quarantine decides lines; it does not write trades. A re-submission stores what the
line said, corrected only in the fields the capture rules refuse today (the fields the
line failed on), under the line's own key (trade_id, executed_at): a line that failed
on its key can only be discarded, as can a line that holds no readable trade. The
corrected trade goes through the API's capture rules and needs the API's permissions:
journal.add_trade to store it, and journal.change_trade when it closes a stored open
trade. Each re-submission leaves an audit row (QuarantineResubmission): who, when, the
line, the trade as the line said it and as it was stored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from journal.domain.trade_record import RecordError, parse_record, shown
from journal.write.capture import (
    CaptureResult,
    TradesRejected,
    get_spool,
    reference_problems,
    store_records,
    validate_records,
)

logger = logging.getLogger(__name__)

# A re-submitted trade keeps the line's key: changing it would store another trade.
KEY_FIELDS = ("trade_id", "executed_at")
ADD_PERMISSION = "journal.add_trade"
CLOSE_PERMISSION = "journal.change_trade"


class QuarantineError(Exception):
    """A quarantined line cannot be decided as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class QuarantineDecided(QuarantineError):
    """The quarantined line was already re-submitted or discarded (by someone else)."""


class QuarantineForbidden(QuarantineError):
    """The user lacks a permission the re-submission needs (the message names it)."""


@dataclass(frozen=True)
class LineCorrection:
    """What may be corrected in a quarantined line.

    ``original``: the trade as the line holds it (JSON values), or None when the line
    holds none. ``failing``: each field the capture rules refuse today, with the reason.
    ``problem``: why the line cannot be re-submitted at all (then only discarded).
    """

    original: dict[str, Any] | None
    failing: dict[str, str] = field(default_factory=dict)
    problem: str = ""

    def editable(self) -> dict[str, Any]:
        """The failing fields with the line's values: what the operator corrects."""
        original = self.original or {}
        return {name: original.get(name) for name in self.failing}


def line_correction(line) -> LineCorrection:
    """Read a quarantined line's trade and find the fields the capture rules refuse."""
    try:
        entry = json.loads(bytes(line.raw))
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        return LineCorrection(None, problem=f"the line holds no readable trade ({exc})")
    trade = entry.get("trade") if isinstance(entry, dict) else None
    if not isinstance(trade, dict):
        return LineCorrection(None, problem="the line holds no trade object")
    failing = _failing_fields(trade)
    on_key = [name for name in KEY_FIELDS if name in failing]
    if on_key:
        reasons = "; ".join(f"{name}: {failing[name]}" for name in on_key)
        return LineCorrection(
            trade,
            failing,
            problem=(
                f"the line failed on its key ({reasons}); a trade is stored under the "
                "line's own trade_id and executed_at only"
            ),
        )
    return LineCorrection(trade, failing)


def _failing_fields(trade: dict[str, Any]) -> dict[str, str]:
    try:
        record = parse_record(trade)
    except RecordError as exc:
        return dict(exc.errors)
    # What the trade names that the desk does not know: an instrument, a trade idea.
    return reference_problems({0: record}).get(0, {})


def corrected_trade(correction: LineCorrection, submitted: dict[str, Any]) -> dict[str, Any]:
    """The line's trade with its failing fields taken from ``submitted``.

    A failing field absent from ``submitted`` is dropped (an unknown field, an exit price
    on an open trade). Any other field of ``submitted`` must equal the line's: the whole
    trade may be sent back, but nothing the line did not fail on may change. Raises
    TradesRejected naming each such field.
    """
    original = correction.original or {}
    corrected = {k: v for k, v in original.items() if k not in correction.failing}
    refused: dict[str, str] = {}
    for name, value in submitted.items():
        if name in correction.failing:
            corrected[name] = value
        elif name not in original or not _same(original[name], value):
            said = shown(original[name]) if name in original else "nothing"
            refused[_field_name(name)] = (
                f"the line did not fail on this field: it stays as the line said ({said})"
            )
    if refused:
        raise TradesRejected({0: refused}, total=1)
    return corrected


def _same(a: Any, b: Any) -> bool:
    # The same JSON, strictly: what the form showed comes back token for token when it
    # is sent back unchanged ("1.5" is not 1.5, True is not 1, NaN equals itself).
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _field_name(name: str) -> str:
    # As parse_record names an unknown field: cut, and printable whatever it holds.
    return name[:64].encode("utf-8", "backslashreplace").decode()


def _pending_line(line_id: int):
    from journal.models import QuarantinedLine, QuarantineStatus

    # The row lock serialises two operators deciding the same line at once.
    line = QuarantinedLine.objects.select_for_update().get(pk=line_id)
    if line.status != QuarantineStatus.PENDING:
        who = f" by {line.resolved_by}" if line.resolved_by_id else ""
        raise QuarantineDecided(f"this line was already {line.get_status_display().lower()}{who}")
    return line


def _require(user, permission: str, doing: str) -> None:
    if not user.has_perm(permission):
        raise QuarantineForbidden(
            f"{doing} needs the permission {permission!r}, as through the API; "
            "the line can still be discarded"
        )


@transaction.atomic
def quarantine_resubmit(*, line_id: int, trade: object, user) -> CaptureResult:
    """Store a quarantined line's trade, corrected in the fields it failed on only.

    ``trade`` is a JSON object of corrections: the failing fields, or the whole trade
    with only those changed. Raises QuarantineError when the line cannot be re-submitted
    (no readable trade, or it failed on its key: discard it), QuarantineForbidden when
    the user lacks journal.add_trade (or journal.change_trade for a close of a stored
    open trade), TradesRejected (nothing changes) naming each field that may not change
    or is still invalid, and QuarantineDecided when someone decided the line first.
    """
    from journal.models import QuarantineResubmission, QuarantineStatus, Trade, TradeStatus

    _require(user, ADD_PERMISSION, "re-submitting a trade")
    if not isinstance(trade, dict):
        raise QuarantineError("give the corrections as one JSON object", "trade")
    line = _pending_line(line_id)
    correction = line_correction(line)
    if correction.problem:
        raise QuarantineError(f"{correction.problem}: this line can only be discarded")
    corrected = corrected_trade(correction, trade)
    (record,) = validate_records([corrected])
    problems = reference_problems({0: record})
    if problems:
        raise TradesRejected(problems, total=1)
    if any(not _same(corrected.get(k), correction.original.get(k)) for k in KEY_FIELDS):
        # Unreachable: the key fields are never corrected. Checked all the same, since a
        # trade under another key is what this function exists to prevent.
        raise QuarantineError("the corrected trade's key is not the line's")
    stored = (
        Trade.objects.select_for_update()
        .filter(trade_id=record.trade_id, executed_at=record.executed_at)
        .values_list("status", flat=True)
        .first()
    )
    if record.is_closed and stored == TradeStatus.OPEN:
        _require(user, CLOSE_PERMISSION, "closing a stored open trade")
    result = store_records([record])
    if result.closed:
        # The open trade may have arrived since the look above (its key was free).
        _require(user, CLOSE_PERMISSION, "closing a stored open trade")
    outcome = "created" if result.created else "closed" if result.closed else "already stored"
    changed = sorted(
        _field_name(name)
        for name in correction.failing
        if (name in corrected) != (name in correction.original)
        or (name in corrected and not _same(corrected[name], correction.original[name]))
    )
    QuarantineResubmission.objects.create(
        line=line,
        resubmitted_by=user,
        trade_id=record.trade_id,
        executed_at=record.executed_at,
        original=json.dumps(correction.original, ensure_ascii=True),
        corrected=json.dumps(record.as_json(), ensure_ascii=True),
        changed_fields=json.dumps(changed, ensure_ascii=True),
        outcome=outcome,
    )
    line.status = QuarantineStatus.RESUBMITTED
    line.resolved_by = user
    line.resolved_at = timezone.now()
    changes = ", ".join(changed) or "nothing"
    line.resolution = f"re-submitted ({changes} corrected): {record.trade_id} {outcome}"
    line.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
    transaction.on_commit(lambda: get_spool().archive_quarantined(line.source, line.line_number))
    logger.info(
        "quarantined line re-submitted",
        extra={
            "source": line.source,
            "line": line.line_number,
            "trade_id": record.trade_id,
            "corrected": changed,
            "outcome": outcome,
            "user": user.get_username(),
        },
    )
    return result


@transaction.atomic
def quarantine_discard(*, line_id: int, reason: str, user) -> None:
    """Give up on a quarantined line, with the reason; its bytes stay on record."""
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
