"""Reads of the model registry."""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, QuerySet

from models_registry.errors import NotFound
from models_registry.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel

DEFAULT_ALIAS = "production"


def model_list() -> QuerySet[RegisteredModel]:
    """Every registered model with its version count, latest version and aliases."""
    return (
        RegisteredModel.objects.annotate(
            version_count=Count("versions", distinct=True),
            latest_version=Max("versions__version"),
        )
        .prefetch_related(
            Prefetch("aliases", queryset=ModelAlias.objects.select_related("version"))
        )
        .order_by("name")
    )


def model_detail(*, name: str) -> RegisteredModel:
    """One model with its versions (newest first) and aliases; NotFound if unknown."""
    model = (
        RegisteredModel.objects.filter(name=name)
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ModelVersion.objects.select_related("created_by").order_by("-version"),
            ),
            Prefetch("aliases", queryset=ModelAlias.objects.select_related("version")),
        )
        .first()
    )
    if model is None:
        raise NotFound(f"no model named {name!r}", field="name")
    return model


def version_get(
    *, model_name: str, alias: str | None = None, version: int | None = None
) -> ModelVersion:
    """The version named by number, or else by alias (``production`` by default).

    NotFound names what is missing: the model, the version or the alias.
    """
    if version is not None:
        found = (
            ModelVersion.objects.select_related("model", "created_by")
            .filter(model__name=model_name, version=version)
            .first()
        )
        if found is None:
            _require_model(model_name)
            raise NotFound(f"model {model_name!r} has no version {version}", field="version")
        return found
    alias = alias or DEFAULT_ALIAS
    row = (
        ModelAlias.objects.select_related("version__model", "version__created_by")
        .filter(model__name=model_name, name=alias)
        .first()
    )
    if row is None:
        _require_model(model_name)
        raise NotFound(f"model {model_name!r} has no alias {alias!r}", field="alias")
    return row.version


def _require_model(name: str) -> None:
    if not RegisteredModel.objects.filter(name=name).exists():
        raise NotFound(f"no model named {name!r}", field="name")


def aliased_versions(*, aliases: list[str]) -> list[tuple[str, ModelVersion]]:
    """(alias, version) for every model's alias among ``aliases`` (warm-up's list)."""
    rows = (
        ModelAlias.objects.filter(name__in=aliases)
        .select_related("version__model", "version__created_by")
        .order_by("model__name", "name")
    )
    return [(row.name, row.version) for row in rows]


def alias_history(*, model: RegisteredModel, limit: int = 50) -> QuerySet[AliasMove]:
    """The latest moves of ``model``'s aliases, newest first."""
    return (
        AliasMove.objects.filter(model=model)
        .select_related("from_version", "to_version", "moved_by")
        .order_by("-moved_at", "-id")[:limit]
    )


def alias_last_move(*, model: RegisteredModel, alias: str) -> AliasMove | None:
    """The last move of ``model``'s ``alias`` (what a rollback undoes), or None."""
    return (
        AliasMove.objects.filter(model=model, alias=alias)
        .select_related("from_version", "to_version", "moved_by")
        .order_by("-id")
        .first()
    )


def rollback_candidates(*, model: RegisteredModel) -> list[AliasMove]:
    """The last move of each alias of ``model`` that has a version to go back to."""
    moves = []
    for alias in ModelAlias.objects.filter(model=model).order_by("name"):
        last = alias_last_move(model=model, alias=alias.name)
        if last is not None and last.from_version_id is not None:
            moves.append(last)
    return moves


def alias_with_challenger(*, model_name: str, alias: str) -> ModelAlias | None:
    """The alias with its version and challenger (serving's routing), or None."""
    return (
        ModelAlias.objects.select_related("model", "version__model", "challenger__model")
        .filter(model__name=model_name, name=alias)
        .first()
    )
