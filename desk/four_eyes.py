"""Four eyes on the risk limits: what lets more trades through waits for a second person.

A person's change of the limits (``limit_change_request``) takes effect at once where it
tightens; where it loosens (desk.domain.limits.loosened: a limit raised or switched off, a
check switched off, symbols added to the watchlist, AI trading switched on) and
settings.FOUR_EYES is on, the loosening waits in a LimitChangeRequest, with who asked
and why, and the old values stay in force. A second person with the same permission
(desk.change_riskconfig) confirms it (``limit_change_confirm``) or declines it; the
person who asked may withdraw it. A request holds the values its requester saw: when
they have changed since, confirming it would apply a decision taken on other limits,
so it is marked stale and must be asked again.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from desk.domain.limits import loosened
from desk.models import ChangeRequestStatus, LimitChangeRequest, RiskConfig
from desk.services import (
    DeskError,
    IllegalTransition,
    clean_reason,
    limits_check,
    risk_config_get,
    risk_config_update,
)

PERMISSION = "desk.change_riskconfig"


def as_json(value: Any) -> Any:
    """A limit's value as a request keeps it: decimals as their text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value


def from_json(name: str, value: Any) -> Any:
    """A kept value back as the risk config's field holds it."""
    return RiskConfig._meta.get_field(name).to_python(value)


@transaction.atomic
def limit_change_request(
    *, changes: dict[str, Any], user, reason: str
) -> tuple[RiskConfig, LimitChangeRequest | None]:
    """A person changes the limits, saying why. What tightens is saved now; with four
    eyes on, what loosens waits for a second person (the request is returned). Raises
    DeskError naming the field at fault."""
    reason = clean_reason(reason)
    config = risk_config_get(for_update=True)
    limits_check(config, changes)
    before = {name: getattr(config, name) for name in changes}
    typed = {name: from_json(name, as_json(value)) for name, value in changes.items()}
    loosening = {item.name for item in loosened(before, typed, config.currency)}
    actor = user.get_username()
    if not settings.FOUR_EYES or not loosening:
        config = risk_config_update(changes=changes, actor=actor, reason=reason, actor_user=user)
        return config, None
    tightening = {n: v for n, v in changes.items() if n not in loosening}
    if tightening:
        config = risk_config_update(changes=tightening, actor=actor, reason=reason, actor_user=user)
    request = LimitChangeRequest.objects.create(
        requested_by=user,
        reason=reason,
        changes={name: as_json(changes[name]) for name in changes if name in loosening},
        before={name: as_json(before[name]) for name in changes if name in loosening},
    )
    return config, request


def _pending(request_id: int) -> LimitChangeRequest:
    request = (
        LimitChangeRequest.objects.select_for_update()
        .select_related("requested_by")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise DeskError(f"no limit change request #{request_id}", "id")
    if request.status != ChangeRequestStatus.PENDING:
        who = f" by {request.decided_by}" if request.decided_by_id else ""
        raise IllegalTransition(
            f"limit change #{request.pk} was already decided{who}: "
            f"{request.get_status_display().lower()}",
            "status",
        )
    return request


def _close(request, status: str, user, note: str = "") -> LimitChangeRequest:
    request.status = status
    request.decided_by = user
    request.decided_at = timezone.now()
    request.decision_note = note[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return request


@transaction.atomic
def limit_change_confirm(*, request_id: int, user, note: str = "") -> LimitChangeRequest:
    """The second person confirms a waiting change: it is applied and audited with both
    names. Raises DeskError when ``user`` asked for it or lacks the permission, or when
    the limits changed since (the request is then marked stale)."""
    if not user.has_perm(PERMISSION):
        raise DeskError("confirming a limit change takes the permission to change limits")
    request = _pending(request_id)
    if request.requested_by_id == user.pk:
        raise DeskError(
            "you asked for this change: a second person with the permission confirms it",
            "user",
        )
    config = risk_config_get(for_update=True)
    moved = [
        name for name, seen in request.before.items() if as_json(getattr(config, name)) != seen
    ]
    if moved:
        # Kept stale (not raised): the caller says why, and the request leaves the queue.
        return _close(
            request, ChangeRequestStatus.STALE, user, "the limits changed since the request"
        )
    changes = {name: from_json(name, value) for name, value in request.changes.items()}
    asked_by = request.requested_by.get_username()
    risk_config_update(
        changes=changes,
        actor=f"{asked_by}, confirmed by {user.get_username()}",
        reason=request.reason,
        actor_user=user,
    )
    return _close(request, ChangeRequestStatus.CONFIRMED, user, note.strip())


@transaction.atomic
def limit_change_decline(*, request_id: int, user, note: str) -> LimitChangeRequest:
    """A person with the permission declines a waiting change (its requester withdraws
    it), saying why; the limits stay as they are."""
    if not user.has_perm(PERMISSION):
        raise DeskError("declining a limit change takes the permission to change limits")
    note = clean_reason(note)
    request = _pending(request_id)
    return _close(request, ChangeRequestStatus.DECLINED, user, note)


def pending_limit_changes():
    """The requests waiting for a second person, oldest first."""
    return (
        LimitChangeRequest.objects.filter(status=ChangeRequestStatus.PENDING)
        .select_related("requested_by")
        .order_by("requested_at", "id")
    )
