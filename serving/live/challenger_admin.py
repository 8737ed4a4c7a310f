"""The admin's champion-and-challenger pages (models_registry.challengers,
serving.live.comparison).

  set a challenger   /admin/serving/modelhealth/challenger/set/<model id>/
  compare            /admin/serving/modelhealth/challenger/<alias id>/
                     with Promote, Remove and (after a promotion) Roll back

Setting, removing, promoting and rolling back take the permission to move aliases
(models_registry.change_modelalias); the comparison is seen by whoever may see the
registry's versions (as the model-health list).

Each form carries what its page showed (the alias's version and challenger; the move a
rollback undoes), and the registry refuses a change made on a stale page
(AliasMovedMeanwhile), shown above the form: nothing changes unseen.

Promotion needs evidence (issue 27): the page says how many rows or trades back each
figure, and how many live rows both versions scored; a promotion on fewer than
MODEL_PROMOTION_MIN_ROWS needs a written reason, which the move keeps and the history
shows. A rollback offered here says when it needs the confirmation of a breaking move
(models_registry.admin.moves.rollback_offer).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from backoffice.core.forms import PlainFloatField, PlainIntegerField
from models_registry import selectors
from models_registry.admin.forms import BREAKING_LABEL, REASON_HELP
from models_registry.admin.moves import MOVE_PERMISSION, may_move_aliases, rollback_offer
from models_registry.challengers import challenger_clear, challenger_promote, challenger_set
from models_registry.domain import promotions
from models_registry.errors import AliasMovedMeanwhile, AwaitsSecondPerson, RegistryError
from models_registry.models import (
    ChallengerChange,
    ChallengerMode,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from models_registry.services import REASON_MAX
from serving.live.calibration_chart import calibration_svg
from serving.live.comparison import compare, evidence_rows

VIEW_PERMISSION = "models_registry.view_modelversion"


def _reason_field(help_text: str = REASON_HELP) -> forms.CharField:
    return forms.CharField(
        max_length=REASON_MAX,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )


def aliases_seen(model: RegisteredModel) -> str:
    """What the set page shows of each alias: ``name:version pk:challenger pk`` joined by
    ``;`` (the challenger empty for none), posted back with the form."""
    return ";".join(
        f"{a.name}:{a.version_id}:{a.challenger_id or ''}" for a in model.aliases.order_by("name")
    )


class ChallengerSetForm(forms.Form):
    alias = forms.ChoiceField()
    version = forms.ModelChoiceField(queryset=ModelVersion.objects.none(), label="challenger")
    # aliases_seen() of the page the choice was made on.
    seen = forms.CharField(widget=forms.HiddenInput, max_length=20_000)
    mode = forms.ChoiceField(choices=ChallengerMode.choices, initial=ChallengerMode.SHADOW)
    share = PlainFloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Canary only: the share of keyed requests (X-Routing-Key) the challenger "
        "answers, e.g. 0.1 for a tenth.",
    )
    reason = _reason_field("Recorded with the change.")

    def __init__(self, *args, model: RegisteredModel, **kwargs):
        super().__init__(*args, **kwargs)
        self.model = model
        self.fields["alias"].choices = [(a.name, a.name) for a in model.aliases.order_by("name")]
        self.fields["version"].queryset = model.versions.order_by("-version")
        self.fields["seen"].initial = aliases_seen(model)

    def clean(self):
        """``expected_version`` and ``expected_challenger``: the chosen alias as the page
        showed it."""
        data = super().clean()
        alias, seen = data.get("alias"), data.get("seen")
        if alias is None or seen is None:
            return data
        shown = {}
        for item in seen.split(";"):
            name, _, rest = item.partition(":")
            version, _, challenger = rest.partition(":")
            shown[name] = (version, challenger)
        version, challenger = shown.get(alias, ("", ""))
        versions = {str(v.pk): v for v in self.model.versions.all()}
        if version not in versions or (challenger and challenger not in versions):
            raise forms.ValidationError(
                f"{alias} was not on the page you chose it on: look at it again"
            )
        data["expected_version"] = versions[version]
        data["expected_challenger"] = versions[challenger] if challenger else None
        return data


def _shown_version(model: RegisteredModel, pk: int) -> ModelVersion:
    """The version of ``model`` a page showed (a hidden field's pk)."""
    found = ModelVersion.objects.filter(pk=pk, model=model).first()
    if found is None:
        raise RegistryError("the page showed a version this model does not have: reload it")
    return found


class PromoteForm(forms.Form):
    challenger = PlainIntegerField(widget=forms.HiddenInput, min_value=1)
    champion = PlainIntegerField(widget=forms.HiddenInput, min_value=1)
    reason = _reason_field()
    confirm_breaking = forms.BooleanField(required=False, label=BREAKING_LABEL)


class RemoveForm(forms.Form):
    challenger = PlainIntegerField(widget=forms.HiddenInput, min_value=1)
    reason = _reason_field("Recorded with the change.")


def _context(model_admin, request, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def set_view(model_admin, request, model_id):
    model = get_object_or_404(RegisteredModel, pk=model_id)
    if not may_move_aliases(request.user):
        raise PermissionDenied
    form = ChallengerSetForm(request.POST or None, model=model)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            challenger_set(
                model=model,
                alias=data["alias"],
                version=data["version"],
                mode=data["mode"],
                share=data["share"] if data["share"] is not None else 0.0,
                expected_version=data["expected_version"],
                expected_challenger=data["expected_challenger"],
                changed_by=request.user,
                reason=data["reason"],
            )
        except AliasMovedMeanwhile as exc:
            form.add_error(None, str(exc))
            # The page shows the aliases as they are now: choosing again acts on that.
            form.data = form.data.copy()
            form.data["seen"] = aliases_seen(model)
        except RegistryError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, str(exc))
        else:
            alias = ModelAlias.objects.get(model=model, name=data["alias"])
            model_admin.message_user(
                request,
                f"{model.name}:{alias.name} has version {data['version'].version} as its "
                f"{data['mode']} challenger.",
                messages.SUCCESS,
            )
            return redirect("admin:serving_modelhealth_compare", alias.pk)
    return TemplateResponse(
        request,
        "admin/serving/challenger_set.html",
        _context(
            model_admin, request, form=form, model=model, title=f"Set a challenger of {model.name}"
        ),
    )


def compare_view(model_admin, request, alias_id):
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    alias = get_object_or_404(
        ModelAlias.objects.select_related("model", "version__model", "challenger__model"),
        pk=alias_id,
    )
    may_act = request.user.has_perm(MOVE_PERMISSION)
    promote_form = PromoteForm(prefix="promote")
    remove_form = RemoveForm(prefix="remove")
    if request.method == "POST":
        if not may_act:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "promote":
            promote_form = PromoteForm(request.POST, prefix="promote")
            if promote_form.is_valid():
                data = promote_form.cleaned_data
                try:
                    champion = _shown_version(alias.model, data["champion"])
                    challenger = _shown_version(alias.model, data["challenger"])
                    move = challenger_promote(
                        model=alias.model,
                        alias=alias.name,
                        moved_by=request.user,
                        reason=data["reason"],
                        confirm_breaking=data["confirm_breaking"],
                        expected_version=champion,
                        expected_challenger=challenger,
                        evidence_rows=evidence_rows(champion=champion, challenger=challenger),
                    )
                except AwaitsSecondPerson as waits:
                    from models_registry.four_eyes import breaking_move_request

                    kept = breaking_move_request(waits, user=request.user)
                    model_admin.message_user(
                        request,
                        f"{waits} (request #{kept.pk}); the challenger stays until then.",
                        messages.WARNING,
                    )
                    return redirect(request.path)
                except RegistryError as exc:
                    field = exc.field if exc.field in ("reason", "confirm_breaking") else None
                    promote_form.add_error(field, str(exc))
                    if getattr(exc, "reasons", None):
                        promote_form.breaking = exc.reasons
                else:
                    thin = (
                        " (fewer than the minimum: your reason is kept)"
                        if (move.thin_evidence)
                        else ""
                    )
                    model_admin.message_user(
                        request,
                        f"{alias.model.name}:{alias.name} now points at version "
                        f"{move.to_version.version} (move #{move.pk}), promoted on "
                        f"{move.evidence_rows:,} live row(s){thin}; roll back below if it "
                        "goes wrong.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:serving_modelhealth_compare", alias.pk)
        elif action == "remove":
            remove_form = RemoveForm(request.POST, prefix="remove")
            if remove_form.is_valid():
                data = remove_form.cleaned_data
                try:
                    challenger_clear(
                        model=alias.model,
                        alias=alias.name,
                        expected_challenger=_shown_version(alias.model, data["challenger"]),
                        changed_by=request.user,
                        reason=data["reason"],
                    )
                except RegistryError as exc:
                    remove_form.add_error(None, str(exc))
                else:
                    model_admin.message_user(
                        request,
                        f"{alias.model.name}:{alias.name} has no challenger now.",
                        messages.SUCCESS,
                    )
                    return redirect("admin:serving_modelhealth_compare", alias.pk)
        alias.refresh_from_db()
    comparison = compare(alias=alias) if alias.challenger_id else None
    charts = {}
    if comparison is not None:
        for side in ("champion", "challenger"):
            calib = getattr(comparison, side).calibration
            charts[side] = (
                mark_safe(calibration_svg(calib))  # noqa: S308 - serving.live.calibration_chart escapes its text
                if calib is not None and calib.trades
                else ""
            )
    breaking = []
    if alias.challenger_id:
        breaking = promotions.breaks_clients(
            promotions.schema_diff(alias.version.feature_schema, alias.challenger.feature_schema)
        )
    last_move = selectors.alias_last_move(model=alias.model, alias=alias.name)
    rollback = None
    if may_act and last_move is not None:
        rollback = rollback_offer(model=alias.model, last=last_move, current=alias.version)
    changes = ChallengerChange.objects.filter(model=alias.model, alias=alias.name).select_related(
        "version", "changed_by", "move"
    )[:20]
    evidence = None
    if comparison is not None:
        minimum = settings.MODEL_PROMOTION_MIN_ROWS
        rows = comparison.same_rows.rows
        evidence = {"rows": rows, "minimum": minimum, "thin": rows < minimum}
    title = f"Champion and challenger: {alias.model.name}:{alias.name}"
    return TemplateResponse(
        request,
        "admin/serving/challenger_compare.html",
        _context(
            model_admin,
            request,
            title=title,
            alias=alias,
            c=comparison,
            rows=side_by_side(comparison) if comparison else [],
            agreement=_pct(comparison.same_rows.agreement) if comparison else "—",
            charts=charts,
            may_act=may_act,
            breaking=getattr(promote_form, "breaking", None) or breaking,
            promote_form=promote_form,
            remove_form=remove_form,
            last_move=last_move,
            rollback=rollback,
            evidence=evidence,
            changes=changes,
            set_url=reverse("admin:serving_modelhealth_challenger_set", args=[alias.model_id]),
        ),
    )


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def side_by_side(comparison) -> list[tuple[str, str, str, str, str]]:
    """The comparison's rows: (figure, champion, what backs it, challenger, what backs
    it), formatted: each figure says how many trades, requests or rows it rests on."""

    def row(label, get, basis=lambda p: ""):
        return (
            label,
            get(comparison.champion),
            basis(comparison.champion),
            get(comparison.challenger),
            basis(comparison.challenger),
        )

    def counted(count, what: str) -> str:
        return f"{count:,.0f} {what}" if count is not None else ""

    def trades(p):
        return counted(p.trades.trades, "trades")

    def with_stop(p):
        return counted(p.trades.trades_with_stop, "trades with a stop")

    def calibrated(p):
        return "" if p.calibration is None else counted(p.calibration.trades, "trades")

    def records(p):
        return counted(p.volume.recorded, "records")

    def drift_rows(p):
        return counted(p.drift.live_rows, "live rows") if p.drift.known else ""

    def brier(p):
        return "—" if p.calibration is None else _num(p.calibration.brier, 4)

    def ece(p):
        return "—" if p.calibration is None else _num(p.calibration.ece, 3)

    def latency(p):
        v = p.volume
        if v.latency_p50_ms is None:
            return "—"
        return f"{v.latency_p50_ms:.2f} / {v.latency_p99_ms:.2f}"

    def drift(p):
        d = p.drift
        if not d.known or d.max_psi is None:
            return "unknown"
        return f"{d.max_psi:.3f} ({d.worst_feature})"

    same = {
        id(comparison.champion): comparison.champion_same_trades,
        id(comparison.challenger): comparison.challenger_same_trades,
    }

    def same_trades(p):
        calib = same[id(p)]
        return "—" if calib is None else str(calib.trades)

    def same_brier(p):
        calib = same[id(p)]
        return "—" if calib is None else _num(calib.brier, 4)

    def same_ece(p):
        calib = same[id(p)]
        return "—" if calib is None else _num(calib.ece, 3)

    def same_basis(p):
        calib = same[id(p)]
        return "" if calib is None else counted(calib.trades, "trades")

    return [
        row("version", lambda p: str(p.version)),
        row("trades of rows both scored", same_trades),
        row("Brier score on those trades", same_brier, same_basis),
        row("calibration error on those trades", same_ece, same_basis),
        row("trades from its answers", lambda p: str(p.trades.trades)),
        row("win rate", lambda p: _pct(p.trades.win_rate), trades),
        row("net P&L", lambda p: _num(p.trades.net_pnl, 2), trades),
        row("expectancy", lambda p: _num(p.trades.expectancy, 2), trades),
        row("average R", lambda p: _num(p.trades.average_r, 2), with_stop),
        row(
            "calibration trades",
            lambda p: "—" if p.calibration is None else str(p.calibration.trades),
        ),
        row("Brier score", brier, calibrated),
        row("calibration error", ece, calibrated),
        row("recorded requests (answers and shadows)", lambda p: f"{p.volume.requests:,.0f}"),
        row("latency p50 / p99 ms", latency, records),
        row("worst drift (PSI)", drift, drift_rows),
        row("past the thresholds", lambda p: ", ".join(p.marks) or "none"),
    ]
