"""Registry admin: upload a model file, read versions, schema and metrics, move aliases.

Versions and alias moves are records: nothing here edits or deletes them. Uploading is a
view of its own (the model version's "add" page): a plain form checks the input, then
the registry's service registers the file once. Moving an alias goes through a
confirmation page that shows the version it leaves and the one it goes to.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from backoffice.core import admin_links, extensions
from backoffice.core.admin_links import ChainReadable
from backoffice.core.admin_site import ModelAdmin
from backoffice.core.formatting import when
from backoffice.core.four_eyes_admin import FourEyesRequestAdmin
from models_registry import selectors
from models_registry.admin import moves as admin_moves
from models_registry.admin.forms import ModelUploadForm
from models_registry.artifacts import native
from models_registry.errors import DuplicateVersion, RegistryError
from models_registry.four_eyes import (
    MOVE_PERMISSION,
    breaking_move_confirm,
    breaking_move_decline,
)
from models_registry.models import (
    AliasMove,
    BreakingMoveRequest,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from models_registry.services import model_register

# -- versions -------------------------------------------------------------------------------


def schema_table(version: ModelVersion):
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
        ((i, f["name"], f["type"]) for i, f in enumerate(version.feature_schema)),
    )
    return format_html("<table><tr><th>#</th><th>feature</th><th>type</th></tr>{}</table>", rows)


# Metric names as people say them; others with spaces for underscores.
METRIC_LABELS = {"auc": "AUC", "logloss": "log loss", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, str(name).replace("_", " "))


def metrics_table(version: ModelVersion):
    if not version.metrics or not isinstance(version.metrics, dict):
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td></tr>",
        (
            (metric_label(name), admin_moves.metric_value(value))
            for name, value in sorted(version.metrics.items())
        ),
    )
    return format_html("<table>{}</table>", rows)


def size_text(size: int | None) -> str:
    """``192 KB``, ``3.4 MB``: the size of an artifact as people read it."""
    if size is None:
        return "—"
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{size:,} bytes"


def compiled_summary(version: ModelVersion):
    """Whether the version serves through a compiled tree predictor, who built it, when."""
    if not version.is_compiled:
        if version.framework not in native.COMPILABLE:
            return f"not compilable ({version.get_framework_display()})"
        if version.compile_hold:
            return format_html(
                "not compiled: the booster serves. The job engine leaves it alone: {}. "
                "An operator runs <code>manage.py compile_model {} {}</code>",
                version.compile_hold,
                version.model.name,
                version.version,
            )
        if not settings.MODEL_COMPILE_IN_BACKGROUND:
            return format_html(
                "not compiled: the booster serves (background compiling is off; an "
                "operator runs <code>manage.py compile_model {} {}</code>)",
                version.model.name,
                version.version,
            )
        return format_html(
            "not compiled yet: the booster serves until the job engine has compiled it "
            "and checked it against the booster (or an operator runs "
            "<code>manage.py compile_model {} {}</code>)",
            version.model.name,
            version.version,
        )
    tools = ", ".join(f"{k} {v}" for k, v in sorted(version.compiled_toolchain.items()))
    error = version.compiled_max_error
    return format_html(
        "compiled by <strong>{}</strong> at {}<br>library <code>{}</code> ({} bytes, sha256 "
        "<code>{}</code>)<br>largest difference from the booster: {}<br>{}",
        version.compiled_by or "?",
        version.compiled_at.strftime("%Y-%m-%d %H:%M:%S UTC") if version.compiled_at else "?",
        version.compiled_path,
        version.compiled_size,
        version.compiled_sha256,
        f"{error:.3g}" if error is not None else "?",
        tools,
    )


@admin.register(ModelVersion)
class ModelVersionAdmin(ChainReadable, ModelAdmin):
    list_display = [
        "__str__",
        "framework",
        "output_kind",
        "auc",
        "size_display",
        "compiled",
        "aliases_list",
        "created_by",
        "created_at",
    ]
    list_filter = ["framework", "pickle_trust", "model"]
    search_fields = ["model__name", "sha256"]
    list_select_related = ["model", "created_by"]
    readonly_fields = [
        "model",
        "version",
        "framework",
        "output_kind",
        "artifact_path",
        "sha256",
        "size_display",
        "schema",
        "metrics_view",
        "training_window_start",
        "training_window_end",
        "description",
        "pickle_trust",
        "created_by",
        "created_at",
        "aliases_list",
        "live_performance",
        "compiled_view",
    ]
    fields = readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("aliases")

    def has_change_permission(self, request, obj=None):
        return request.method in {"GET", "HEAD"} and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a version is a record; aliases and moves point at it

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # Every field is read-only: a page to read, without Save buttons that would 403.
        if obj is not None:
            context.update(
                title=f"Model version {obj}",
                subtitle=None,
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
                show_delete=False,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="size", ordering="size")
    def size_display(self, obj):
        return (
            f"{size_text(obj.size)} ({obj.size:,} bytes)"
            if obj.size >= 1024
            else size_text(obj.size)
        )

    @admin.display(description="schema")
    def schema(self, obj):
        return schema_table(obj)

    @admin.display(description="metrics")
    def metrics_view(self, obj):
        return metrics_table(obj)

    @admin.display(description="live performance")
    def live_performance(self, obj):
        """Its trades, calibration, traffic and drift (serving.live.figures), beside the
        training metrics above."""
        return extensions.version_live_html(obj) or "—"  # serving provides it

    @admin.display(description="AUC")
    def auc(self, obj):
        auc = obj.metrics.get("auc") if isinstance(obj.metrics, dict) else None
        return admin_moves.metric_value(auc)

    @admin.display(description="aliases")
    def aliases_list(self, obj):
        return ", ".join(sorted(alias.name for alias in obj.aliases.all())) or "—"

    @admin.display(description="compiled", boolean=True)
    def compiled(self, obj):
        return obj.is_compiled

    @admin.display(description="compiled predictor")
    def compiled_view(self, obj):
        return compiled_summary(obj)

    def get_urls(self):
        # The add page is the upload view: first in the list, this add/ is the one that
        # resolves, and "admin:models_registry_modelversion_add" (the "Add model
        # version" links) names it; ModelAdmin's own add view is never reached.
        upload = self.admin_site.admin_view(self.upload_view)
        return [
            path("add/", upload, name="models_registry_modelversion_add"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Upload a model file; on success, the new version's page says which it is."""
        if not request.user.has_perm("models_registry.add_modelversion"):
            raise PermissionDenied
        if request.method == "POST":
            form = ModelUploadForm(request.POST, request.FILES)
        else:
            form = ModelUploadForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Upload a model version",
        }
        if request.method == "POST" and form.is_valid():
            try:
                version = self._register_upload(request, form.cleaned_data)
            except RegistryError as exc:
                form.add_service_error(exc)
                if isinstance(exc, DuplicateVersion):
                    context["existing"] = exc.existing
            else:
                return redirect("admin:models_registry_modelversion_change", version.pk)
        return TemplateResponse(request, "admin/models_registry/modelversion/upload.html", context)

    def _register_upload(self, request, cleaned: dict) -> ModelVersion:
        """One call of the registry's service; its refusals go back to the form."""
        alias = cleaned["alias"] or None
        if alias and not request.user.has_perm("models_registry.change_modelalias"):
            raise RegistryError(
                "you may not move aliases: leave the alias empty, or ask a model manager",
                field="alias",
            )
        upload = cleaned["file"]
        version = model_register(
            name=cleaned["model_name"],
            data=b"".join(upload.chunks()),
            filename=upload.name,
            framework=cleaned["framework"],
            features=cleaned["features"] or None,
            alias=alias,
            task=cleaned["task"],
            description=cleaned["description"],
            metrics=cleaned["metrics"],
            created_by=request.user,
        )
        text = (
            f"{version.model.name} version {version.version} registered "
            f"({version.get_framework_display()}, sha256 {version.sha256[:12]}…)"
        )
        if alias:
            text += f"; {alias} now points at version {version.version}"
        self.message_user(request, text + ".", messages.SUCCESS)
        return version


# -- models and aliases ---------------------------------------------------------------------


class VersionInline(admin.TabularInline):
    model = ModelVersion
    fields = [
        "link",
        "framework",
        "output_kind",
        "size_short",
        "sha_short",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["-version"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="size")
    def size_short(self, obj):
        return size_text(obj.size)

    @admin.display(description="SHA-256")
    def sha_short(self, obj):
        # The start of the hash, the whole in its title: the table fits the page.
        return format_html('<code title="{}">{}…</code>', obj.sha256, obj.sha256[:12])

    @admin.display(description="version")
    def link(self, obj):
        url = reverse("admin:models_registry_modelversion_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj)


class AliasInline(admin.TabularInline):
    model = ModelAlias
    fields = ["name", "version", "updated_by", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ChainReadable, ModelAdmin):
    list_display = ["name", "task", "version_count", "aliases_list", "move_link", "created_at"]
    search_fields = ["name", "description"]
    fields = ["name", "task", "positive_class", "description", "created_at", "history"]
    readonly_fields = ["name", "created_at", "history"]
    inlines = [AliasInline, VersionInline]
    change_form_template = "admin/models_registry/registeredmodel/change_form.html"

    def get_queryset(self, request):
        return selectors.model_list()

    def has_add_permission(self, request):
        return False  # a model is created by uploading its first version

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:  # the page is about the model, not a form to change it
            context.update(title=f"Model {obj.name}", subtitle=None)
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="versions", ordering="version_count")
    def version_count(self, obj):
        return obj.version_count

    @admin.display(description="aliases")
    def aliases_list(self, obj):
        return ", ".join(f"{a.name} → v{a.version.version}" for a in obj.aliases.all()) or "—"

    @admin.display(description="")
    def move_link(self, obj):
        request = admin_links.current.get()
        if request is not None and not request.user.has_perm("models_registry.change_modelalias"):
            return ""  # the move page would refuse them
        url = reverse("admin:models_registry_registeredmodel_move_alias", args=[obj.pk])
        return format_html('<a href="{}">Move an alias…</a>', url)

    @admin.display(description="alias history")
    def history(self, obj):
        moves = selectors.alias_history(model=obj)
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    m.pk,
                    when(m.moved_at),
                    m.alias,
                    f"v{m.from_version.version}" if m.from_version else "(new)",
                    f"v{m.to_version.version}",
                    m.moved_by or "operator",
                    m.reason or "—",
                    move_notes(m),
                )
                for m in moves
            ),
        )
        return format_html(
            "<table><tr><th>move</th><th>when</th><th>alias</th><th>versions</th><th>who</th>"
            "<th>reason</th><th>clients</th></tr>{}</table>",
            rows,
        )

    def get_urls(self):
        move = self.admin_site.admin_view(self.move_alias_view)
        rollback = self.admin_site.admin_view(self.rollback_view)
        return [
            path(
                "<path:object_id>/move-alias/",
                move,
                name="models_registry_registeredmodel_move_alias",
            ),
            path(
                "<path:object_id>/rollback/<slug:alias>/",
                rollback,
                name="models_registry_registeredmodel_rollback",
            ),
            *super().get_urls(),
        ]

    def move_alias_view(self, request, object_id):
        return admin_moves.move_alias_view(self, request, object_id)

    def rollback_view(self, request, object_id, alias):
        return admin_moves.rollback_view(self, request, object_id, alias)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        model = self.get_object(request, object_id)
        extra = {
            "may_move_aliases": admin_moves.may_move_aliases(request.user),
            "rollbacks": admin_moves.rollback_links(request, model) if model else [],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)


def move_notes(move: AliasMove) -> str:
    """What a move meant for clients, in words: breaking (confirmed), a rollback, a
    promotion and the live rows it rested on."""
    notes = []
    if move.breaking:
        notes.append("broke clients (confirmed)")
    if move.rollback_of_id:
        notes.append(f"rollback of move #{move.rollback_of_id}")
    if move.evidence_rows is not None:
        thin = ": fewer than the minimum, promoted with a reason" if move.thin_evidence else ""
        notes.append(f"promoted on {move.evidence_rows:,} live row(s){thin}")
    return "; ".join(notes) or "—"


def schema_diff_table(recorded: dict):
    """A move's recorded schema diff as a table (never its JSON)."""
    if not recorded:
        return "— (the move created the alias: no earlier version)"
    rows = [("removed", f["name"], f["type"]) for f in recorded.get("removed", [])]
    rows += [("added (required)", f["name"], f["type"]) for f in recorded.get("added", [])]
    rows += [
        ("type changed", r["name"], f"{r['old_type']} → {r['new_type']}")
        for r in recorded.get("retyped", [])
    ]
    rows += [
        ("moved", m["name"], f"column {m['old_position']} → {m['new_position']}")
        for m in recorded.get("reordered", [])
    ]
    unchanged = recorded.get("unchanged", 0)
    if not rows:
        return f"no change: the same {unchanged} feature(s), types and order"
    body = format_html_join("", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", rows)
    return format_html(
        "<table><tr><th>change</th><th>feature</th><th>detail</th></tr>{}</table>"
        "<p>{} feature(s) unchanged.</p>",
        body,
        unchanged,
    )


@admin.register(AliasMove)
class AliasMoveAdmin(ModelAdmin):
    list_display = [
        "__str__",
        "moved_at",
        "model",
        "alias",
        "from_version",
        "to_version",
        "moved_by",
        "reason",
        "clients",
    ]
    list_filter = ["alias", "breaking", "thin_evidence", "model"]
    list_select_related = ["model", "from_version__model", "to_version__model", "moved_by"]
    fields = [
        "model",
        "alias",
        "from_version",
        "to_version",
        "moved_by",
        "moved_at",
        "reason",
        "clients",
        "evidence_rows",
        "schema_changes",
        "breaking_reasons",
    ]
    readonly_fields = fields

    @admin.display(description="clients")
    def clients(self, obj):
        return move_notes(obj)

    @admin.display(description="feature schema changes")
    def schema_changes(self, obj):
        return schema_diff_table(obj.schema_diff)

    @admin.display(description="why it broke clients")
    def breaking_reasons(self, obj):
        reasons = obj.schema_diff.get("breaking", []) if obj.schema_diff else []
        if not reasons:
            return "—"
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in reasons))
        return format_html("<ul>{}</ul>", items)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BreakingMoveRequest)
class BreakingMoveRequestAdmin(FourEyesRequestAdmin):
    """Four eyes: breaking alias moves a person confirmed, waiting for a second person
    who may move aliases; Confirm makes the move, Decline leaves the alias where it is."""

    list_display = ["requested_at", "requested_by", "what", "reason", "status_text"]
    list_filter = ["status"]
    fields = ["requested_at", "requested_by", "what", "why_breaking", "reason", "status_text"]
    readonly_fields = fields
    permission = MOVE_PERMISSION
    errors = (RegistryError,)
    confirm_label = "Confirm: make the move"
    asked_words = "this move"
    stale_message = "The alias moved since this was asked: nothing moved. Review the move again."

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model", "to_version", "requested_by")

    @admin.display(description="move")
    def what(self, obj):
        return (
            f"{obj.get_kind_display()} of {obj.model.name}:{obj.alias} to version "
            f"{obj.to_version.version}"
        )

    @admin.display(description="it breaks clients because")
    def why_breaking(self, obj):
        return format_html_join("", "<p>{}</p>", ((reason,) for reason in obj.breaking)) or "—"

    @admin.display(description="status", ordering="status")
    def status_text(self, obj):
        return obj.get_status_display() if self.is_pending(obj) else self.decision(obj)

    def confirm(self, *, request_id, user, note):
        return breaking_move_confirm(request_id=request_id, user=user, note=note)

    def decline(self, *, request_id, user, note):
        return breaking_move_decline(request_id=request_id, user=user, note=note)
