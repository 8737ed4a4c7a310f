"""Four eyes on breaking alias moves (issue 27): a move that breaks an alias's clients,
confirmed by a person, waits until a second person who may move aliases confirms it.

The services raise AwaitsSecondPerson instead of moving (models_registry.services,
alias_move and the rollback and promotion above it) when settings.FOUR_EYES is on and a
person made the move; ``breaking_move_request`` keeps it, with who asked and why, and the
alias stays where it is. ``breaking_move_confirm`` makes the same move again, as the
second person, against what the requester saw: an alias that moved since fails the
compare-and-set and the request is marked stale. Commands (no person) move at once: an
operator with a shell can reach the database anyway.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from models_registry.challengers import challenger_promote
from models_registry.errors import AliasMovedMeanwhile, AwaitsSecondPerson, RegistryError
from models_registry.models import AliasMove, BreakingMoveRequest, ModelVersion
from models_registry.services import alias_move, alias_rollback

MOVE_PERMISSION = "models_registry.change_modelalias"
Status = BreakingMoveRequest.Status


def breaking_move_request(waits: AwaitsSecondPerson, *, user) -> BreakingMoveRequest:
    """Keep the breaking move ``waits`` describes, asked by ``user``, for a second person."""
    return BreakingMoveRequest.objects.create(
        requested_by=user,
        model=waits.model,
        alias=waits.alias,
        kind=waits.kind,
        params=waits.params,
        to_version=waits.to_version,
        reason=waits.reason,
        breaking=list(waits.breaking),
    )


def _pending(request_id: int) -> BreakingMoveRequest:
    request = (
        BreakingMoveRequest.objects.select_for_update()
        .select_related("model", "to_version", "requested_by")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise RegistryError(f"no breaking move request #{request_id}", field="id")
    if request.status != Status.PENDING:
        who = f" by {request.decided_by}" if request.decided_by_id else ""
        raise AliasMovedMeanwhile(
            f"breaking move #{request.pk} was already decided{who}: "
            f"{request.get_status_display().lower()}",
            field="status",
        )
    return request


def _version(pk) -> ModelVersion | None:
    return None if pk is None else ModelVersion.objects.get(pk=pk)


@transaction.atomic
def breaking_move_confirm(*, request_id: int, user, note: str = "") -> BreakingMoveRequest:
    """The second person confirms: the move is made as it was asked, against the alias
    the requester saw (stale if it moved since: nothing moves)."""
    if not user.has_perm(MOVE_PERMISSION):
        raise RegistryError("confirming a breaking move takes the permission to move aliases")
    request = _pending(request_id)
    if request.requested_by_id == user.pk:
        raise RegistryError(
            "you asked for this move: a second person who may move aliases confirms it",
            field="user",
        )
    asked = request.requested_by.get_username()
    reason = f"{request.reason} (asked by {asked}, confirmed by {user.get_username()})"[:500]
    params = request.params
    common = {
        "model": request.model,
        "alias": request.alias,
        "moved_by": user,
        "reason": reason,
        "confirm_breaking": True,
        "second_person": True,
    }
    try:
        with transaction.atomic():
            if request.kind == BreakingMoveRequest.Kind.ROLLBACK:
                move = alias_rollback(expected_move=params["expected_move"], **common)
            elif request.kind == BreakingMoveRequest.Kind.PROMOTE:
                move = challenger_promote(
                    expected_version=_version(params["expected_version"]),
                    expected_challenger=_version(params["expected_challenger"]),
                    evidence_rows=params["evidence_rows"],
                    **common,
                )
            else:
                move = alias_move(
                    version=request.to_version,
                    expected_current=_version(params["expected_current"]),
                    **common,
                )
    except AliasMovedMeanwhile:
        return _close(request, Status.STALE, user, "the alias moved since the request")
    return _close(request, Status.CONFIRMED, user, note.strip(), move=move)


@transaction.atomic
def breaking_move_decline(*, request_id: int, user, note: str) -> BreakingMoveRequest:
    """A person who may move aliases declines (its requester withdraws it), saying why."""
    if not user.has_perm(MOVE_PERMISSION):
        raise RegistryError("declining a breaking move takes the permission to move aliases")
    if not (note or "").strip():
        raise RegistryError("say why you decline it: the reason is kept", field="note")
    return _close(_pending(request_id), Status.DECLINED, user, note.strip())


def _close(request, status, user, note, move: AliasMove | None = None):
    request.status = status
    request.decided_by = user
    request.decided_at = timezone.now()
    request.decision_note = note[:500]
    request.move = move
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "move"])
    return request


def pending_breaking_moves():
    return (
        BreakingMoveRequest.objects.filter(status=Status.PENDING)
        .select_related("model", "to_version", "requested_by")
        .order_by("requested_at", "id")
    )
