"""Writes of the model registry: register a model version, move an alias; load a version.

Registration reads the whole file (models are megabytes), works out the framework, loads
it once to read its feature schema and check that it predicts, stores it by content
hash, and only then numbers the version in a short transaction. A file that fails any
step leaves no row behind (at most an unreferenced, content-addressed file).

Pickles (joblib) run code when they are loaded: they are refused before loading unless
an operator at the shell says ``--trust-pickle``, which is recorded on the version; no
other pickle is ever loaded, at registration or when serving. scikit-learn models come
as skops files instead, which load no code (models_registry.artifacts.loaders.SkopsPredictor).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from models_registry.artifacts import loaders, storage
from models_registry.domain import profiles, promotions
from models_registry.errors import (
    AliasMovedMeanwhile,
    AwaitsSecondPerson,
    BreakingMove,
    DuplicateVersion,
    NotFound,
    RegistryError,
)
from models_registry.models import (
    AliasMove,
    Framework,
    ModelAlias,
    ModelVersion,
    PickleTrust,
    RegisteredModel,
    Task,
)
from models_registry.signals import aliases_changed

logger = logging.getLogger(__name__)

AUTO = "auto"
FEATURE_TYPES = ("float", "int", "bool", "category")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_FEATURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")
NUMBERING_ATTEMPTS = 5
REASON_MAX = 300
# "Whatever the alias points at now": alias_move checks nothing about the current version.
ANY_CURRENT = object()


@dataclass(frozen=True)
class TrainingWindow:
    start: datetime | None
    end: datetime | None


def parse_features(spec: str | list[str] | None) -> list[dict[str, str]] | None:
    """``"rsi,hour:int"`` (or a list) into an ordered schema; None when not given."""
    if spec is None or spec == "" or spec == []:
        return None
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    schema: list[dict[str, str]] = []
    for item in (i.strip() for i in items):
        name, _, kind = item.partition(":")
        kind = kind.strip() or "float"
        if not _FEATURE_NAME.match(name):
            raise RegistryError(
                f"feature name {name!r} is not valid: letters, digits, _ . - (up to 100), "
                "starting with a letter or _",
                field="features",
            )
        if kind not in FEATURE_TYPES:
            raise RegistryError(
                f"feature {name!r} has type {kind!r}; use one of {', '.join(FEATURE_TYPES)}",
                field="features",
            )
        schema.append({"name": name, "type": kind})
    names = [f["name"] for f in schema]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RegistryError(f"feature(s) named twice: {', '.join(duplicates)}", field="features")
    return schema


def _feature_schema(info: loaders.ModelInfo, given: list[dict[str, str]] | None) -> list[dict]:
    """The model's own names win; given names must then agree with them."""
    if info.feature_names:
        types = info.feature_types or ["float"] * len(info.feature_names)
        own = [{"name": n, "type": t} for n, t in zip(info.feature_names, types, strict=True)]
        if given is not None and [f["name"] for f in given] != info.feature_names:
            raise RegistryError(
                "the given features differ from the names stored in the model "
                f"({', '.join(info.feature_names)}); leave --features out or match them",
                field="features",
            )
        schema = given if given is not None else own
        parse_features([f["name"] for f in schema])  # names the model carries must be valid too
        return schema
    if given is None:
        raise RegistryError(
            f"the model carries no feature names and none were given: pass its "
            f"{info.n_features} feature names in order (--features f1,f2,...)",
            field="features",
        )
    if len(given) != info.n_features:
        raise RegistryError(
            f"{len(given)} feature names given; the model takes {info.n_features}",
            field="features",
        )
    return given


def _check_metrics(metrics: dict | None) -> None:
    """RegistryError naming ``metrics`` for what PostgreSQL's jsonb cannot hold: NaN or
    infinite numbers, NUL characters and lone surrogates, in any value or key."""
    if metrics is None:
        return
    if not isinstance(metrics, dict):
        raise RegistryError("metrics must be a JSON object", field="metrics")
    pending: list[object] = [metrics]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise RegistryError(
                f"metrics hold {item}: use finite numbers (or leave the metric out)",
                field="metrics",
            )
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise RegistryError(
                    "metrics hold a lone surrogate, which is not valid Unicode", field="metrics"
                ) from None
            if "\x00" in item:
                raise RegistryError("metrics hold a NUL character", field="metrics")


PICKLE_REFUSED = (
    "a joblib (pickle) file runs code when it is loaded, so it is not accepted here: "
    "save a scikit-learn model with skops.io.dump (.skops) or export it to ONNX (.onnx)"
)


def _check_may_register(framework: str, created_by, trust_pickle: bool) -> None:
    """Pickles run code at load: only an operator at the shell who trusts one registers it.

    Checked before anything of the file is loaded.
    """
    if framework != Framework.SKLEARN_JOBLIB:
        return
    if created_by is not None:
        raise RegistryError(
            f"{PICKLE_REFUSED}; an operator who has reviewed the file can register it with "
            "manage.py register_model --trust-pickle",
            field="file",
        )
    if not trust_pickle:
        raise RegistryError(
            f"{PICKLE_REFUSED}, or pass --trust-pickle if you know where this file comes "
            "from and accept that it runs as the server",
            field="file",
        )


def model_register(
    *,
    name: str,
    data: bytes,
    filename: str,
    framework: str = AUTO,
    features: str | list[str] | list[dict] | None = None,
    alias: str | None = None,
    description: str = "",
    task: str | None = None,
    metrics: dict | None = None,
    training_window: TrainingWindow | None = None,
    created_by=None,
    trust_pickle: bool = False,
    reference=None,
    reference_source: str = "reference sample",
    confirm_breaking: bool = False,
    move_reason: str = "",
) -> ModelVersion:
    """Register ``data`` (a model file's bytes) as the next version of model ``name``.

    The model is created on its first version. ``created_by`` is the staff user (admin)
    or None (an operator's manage.py command). With ``alias``, the alias is moved to the
    new version in the same transaction (``move_reason`` recorded with it); a move that
    would break the alias's clients refuses the registration too (BreakingMove: nothing
    is registered) unless ``confirm_breaking`` with a ``move_reason``, as in alias_move.
    ``trust_pickle``: an operator (no ``created_by``) accepts that a joblib file runs
    code; nobody else can. The same
    bytes registered twice for one model are refused (DuplicateVersion): a double
    submit or a retry makes one version. ``reference``: rows of the training data (or
    a sample like it) in schema order, or the Path of such a CSV file, whose
    per-feature deciles are kept as the version's feature profile
    (models_registry.domain.profiles), the baseline of its drift.
    """
    name = name.strip()
    if not name or not _SLUG.match(name) or len(name) > 100:
        raise RegistryError(
            f"model name {name!r} must be a slug: letters, digits, - and _, up to 100",
            field="name",
        )
    if task is not None and task not in Task.values:
        raise RegistryError(f"task must be one of {', '.join(Task.values)}", field="task")
    _check_metrics(metrics)
    if alias is not None:
        _check_alias_name(alias)
        _clean_reason(move_reason)  # before the file is loaded
    try:
        framework = loaders.detect_framework(data, filename) if framework == AUTO else framework
    except loaders.LoadError as exc:
        raise RegistryError(str(exc), field="framework") from None
    if framework not in Framework.values:
        raise RegistryError(
            f"framework must be auto or one of {', '.join(Framework.values)}", field="framework"
        )
    _check_may_register(framework, created_by, trust_pickle)
    pickle_trusted = framework == Framework.SKLEARN_JOBLIB  # only past the check above
    if isinstance(features, list) and features and isinstance(features[0], dict):
        given = parse_features([f"{f['name']}:{f.get('type', 'float')}" for f in features])
    else:
        given = parse_features(features)  # type: ignore[arg-type]
    try:
        predictor = loaders.load(framework, data, pickle_trusted=pickle_trusted)
        info = predictor.info()
        loaders.check_predicts(predictor, info.n_features)
        unsafe = loaders.unsafe_tensor_name(predictor.signature())
    except loaders.LoadError as exc:
        raise RegistryError(f"{filename}: {exc}", field="file") from None
    if unsafe is not None:
        # An ONNX graph names its own tensors; a name holding protobuf-text syntax was
        # written into the exported config.pbtxt as configuration (issue 26, item 8).
        raise RegistryError(f"{filename}: {unsafe}; rename it in the model", field="file")
    schema = _feature_schema(info, given)
    profile = _profile(reference, [f["name"] for f in schema], reference_source)
    stored = storage.store_chunks([data], extension=loaders.extension_for(framework, filename))
    window = training_window or TrainingWindow(None, None)
    version = _create_version(
        name=name,
        task=task,
        model_description=description,
        fields={
            "framework": framework,
            "artifact_path": stored.path,
            "sha256": stored.sha256,
            "size": stored.size,
            "feature_schema": schema,
            "output_kind": info.output_kind,
            "metrics": metrics or {},
            "training_window_start": window.start,
            "training_window_end": window.end,
            "feature_profile": profile,
            "description": description,
            "pickle_trust": PickleTrust.OPERATOR if pickle_trusted else PickleTrust.NONE,
            "created_by": created_by,
        },
        alias=alias,
        move={"confirm_breaking": confirm_breaking, "reason": move_reason},
    )
    logger.info(
        "model version registered",
        extra={
            "model": name,
            "version": version.version,
            "framework": framework,
            "sha256": stored.sha256,
            "size": stored.size,
        },
    )
    return version


def _profile(reference, names: list[str], source: str) -> dict:
    """The profile of ``reference``: rows in schema order, or a CSV file's Path (its
    columns found by the feature names, once the schema is known)."""
    if reference is None:
        return {}
    try:
        if isinstance(reference, Path):
            reference = profiles.read_reference_csv(reference, names)
        return profiles.feature_profile(reference, names, source=source)
    except profiles.ProfileError as exc:
        raise RegistryError(f"reference: {exc}", field="reference") from None


def version_profile_set(*, version: ModelVersion, reference, source: str) -> ModelVersion:
    """Keep the feature profile of ``reference`` (rows in ``version``'s schema order) as
    its drift baseline, replacing any it had: for a version registered without its
    training data. The only change a version takes after registration."""
    profile = _profile(reference, version.feature_names, source)
    ModelVersion.objects.filter(pk=version.pk).update(feature_profile=profile)
    version.feature_profile = profile
    logger.info(
        "feature profile set",
        extra={"model": version.model.name, "version": version.version, "rows": profile["rows"]},
    )
    return version


def model_register_file(*, path: Path, **kwargs) -> ModelVersion:
    """model_register for a file on disk (the register_model command)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise RegistryError(f"{path} does not exist", field="path") from None
    except IsADirectoryError:
        raise RegistryError(f"{path} is a directory, not a model file", field="path") from None
    return model_register(data=data, filename=Path(path).name, **kwargs)


def _create_version(
    *,
    name: str,
    task: str | None,
    model_description: str,
    fields: dict,
    alias: str | None,
    move: dict,
) -> ModelVersion:
    """Number and save the version; retried if a concurrent registration took the number."""
    for attempt in range(NUMBERING_ATTEMPTS):
        try:
            with transaction.atomic():
                model, _ = RegisteredModel.objects.get_or_create(
                    name=name,
                    defaults={
                        "task": task or Task.BINARY_CLASSIFICATION,
                        "description": model_description,
                    },
                )
                # The numbering race: two registrations of one model read the same
                # Max(version). The row lock serialises them on PostgreSQL; SQLite
                # locks the whole database on write, and the unique constraint with
                # a retry covers anything else.
                model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
                # Under the lock: a double submit racing on two workers makes one version.
                _refuse_duplicate(model, fields["sha256"])
                last = model.versions.aggregate(last=Max("version"))["last"] or 0
                version = ModelVersion(model=model, version=last + 1, **fields)
                try:
                    version.full_clean(exclude=["model"], validate_constraints=False)
                except ValidationError as exc:
                    raise RegistryError("; ".join(exc.messages)) from None
                version.save()
                if alias is not None:
                    alias_move(
                        model=model,
                        alias=alias,
                        version=version,
                        moved_by=fields["created_by"],
                        **move,
                    )
                return version
        except IntegrityError:
            if attempt == NUMBERING_ATTEMPTS - 1:
                raise
            logger.info("version number taken concurrently; retrying", extra={"model": name})
    raise AssertionError("unreachable")


def _refuse_duplicate(model: RegisteredModel, sha256: str) -> None:
    existing = model.versions.filter(sha256=sha256).order_by("version").first()
    if existing is not None:
        raise DuplicateVersion(
            f"{model.name} already has this exact file as version {existing.version} "
            f"(sha256 {sha256[:12]}…): nothing was registered. To serve it, move an alias "
            f"to version {existing.version}",
            existing=existing,
        )


def _check_alias_name(alias: str) -> None:
    if not alias or not _SLUG.match(alias) or len(alias) > 50:
        raise RegistryError(
            f"alias {alias!r} must be a slug: letters, digits, - and _, up to 50", field="alias"
        )


def _clean_reason(reason: str) -> str:
    """A move's reason as stored, stripped; RegistryError naming ``reason`` for what
    PostgreSQL cannot hold or a history cannot show: more than REASON_MAX characters,
    control characters (NUL, line breaks), a lone surrogate."""
    if not isinstance(reason, str):
        raise RegistryError("the reason must be text", field="reason")
    text = reason.strip()
    if len(text) > REASON_MAX:
        raise RegistryError(
            f"the reason has {len(text):,} characters; at most {REASON_MAX}", field="reason"
        )
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise RegistryError(
            "the reason must be one line of text, without control characters such as NUL",
            field="reason",
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RegistryError(
            "the reason holds a lone surrogate, which is not valid Unicode", field="reason"
        ) from None
    return text


def _label(version: ModelVersion | None) -> str:
    return f"version {version.version}" if version is not None else "nowhere (a new alias)"


@transaction.atomic
def alias_move(
    *,
    model: RegisteredModel,
    alias: str,
    version: ModelVersion,
    moved_by=None,
    reason: str = "",
    confirm_breaking: bool = False,
    expected_current: ModelVersion | object | None = ANY_CURRENT,
    rollback_of: AliasMove | None = None,
    also_breaking: list[str] | tuple[str, ...] = (),
    evidence_rows: int | None = None,
    thin_evidence: bool = False,
    second_person: bool = False,
) -> AliasMove | None:
    """Point ``alias`` of ``model`` at ``version`` and record the move.

    Returns the AliasMove, or None when the alias already points there. A move after
    which requests the alias's current version accepts would fail or be misread
    (models_registry.domain.promotions.breaks_clients), or for one of ``also_breaking``'s
    reasons (a rollback to a version a rollback withdrew), is refused with BreakingMove
    unless ``confirm_breaking`` and a ``reason``; it is recorded as breaking, with its
    schema diff and those reasons. ``expected_current`` is the version (None: no alias
    yet) the mover reviewed: AliasMovedMeanwhile if the alias points elsewhere now.
    ``rollback_of``: the move this one undoes (alias_rollback). ``evidence_rows`` and
    ``thin_evidence``: a promotion's live rows (models_registry.challengers), kept with
    the move. Every worker serves the new version within a second (serving.predict.hotswap,
    told on commit). Four eyes: a breaking move a person (``moved_by``) confirmed raises
    AwaitsSecondPerson with settings.FOUR_EYES on, unless ``second_person`` (it is the
    confirmation of models_registry.four_eyes); commands (no person) move at once.
    """
    _check_alias_name(alias)
    reason = _clean_reason(reason)
    if version.model_id != model.pk:
        raise RegistryError(
            f"{version} belongs to another model than {model.name}", field="version"
        )
    # Serialises moves of one model's aliases, so that two staff moving `production`
    # at once record two moves with the right "from" each, not two from the same one;
    # and a move is checked against the version it really leaves.
    RegisteredModel.objects.select_for_update().get(pk=model.pk)
    current = ModelAlias.objects.filter(model=model, name=alias).select_related("version").first()
    if current is not None and current.version_id == version.pk:
        return None
    from_version = current.version if current is not None else None
    if expected_current is not ANY_CURRENT and from_version != expected_current:
        raise AliasMovedMeanwhile(
            f"{model.name}:{alias} points at {_label(from_version)} now, not at the "
            f"{_label(expected_current)} you reviewed: review the move again",
            field="version",
        )
    diff = promotions.schema_diff(
        from_version.feature_schema if from_version is not None else None,
        version.feature_schema,
    )
    breaking = promotions.breaks_clients(diff) + list(also_breaking)
    if breaking and not confirm_breaking:
        raise BreakingMove(
            f"moving {model.name}:{alias} from {_label(from_version)} to version "
            f"{version.version} would break its clients: {'; '.join(breaking)}. Move it "
            "only when they are ready, confirming with a reason",
            reasons=breaking,
        )
    if breaking and not reason:
        raise RegistryError(
            "a move that breaks clients needs a reason, which is recorded with it",
            field="reason",
        )
    if breaking and moved_by is not None and settings.FOUR_EYES and not second_person:
        raise AwaitsSecondPerson(
            f"moving {model.name}:{alias} to version {version.version} breaks its clients: "
            "it waits for a second person who may move aliases to confirm it",
            model=model,
            alias=alias,
            to_version=version,
            reason=reason,
            breaking=breaking,
            params={
                "version": version.pk,
                "expected_current": from_version.pk if from_version is not None else None,
            },
        )
    if thin_evidence and not reason:
        raise RegistryError(
            f"version {version.version} has scored {evidence_rows or 0:,} live row(s) beside "
            f"version {from_version.version if from_version else '-'}, fewer than the "
            f"{settings.MODEL_PROMOTION_MIN_ROWS:,} a promotion rests on "
            "(MODEL_PROMOTION_MIN_ROWS): promote it only with a written reason, which is "
            "kept with the move",
            field="reason",
        )
    if not reason and rollback_of is not None:
        reason = f"rollback of move #{rollback_of.pk}"
    if current is None:
        # Two moves creating one alias: the unique (model, name) refuses the second.
        ModelAlias.objects.create(model=model, name=alias, version=version, updated_by=moved_by)
    else:
        _alias_compare_and_set(
            current,
            expected_version_id=current.version_id,
            version=version,
            updated_by=moved_by,
        )
    move = AliasMove.objects.create(
        model=model,
        alias=alias,
        from_version=from_version,
        to_version=version,
        moved_by=moved_by,
        reason=reason,
        breaking=bool(breaking),
        schema_diff={**diff.as_json(), "breaking": breaking} if from_version else {},
        rollback_of=rollback_of,
        evidence_rows=evidence_rows,
        thin_evidence=thin_evidence,
    )
    logger.info(
        "alias moved",
        extra={
            "model": model.name,
            "alias": alias,
            "from_version": from_version.version if from_version else None,
            "to_version": version.version,
            "moved_by": str(moved_by) if moved_by else "operator",
            "breaking": bool(breaking),
            "rollback_of": rollback_of.pk if rollback_of else None,
        },
    )
    transaction.on_commit(lambda: aliases_changed.send(sender=ModelAlias, model=model.name))
    return move


def _alias_compare_and_set(
    current: ModelAlias, *, expected_version_id: int, expected_challenger_id=ANY_CURRENT, **fields
) -> None:
    """Write ``fields`` to the alias row only if it still holds what the change was
    decided on: ``expected_version_id`` (and ``expected_challenger_id``, None for no
    challenger); AliasMovedMeanwhile otherwise, nothing written.

    The lost-rollback race (issue 26, item 4): two rollbacks clicked at once each
    undid "the last move", so the second undid the first and production ended on the
    version being rolled back. The services take the model's row lock and check what
    the mover named before deciding; this conditional update is the compare-and-set on
    the alias row itself, whose row count tells whether the alias still was where the
    decision was made, whatever else writes it.
    """
    match = {"pk": current.pk, "version_id": expected_version_id}
    if expected_challenger_id is not ANY_CURRENT:
        match["challenger_id"] = expected_challenger_id
    written = ModelAlias.objects.filter(**match).update(**fields, updated_at=timezone.now())
    if written != 1:
        raise AliasMovedMeanwhile(
            f"{current.model.name}:{current.name} changed while this change was being made: "
            "nothing was changed; look at it again",
            field="alias",
        )
    for name, value in fields.items():
        setattr(current, name, value)


@transaction.atomic
def alias_rollback(
    *,
    model: RegisteredModel,
    alias: str,
    expected_move: int,
    moved_by=None,
    reason: str = "",
    confirm_breaking: bool = False,
    second_person: bool = False,
) -> AliasMove:
    """Point ``alias`` back at the version it left on its last move, move
    ``expected_move`` (the id of the move the mover undoes: the last one they saw).

    AliasMovedMeanwhile when the alias moved since: two rollbacks clicked at once roll
    back once, never the second undoing the first (issue 26, item 4). Recorded as a
    move with ``reason`` ("rollback of move #N" when none is given) and
    ``rollback_of``. A rollback that breaks clients needs ``confirm_breaking`` and a
    reason of the mover's, as any move (alias_move), and so does one that undoes a
    rollback: it goes back to the version that rollback withdrew (rollback_withdrawn).
    """
    _check_alias_name(alias)
    reason = _clean_reason(reason)
    RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if not ModelAlias.objects.filter(model=model, name=alias).exists():
        raise NotFound(f"model {model.name!r} has no alias {alias!r}", field="alias")
    last = (
        AliasMove.objects.filter(model=model, alias=alias)
        .select_related("from_version", "to_version")
        .order_by("-id")
        .first()
    )
    if last is None or last.from_version is None:
        made = f" (move #{last.pk})" if last is not None else ""
        raise RegistryError(
            f"{model.name}:{alias} was created by its last move{made}: there is no "
            "earlier version to roll back to",
            field="alias",
        )
    if last.pk != expected_move:
        raise AliasMovedMeanwhile(
            f"{model.name}:{alias} moved again since you reviewed the rollback (its last "
            f"move is #{last.pk} now, not #{expected_move}): review it again",
            field="move",
        )
    try:
        move = alias_move(
            model=model,
            alias=alias,
            version=last.from_version,
            moved_by=moved_by,
            reason=reason,
            confirm_breaking=confirm_breaking,
            expected_current=last.to_version,
            rollback_of=last,
            also_breaking=rollback_withdrawn(last),
            second_person=second_person,
        )
    except AwaitsSecondPerson as waits:
        waits.kind, waits.params = "rollback", {"expected_move": expected_move}
        raise
    assert move is not None  # the last move went from one version to another
    return move


def rollback_withdrawn(last: AliasMove) -> list[str]:
    """Why rolling back ``last`` needs the confirmation of a breaking move although the
    schema may not change: ``last`` is itself a rollback, so rolling it back puts the
    alias on the version that rollback withdrew (issue 27: after a rollback, the page
    offered the version that broke clients in one click). Empty otherwise."""
    if last.rollback_of_id is None or last.from_version is None:
        return []
    why = f" (\u201c{last.reason}\u201d)" if last.reason else ""
    return [
        f"version {last.from_version.version} was withdrawn by rollback #{last.pk}{why}: "
        f"rolling that back serves version {last.from_version.version} again"
    ]


def predictor_load(
    *,
    framework: str,
    artifact_path: str,
    sha256: str,
    size: int,
    pickle_trusted: bool,
    threads: int = 1,
) -> loaders.Predictor:
    """Load a registered version: from the artifact root, with its hash checked first.

    ``pickle_trusted`` is the version's ``pickle_trusted``: a joblib version without it
    is refused before its file is even read. Raises storage.ArtifactError (missing,
    outside the root, changed) or loaders.LoadError (the bytes do not load, an untrusted
    pickle); the caller keeps serving other models.
    """
    if framework == Framework.SKLEARN_JOBLIB and not pickle_trusted:
        raise loaders.UntrustedPickle(
            "a joblib (pickle) file runs code when it is loaded, and no operator trusted "
            "this one (manage.py register_model --trust-pickle): never loaded"
        )
    data = storage.read_verified(artifact_path, sha256=sha256, size=size)
    return loaders.load(framework, data, threads=threads, pickle_trusted=pickle_trusted)
