"""The registry admin's alias moves and rollbacks.

Both show, before anything moves, what the move changes for the alias's clients: the
feature-schema diff of the version it leaves and the one it goes to, and every metric's
change with drops marked (models_registry.domain.promotions). A move that breaks clients is
refused by the service unless the page's "move it anyway" box is ticked and a reason
given; the refusal is shown on the same page, beside the diff. Only staff who may change
aliases reach these views.

A rollback is offered with what it needs: the confirmation of a breaking move when its
schema change breaks clients, or when it undoes a rollback and so serves again the
version that rollback withdrew (issue 27: after a rollback, the page offered "Roll back
production to v2", the version that broke clients, as a plain button).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from backoffice.core.formatting import number
from models_registry import selectors
from models_registry.admin.forms import AliasMoveForm, AliasRollbackForm
from models_registry.domain import promotions
from models_registry.errors import AliasMovedMeanwhile, AwaitsSecondPerson, RegistryError
from models_registry.models import AliasMove, ModelAlias, ModelVersion, RegisteredModel
from models_registry.services import alias_move, alias_rollback, rollback_withdrawn

MOVE_PERMISSION = "models_registry.change_modelalias"
METRIC_DECIMALS = 4
# Numbers from here on are shown as 1.2345e+15 (and beyond Decimal's default precision).
LARGE = 10**15
VERDICTS = {
    promotions.BETTER: ("▲ better", "metric-better"),
    promotions.WORSE: ("▼ worse", "metric-worse"),
    promotions.UNCHANGED: ("= unchanged", "metric-same"),
    None: ("", ""),
}


def may_move_aliases(user) -> bool:
    return user.has_perm(MOVE_PERMISSION)


def _formatted(value: int | float, *, whole: bool, signed: bool = False) -> str:
    """A number with METRIC_DECIMALS (none when ``whole``) and thousands separators;
    scientific notation beyond LARGE and for tiny fractions, which decimals would hide."""
    sign = "+" if signed else ""
    if abs(value) >= LARGE:
        return f"{Decimal(value):{sign}.{METRIC_DECIMALS}e}"
    if not whole and value and abs(value) < 10**-METRIC_DECIMALS:
        return f"{value:{sign}.2e}"
    return number(value, 0 if whole else METRIC_DECIMALS, signed=signed)


def metric_value(value) -> str:
    """A metric as people read it: 0.7712, 1,200, text as text; "—" when absent."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return _formatted(value, whole=True)
    if isinstance(value, float):
        return _formatted(value, whole=False) if math.isfinite(value) else "not a number"
    if isinstance(value, str):
        return value
    return "(not a number)"


def metric_delta(change: promotions.MetricChange) -> str:
    if change.delta is None:
        return ""
    whole = isinstance(change.old, int) and isinstance(change.new, int)
    return _formatted(change.delta, whole=whole, signed=True)


@dataclass(frozen=True)
class MetricRow:
    name: str
    old: str
    new: str
    delta: str
    verdict: str
    css: str


@dataclass(frozen=True)
class SchemaRow:
    change: str  # in words: removed, added (required), type changed, moved
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class Review:
    """What a move of ``alias`` from ``current`` to ``target`` changes for its clients."""

    model: RegisteredModel
    alias: str
    current: ModelVersion | None
    target: ModelVersion
    diff: promotions.SchemaDiff
    breaking: list[str]
    schema_rows: list[SchemaRow]
    metric_rows: list[MetricRow]

    @property
    def drops(self) -> list[str]:
        return [row.name for row in self.metric_rows if row.css == "metric-worse"]


def _column(feature_type: str, position: int) -> str:
    return f"{feature_type}, column {position}"


def schema_rows(old: list[dict], new: list[dict], diff: promotions.SchemaDiff) -> list[SchemaRow]:
    old_at = {f["name"]: i for i, f in enumerate(old)}
    new_at = {f["name"]: i for i, f in enumerate(new)}
    rows = [
        SchemaRow("removed", f["name"], _column(f["type"], old_at[f["name"]]), "—")
        for f in diff.removed
    ]
    rows += [
        SchemaRow("added (required)", f["name"], "—", _column(f["type"], new_at[f["name"]]))
        for f in diff.added
    ]
    rows += [SchemaRow("type changed", r.name, r.old_type, r.new_type) for r in diff.retyped]
    rows += [
        SchemaRow("moved", m.name, f"column {m.old_position}", f"column {m.new_position}")
        for m in diff.reordered
    ]
    return rows


def review(
    *, model: RegisteredModel, alias: str, current: ModelVersion | None, target: ModelVersion
) -> Review:
    old_schema = current.feature_schema if current is not None else None
    diff = promotions.schema_diff(old_schema, target.feature_schema)
    metric_rows = []
    for change in promotions.metric_changes(
        current.metrics if current is not None else {}, target.metrics
    ):
        verdict, css = VERDICTS[change.verdict]
        metric_rows.append(
            MetricRow(
                change.name,
                metric_value(change.old),
                metric_value(change.new),
                metric_delta(change),
                verdict,
                css,
            )
        )
    return Review(
        model=model,
        alias=alias,
        current=current,
        target=target,
        diff=diff,
        breaking=promotions.breaks_clients(diff),
        schema_rows=schema_rows(old_schema or [], target.feature_schema, diff),
        metric_rows=metric_rows,
    )


def _current_version(model: RegisteredModel, alias: str) -> ModelVersion | None:
    row = ModelAlias.objects.filter(model=model, name=alias).select_related("version").first()
    return row.version if row is not None else None


def _context(model_admin, request, model: RegisteredModel, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "original": model,
        **extra,
    }


def move_alias_view(model_admin, request, object_id):
    """Step 1 chooses alias and version; step 2 reviews and confirms; then it moves."""
    model = get_object_or_404(RegisteredModel, pk=object_id)
    if not may_move_aliases(request.user):
        raise PermissionDenied
    form = AliasMoveForm(request.POST or None, model=model)
    context = _context(
        model_admin,
        request,
        model,
        form=form,
        step_fields=[form["alias"], form["version"], form["reason"]],
        title=f"Move an alias of {model}",
    )
    valid = request.method == "POST" and form.is_valid()
    confirming = request.POST.get("confirm") == "yes"
    chosen = valid or (confirming and {"alias", "version"} <= set(form.cleaned_data))
    if not chosen:
        return TemplateResponse(request, "admin/models_registry/move_alias.html", context)
    alias, target = form.cleaned_data["alias"], form.cleaned_data["version"]
    current = _current_version(model, alias)
    if valid and confirming:
        try:
            move = alias_move(
                model=model,
                alias=alias,
                version=target,
                moved_by=request.user,
                reason=form.cleaned_data["reason"],
                confirm_breaking=form.cleaned_data["confirm_breaking"],
                expected_current=form.cleaned_data["current"],
            )
        except AwaitsSecondPerson as waits:
            return _waits(model_admin, request, model, waits)
        except AliasMovedMeanwhile as exc:
            form.add_error(None, str(exc))
            current = _current_version(model, alias)  # review against what is there now
        except RegistryError as exc:
            form.add_error(_form_field(exc), str(exc))
        else:
            text = _moved_message(model, alias, target, move)
            model_admin.message_user(request, text, messages.SUCCESS)
            return redirect("admin:models_registry_registeredmodel_change", model.pk)
    context.update(
        title=f"Confirm: move {model.name}:{alias}",
        review=review(model=model, alias=alias, current=current, target=target),
        current_token=current.pk if current is not None else "new",
    )
    return TemplateResponse(request, "admin/models_registry/move_alias_confirm.html", context)


def _waits(model_admin, request, model, waits: AwaitsSecondPerson):
    """Four eyes: the breaking move is kept for a second person; back to the model."""
    from models_registry.four_eyes import breaking_move_request

    kept = breaking_move_request(waits, user=request.user)
    model_admin.message_user(
        request,
        f"{waits} (request #{kept.pk}); {model.name}:{waits.alias} stays where it is until then.",
        messages.WARNING,
    )
    return redirect("admin:models_registry_registeredmodel_change", model.pk)


def _form_field(exc: RegistryError) -> str | None:
    """The confirmation's field a refusal belongs to (else it is shown above the form)."""
    return exc.field if exc.field in ("reason", "confirm_breaking") else None


def _moved_message(model, alias, target, move) -> str:
    if move is None:
        return f"{model.name}:{alias} already pointed there."
    breaking = " (a breaking move, confirmed)" if move.breaking else ""
    return f"{model.name}:{alias} now points at version {target.version}{breaking}."


def rollback_view(model_admin, request, object_id, alias):
    """Review a rollback of ``alias`` to the version before its last move; confirm it."""
    model = get_object_or_404(RegisteredModel, pk=object_id)
    if not may_move_aliases(request.user):
        raise PermissionDenied
    form = AliasRollbackForm(request.POST or None)
    last = selectors.alias_last_move(model=model, alias=alias)
    if request.method == "POST" and form.is_valid():
        try:
            move = alias_rollback(
                model=model,
                alias=alias,
                moved_by=request.user,
                reason=form.cleaned_data["reason"],
                confirm_breaking=form.cleaned_data["confirm_breaking"],
                expected_move=form.cleaned_data["move"],
            )
        except AwaitsSecondPerson as waits:
            return _waits(model_admin, request, model, waits)
        except RegistryError as exc:
            form.add_error(_form_field(exc), str(exc))
        else:
            model_admin.message_user(
                request,
                f"{model.name}:{alias} rolled back from version {move.from_version.version} "
                f"to version {move.to_version.version} (move #{move.pk}, undoing "
                f"#{move.rollback_of_id}).",
                messages.SUCCESS,
            )
            return redirect("admin:models_registry_registeredmodel_change", model.pk)
    context = _context(
        model_admin,
        request,
        model,
        form=form,
        alias=alias,
        last=last,
        title=f"Roll back {model.name}:{alias}",
    )
    current = _current_version(model, alias)
    if last is not None and last.from_version is not None and current is not None:
        context["review"] = review(
            model=model, alias=alias, current=current, target=last.from_version
        )
        context["withdrawn"] = rollback_withdrawn(last)
    return TemplateResponse(request, "admin/models_registry/rollback_confirm.html", context)


def rollback_offer(
    *, model: RegisteredModel, last: AliasMove, current: ModelVersion | None
) -> dict | None:
    """A "Roll back" button for ``last`` (an alias's last move), or None when it created
    the alias: the version it goes back to, its page, and ``confirm``: why it needs the
    confirmation of a breaking move (the schema change breaks clients; it serves again
    a version a rollback withdrew), empty when it needs none."""
    if last.from_version is None:
        return None
    target = last.from_version
    breaking = []
    if current is not None:
        breaking = promotions.breaks_clients(
            promotions.schema_diff(current.feature_schema, target.feature_schema)
        )
    return {
        "alias": last.alias,
        "version": target.version,
        "move": last.pk,
        "confirm": breaking + rollback_withdrawn(last),
        "url": reverse(
            "admin:models_registry_registeredmodel_rollback", args=[model.pk, last.alias]
        ),
    }


def rollback_links(request, model: RegisteredModel) -> list[dict]:
    """The model page's "Roll back" buttons: one per alias that has a version to go back
    to, for staff who may move aliases, each saying when it needs a confirmation."""
    if not may_move_aliases(request.user):
        return []
    current = {
        alias.name: alias.version
        for alias in ModelAlias.objects.filter(model=model).select_related("version")
    }
    offers = (
        rollback_offer(model=model, last=move, current=current.get(move.alias))
        for move in selectors.rollback_candidates(model=model)
    )
    return [offer for offer in offers if offer is not None]
