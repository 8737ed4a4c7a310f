"""Champion and challenger: a second version beside an alias's own.

An alias's version is its champion. A challenger (ModelAlias.challenger) runs beside it
in one of two modes (serving.challengers does the serving):

  shadow   it scores the rows of the alias's recorded requests off the request path;
           the answer is the champion's, unchanged, and the challenger's scores are
           recorded beside it (role "shadow", shadow_of the answer's record)
  canary   it answers ``share`` of the requests that carry a routing key (the
           ``X-Routing-Key`` header), chosen by a stable hash of the key; the champion
           scores those rows in shadow, and a request without a key is the champion's

Setting, removing, promoting (the alias moves to the challenger through alias_move, so a
move that breaks clients needs its confirmation and a reason, as any move) and rolling
back (alias_rollback) each take the permission to move aliases, and each is recorded:
ChallengerChange for the first three, AliasMove for the moves.
"""

from __future__ import annotations

import logging
import math

from django.db import transaction

from models_registry.models import (
    AliasMove,
    ChallengerChange,
    ChallengerMode,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from models_registry.services import (
    NotFound,
    RegistryError,
    _check_alias_name,
    _clean_reason,
    alias_move,
)
from models_registry.signals import aliases_changed

logger = logging.getLogger("models_registry.services")


def _alias_locked(model: RegisteredModel, alias: str) -> ModelAlias:
    _check_alias_name(alias)
    # The same lock as alias_move: a challenger change and a move of one model's aliases
    # are one after the other.
    RegisteredModel.objects.select_for_update().get(pk=model.pk)
    found = (
        ModelAlias.objects.filter(model=model, name=alias)
        .select_related("version", "challenger")
        .first()
    )
    if found is None:
        raise NotFound(f"model {model.name!r} has no alias {alias!r}", field="alias")
    return found


def _check_share(mode: str, share) -> float:
    if mode == ChallengerMode.SHADOW:
        return 0.0
    if isinstance(share, bool) or not isinstance(share, int | float):
        raise RegistryError("the canary's share must be a number between 0 and 1", field="share")
    share = float(share)
    if not math.isfinite(share) or not 0 < share < 1:
        raise RegistryError(
            "the canary's share must be more than 0 and less than 1 (0.1 sends a tenth of "
            "the keyed requests to the challenger)",
            field="share",
        )
    return share


def _check_features(model, alias, champion: ModelVersion, version: ModelVersion, mode: str):
    """A canary answers the alias's clients: it takes exactly the champion's features. A
    shadow scores the rows the champion was sent: it takes some of them, in any order
    (a version trained without a feature can shadow; its promotion then breaks clients
    and needs confirming, models_registry.promotions)."""
    ours = [f["name"] for f in champion.feature_schema]
    theirs = [f["name"] for f in version.feature_schema]
    if mode == ChallengerMode.CANARY and version.feature_schema != champion.feature_schema:
        raise RegistryError(
            f"a canary answers {model.name}:{alias}'s clients, so it must take the features "
            f"of version {champion.version} in the same order and types; version "
            f"{version.version} does not: run it in shadow mode",
            field="version",
        )
    missing = [name for name in theirs if name not in ours]
    if missing:
        raise RegistryError(
            f"version {version.version} needs features that {model.name}:{alias}'s requests "
            f"do not carry: {', '.join(missing)}",
            field="version",
        )


def _changed(model: RegisteredModel) -> None:
    transaction.on_commit(lambda: aliases_changed.send(sender=ModelAlias, model=model.name))


@transaction.atomic
def challenger_set(
    *,
    model: RegisteredModel,
    alias: str,
    version: ModelVersion,
    mode: str,
    share: float = 0.0,
    changed_by=None,
    reason: str = "",
) -> ChallengerChange:
    """Put ``version`` beside ``alias`` as its challenger in ``mode`` (``share``: the
    canary's share of keyed requests, more than 0 and less than 1)."""
    reason = _clean_reason(reason)
    if mode not in ChallengerMode.values:
        raise RegistryError(
            f"the mode must be one of {', '.join(ChallengerMode.values)}", field="mode"
        )
    share = _check_share(mode, share)
    current = _alias_locked(model, alias)
    if version.model_id != model.pk:
        raise RegistryError(
            f"{version} belongs to another model than {model.name}", field="version"
        )
    if version.pk == current.version_id:
        raise RegistryError(
            f"version {version.version} is {model.name}:{alias}'s champion already: a "
            "challenger is another version",
            field="version",
        )
    _check_features(model, alias, current.version, version, mode)
    current.challenger = version
    current.challenger_mode = mode
    current.challenger_share = share
    current.updated_by = changed_by
    current.save(
        update_fields=[
            "challenger",
            "challenger_mode",
            "challenger_share",
            "updated_by",
            "updated_at",
        ]
    )
    change = ChallengerChange.objects.create(
        model=model,
        alias=alias,
        action=ChallengerChange.Action.SET,
        version=version,
        mode=mode,
        share=share,
        changed_by=changed_by,
        reason=reason,
    )
    logger.info(
        "challenger set",
        extra={
            "model": model.name,
            "alias": alias,
            "challenger": version.version,
            "mode": mode,
            "share": share,
            "changed_by": str(changed_by) if changed_by else "operator",
        },
    )
    _changed(model)
    return change


def _clear(current: ModelAlias, changed_by) -> None:
    current.challenger = None
    current.challenger_mode = ""
    current.challenger_share = 0.0
    current.updated_by = changed_by
    current.save(
        update_fields=[
            "challenger",
            "challenger_mode",
            "challenger_share",
            "updated_by",
            "updated_at",
        ]
    )


@transaction.atomic
def challenger_clear(
    *, model: RegisteredModel, alias: str, changed_by=None, reason: str = ""
) -> ChallengerChange:
    """Remove ``alias``'s challenger; RegistryError when it has none."""
    reason = _clean_reason(reason)
    current = _alias_locked(model, alias)
    if current.challenger is None:
        raise RegistryError(f"{model.name}:{alias} has no challenger", field="alias")
    change = ChallengerChange.objects.create(
        model=model,
        alias=alias,
        action=ChallengerChange.Action.CLEARED,
        version=current.challenger,
        mode=current.challenger_mode,
        share=current.challenger_share,
        changed_by=changed_by,
        reason=reason,
    )
    _clear(current, changed_by)
    logger.info("challenger removed", extra={"model": model.name, "alias": alias})
    _changed(model)
    return change


@transaction.atomic
def challenger_promote(
    *,
    model: RegisteredModel,
    alias: str,
    moved_by=None,
    reason: str = "",
    confirm_breaking: bool = False,
    expected_challenger: ModelVersion | None = None,
) -> AliasMove:
    """The challenger becomes the alias's version, in one action: the alias moves to it
    (alias_move: a move that breaks clients needs ``confirm_breaking`` and a reason),
    the challenger is removed, and both are recorded. ``expected_challenger``: the
    version the promoter compared; refused if the challenger changed meanwhile."""
    reason = _clean_reason(reason)
    current = _alias_locked(model, alias)
    if current.challenger is None:
        raise RegistryError(f"{model.name}:{alias} has no challenger to promote", field="alias")
    if expected_challenger is not None and current.challenger_id != expected_challenger.pk:
        raise RegistryError(
            f"{model.name}:{alias}'s challenger is version {current.challenger.version} now, "
            f"not version {expected_challenger.version} you compared: compare them again",
            field="version",
        )
    challenger, mode, share = current.challenger, current.challenger_mode, current.challenger_share
    move = alias_move(
        model=model,
        alias=alias,
        version=challenger,
        moved_by=moved_by,
        reason=reason,
        confirm_breaking=confirm_breaking,
        expected_current=current.version,
    )
    assert move is not None  # the challenger is never the champion (challenger_set)
    current.refresh_from_db()
    _clear(current, moved_by)
    ChallengerChange.objects.create(
        model=model,
        alias=alias,
        action=ChallengerChange.Action.PROMOTED,
        version=challenger,
        mode=mode,
        share=share,
        changed_by=moved_by,
        reason=move.reason,
        move=move,
    )
    logger.info(
        "challenger promoted",
        extra={"model": model.name, "alias": alias, "version": challenger.version, "move": move.pk},
    )
    return move
