"""Champion and challenger: a second version beside an alias's own.

An alias's version is its champion. A challenger (ModelAlias.challenger) runs beside it
in one of two modes (serving.live.challenger_routing does the serving):

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

Each change names what its maker saw: the alias's version (``expected_version``) and
its challenger (``expected_challenger``, None for none). A change made on a stale view
is refused with AliasMovedMeanwhile and changes nothing: a promotion clicked while
someone set another challenger would otherwise promote a version nobody compared, and
two clicks at once would act twice. The check is made under the model's row lock and
written as a compare-and-set of the alias row (services._alias_compare_and_set).
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.db import transaction

from models_registry.errors import AliasMovedMeanwhile, AwaitsSecondPerson, NotFound, RegistryError
from models_registry.models import (
    AliasMove,
    ChallengerChange,
    ChallengerMode,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from models_registry.services import (
    _alias_compare_and_set,
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
        .select_related("model", "version", "challenger")
        .first()
    )
    if found is None:
        raise NotFound(f"model {model.name!r} has no alias {alias!r}", field="alias")
    return found


_UNCHECKED = object()


def _version_label(version: ModelVersion | None) -> str:
    return "none" if version is None else f"version {version.version}"


def _check_expected(current: ModelAlias, *, version=_UNCHECKED, challenger=_UNCHECKED) -> None:
    """AliasMovedMeanwhile unless the alias is at ``version`` with ``challenger`` (None:
    no challenger), as its changer saw it."""
    where = f"{current.model.name}:{current.name}"
    if version is not _UNCHECKED and current.version_id != version.pk:
        raise AliasMovedMeanwhile(
            f"{where} points at version {current.version.version} now, not at version "
            f"{version.version} you saw: nothing was changed; look at it again",
            field="expected_version",
        )
    if challenger is not _UNCHECKED and current.challenger_id != (
        challenger.pk if challenger is not None else None
    ):
        raise AliasMovedMeanwhile(
            f"{where}'s challenger is {_version_label(current.challenger)} now, not "
            f"{_version_label(challenger)} you saw: nothing was changed; look at it again",
            field="expected_challenger",
        )


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
    and needs confirming, models_registry.domain.promotions)."""
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
    expected_version: ModelVersion,
    expected_challenger: ModelVersion | None,
    share: float = 0.0,
    changed_by=None,
    reason: str = "",
) -> ChallengerChange:
    """Put ``version`` beside ``alias`` as its challenger in ``mode`` (``share``: the
    canary's share of keyed requests, more than 0 and less than 1), in place of
    ``expected_challenger`` (None: it has none) beside ``expected_version``, as the
    changer saw the alias; AliasMovedMeanwhile when it is not so now."""
    reason = _clean_reason(reason)
    if mode not in ChallengerMode.values:
        raise RegistryError(
            f"the mode must be one of {', '.join(ChallengerMode.values)}", field="mode"
        )
    share = _check_share(mode, share)
    current = _alias_locked(model, alias)
    _check_expected(current, version=expected_version, challenger=expected_challenger)
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
    _alias_compare_and_set(
        current,
        expected_version_id=expected_version.pk,
        expected_challenger_id=expected_challenger.pk if expected_challenger else None,
        challenger=version,
        challenger_mode=mode,
        challenger_share=share,
        updated_by=changed_by,
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


def _clear(current: ModelAlias, changed_by, *, version_id: int, challenger_id: int) -> None:
    _alias_compare_and_set(
        current,
        expected_version_id=version_id,
        expected_challenger_id=challenger_id,
        challenger=None,
        challenger_mode="",
        challenger_share=0.0,
        updated_by=changed_by,
    )


@transaction.atomic
def challenger_clear(
    *,
    model: RegisteredModel,
    alias: str,
    expected_challenger: ModelVersion,
    changed_by=None,
    reason: str = "",
) -> ChallengerChange:
    """Remove ``alias``'s challenger, ``expected_challenger`` (the one its changer saw);
    AliasMovedMeanwhile when it has another or none now."""
    reason = _clean_reason(reason)
    current = _alias_locked(model, alias)
    # A challenger promoted or removed since it was seen is a conflict, not a mistake.
    _check_expected(current, challenger=expected_challenger)
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
    _clear(current, changed_by, version_id=current.version_id, challenger_id=current.challenger_id)
    logger.info("challenger removed", extra={"model": model.name, "alias": alias})
    _changed(model)
    return change


@transaction.atomic
def challenger_promote(
    *,
    model: RegisteredModel,
    alias: str,
    expected_version: ModelVersion,
    expected_challenger: ModelVersion,
    evidence_rows: int,
    moved_by=None,
    reason: str = "",
    confirm_breaking: bool = False,
    second_person: bool = False,
) -> AliasMove:
    """The challenger becomes the alias's version, in one action: the alias moves to it
    (alias_move: a move that breaks clients needs ``confirm_breaking`` and a reason),
    the challenger is removed, and both are recorded. ``expected_version`` and
    ``expected_challenger``: the champion and the challenger the promoter compared;
    AliasMovedMeanwhile if either changed meanwhile (nothing moves).

    ``evidence_rows``: the live rows both had scored (serving.live.comparison.evidence_rows,
    the comparison's same rows). Fewer than MODEL_PROMOTION_MIN_ROWS need a written
    ``reason`` (issue 27: a challenger of 0 shadow rows was promoted with no warning);
    the count, and whether it was thin, are kept with the move.
    """
    reason = _clean_reason(reason)
    current = _alias_locked(model, alias)
    _check_expected(current, version=expected_version, challenger=expected_challenger)
    # alias_move refuses a thin promotion without a reason, after its breaking checks:
    # a promotion that is both hears of the breaking change first (409), then of both.
    thin = evidence_rows < settings.MODEL_PROMOTION_MIN_ROWS
    challenger, mode, share = current.challenger, current.challenger_mode, current.challenger_share
    try:
        move = alias_move(
            model=model,
            alias=alias,
            version=challenger,
            moved_by=moved_by,
            reason=reason,
            confirm_breaking=confirm_breaking,
            expected_current=current.version,
            evidence_rows=evidence_rows,
            thin_evidence=thin,
            second_person=second_person,
        )
    except AwaitsSecondPerson as waits:
        waits.kind = "promote"
        waits.params = {
            "expected_version": expected_version.pk,
            "expected_challenger": expected_challenger.pk,
            "evidence_rows": evidence_rows,
        }
        raise
    assert move is not None  # the challenger is never the champion (challenger_set)
    _clear(current, moved_by, version_id=challenger.pk, challenger_id=challenger.pk)
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
        extra={
            "model": model.name,
            "alias": alias,
            "version": challenger.version,
            "move": move.pk,
            "evidence_rows": evidence_rows,
            "thin_evidence": thin,
        },
    )
    return move
