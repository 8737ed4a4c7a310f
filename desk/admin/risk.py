"""The risk config as one page at /admin/desk/riskconfig/, its audit, the limit changes
waiting for a second person, and strategies.

Every change of a limit needs a reason (kept in its audit, desk.services); a change that
switches AI trading on or loosens a limit (desk.domain.limits.loosened) is shown on a
confirmation page, each loosened limit old → new. Confirmed, it is saved, or with four
eyes on (settings.FOUR_EYES) it waits for a second person (desk.four_eyes).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Subquery
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from backoffice.core import formatting
from backoffice.core.admin_site import ModelAdmin, ReadOnlyAdmin
from backoffice.core.formatting import when
from backoffice.core.four_eyes_admin import FourEyesRequestAdmin
from desk.admin.forms import RiskConfigForm, StrategyForm
from desk.domain.limits import (
    EDITABLE_LIMITS,
    GROUPS,
    LIMITS,
    audit_text,
    limit_label,
    loosened,
    value_text,
)
from desk.four_eyes import (
    PERMISSION,
    limit_change_confirm,
    limit_change_decline,
    limit_change_request,
    pending_limit_changes,
)
from desk.models import (
    LimitChangeRequest,
    RiskConfig,
    RiskConfigChange,
    Strategy,
)
from desk.services import DeskError, risk_config_get

CONFIRMED = "_confirmed"  # the loosenings the person confirmed (desk.domain.limits.Loosening.key)
EDIT_AGAIN = "_edit"  # back from the confirmation to the form, with what was typed


@admin.register(Strategy)
class StrategyAdmin(ModelAdmin):
    form = StrategyForm
    list_display = ["name", "is_active", "symbols", "sessions", "rr", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "allowed_symbols", "rr_expectation"]}),
        ("When it trades", {"fields": ["session_windows"]}),
        ("Conditions", {"fields": ["entry_conditions", "forbidden_conditions"]}),
        (
            "Exit rules",
            {
                "fields": [
                    ("exit_stop_loss_pips", "exit_take_profit_pips"),
                    ("exit_trailing_stop_pips", "exit_max_hold_minutes"),
                    "exit_conditions",
                ]
            },
        ),
        (
            "Risk caps",
            {
                "fields": [
                    ("cap_max_lot_size", "cap_max_daily_loss"),
                    ("cap_max_trades_per_day", "cap_max_open_trades"),
                ],
                "description": "The strategy's own limits, checked besides the desk's risk limits.",
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # ideas and decisions refer to it: deactivate instead

    @admin.display(description="symbols")
    def symbols(self, obj):
        return ", ".join(obj.allowed_symbols) or "any"

    @admin.display(description="trading sessions")
    def sessions(self, obj):
        from desk.gate import _window_text

        return "; ".join(_window_text(w) for w in obj.session_windows or []) or "any time"

    @admin.display(description="reward:risk", ordering="rr_expectation")
    def rr(self, obj):
        return "—" if obj.rr_expectation is None else f"{obj.rr_expectation.normalize():f} : 1"


@admin.register(RiskConfig)
class RiskConfigAdmin(ModelAdmin):
    """The single row, edited at the list's own URL (/admin/desk/riskconfig/)."""

    form = RiskConfigForm
    change_form_template = "admin/desk/riskconfig/change_form.html"
    readonly_fields = [
        "waiting_changes",
        "last_halt_reason",
        "updated_at",
        "updated_by",
        "recent_changes",
    ]
    # The sections of desk.domain.limits, each with its limits in their order.
    limit_fieldsets = [
        (group, {"fields": [name for name, limit in LIMITS.items() if limit.group == group]})
        for group in GROUPS
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(self.limit_fieldsets)
        if self.has_change_permission(request, obj):
            fieldsets.append(("The change", {"fields": ["reason"]}))
        fieldsets.append(("Last changes", {"fields": self.readonly_fields}))
        return fieldsets

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        return risk_config_get()

    # -- one page at the list's URL ---------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        config = risk_config_get()
        context = {"title": "Risk limits", "subtitle": None, **(extra_context or {})}
        return self.changeform_view(request, str(config.pk), "", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return redirect("admin:desk_riskconfig_changelist")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and EDIT_AGAIN not in request.POST:
            confirmation = self._confirmation(request, extra_context)
            if confirmation is not None:
                return confirmation
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.method == "POST" and EDIT_AGAIN in request.POST:
            return _shown_again(form)
        return form

    def _confirmation(self, request, extra_context):
        """The confirmation page when the posted form is valid and loosens a limit that
        the person has not confirmed yet; None otherwise (Django's view goes on)."""
        config = risk_config_get()
        if not self.has_change_permission(request, config):
            raise PermissionDenied
        before = {name: getattr(config, name) for name in EDITABLE_LIMITS}
        form_class = self.get_form(request, config, change=True)
        form = form_class(request.POST, instance=risk_config_get())
        if not form.is_valid():
            return None
        after = {name: form.cleaned_data[name] for name in form.changed_limits()}
        currency = after.get("currency", before["currency"])
        loosenings = loosened(before, after, currency)
        keys = "|".join(item.key for item in loosenings)
        if not loosenings or request.POST.get(CONFIRMED) == keys:
            return None
        context = {
            **(extra_context or {}),  # first: its title (Risk limits) is the form's
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Confirm the looser limits",
            "loosenings": loosenings,
            "reason": form.cleaned_data.get("reason", ""),
            "posted": [
                (name, value)
                for name, values in request.POST.lists()
                if name not in ("csrfmiddlewaretoken", CONFIRMED, EDIT_AGAIN)
                for value in values
            ],
            "confirmed": keys,
            "changed_before": request.POST.get(CONFIRMED, "") not in ("", keys),
        }
        return TemplateResponse(request, "admin/desk/riskconfig/confirm.html", context)

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_limits()}
        waiting = None
        try:
            _, waiting = limit_change_request(
                changes=changes, user=request.user, reason=form.cleaned_data.get("reason", "")
            )
        except DeskError as exc:
            request._risk_config_refused = str(exc)
        waits = set(waiting.changes) if waiting else set()
        request._risk_config_changed = [limit_label(n) for n in changes if n not in waits]
        request._risk_config_waiting = waiting

    def response_change(self, request, obj):
        refused = getattr(request, "_risk_config_refused", None)
        changed = getattr(request, "_risk_config_changed", [])
        waiting = getattr(request, "_risk_config_waiting", None)
        if refused:
            self.message_user(request, f"Nothing was saved: {refused}", messages.ERROR)
            return redirect("admin:desk_riskconfig_changelist")
        if changed:
            self.message_user(request, f"Saved: {', '.join(changed)}.", messages.SUCCESS)
        if waiting is not None:
            labels = ", ".join(limit_label(name) for name in waiting.changes)
            self.message_user(
                request,
                f"Waiting for a second person (four eyes): {labels}. The old values stay in "
                "force until another risk manager confirms it.",
                messages.WARNING,
            )
        if not changed and waiting is None:
            self.message_user(request, "No limit changed.", messages.INFO)
        return redirect("admin:desk_riskconfig_changelist")

    @admin.display(description="waiting for a second person")
    def waiting_changes(self, obj):
        pending = list(pending_limit_changes()[:20])
        if not pending:
            return "none"
        return format_html_join(
            "",
            '<p><a href="{}">#{} {}</a>, asked by {} {} ago: {}</p>',
            (
                (
                    reverse("admin:desk_limitchangerequest_change", args=[item.pk]),
                    item.pk,
                    request_text(item, obj.currency),
                    item.requested_by,
                    formatting.age(timezone.now() - item.requested_at),
                    item.reason,
                )
                for item in pending
            ),
        )

    @admin.display(description="recent changes")
    def recent_changes(self, obj):
        rows = RiskConfigChange.objects.select_related("changed_by")[:20]
        if not rows:
            return "none yet"
        return format_html(
            '<table class="risk-changes"><thead><tr><th>When</th><th>Who</th><th>Limit</th>'
            "<th>Was</th><th>Now</th><th>Why</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td class='nowrap'>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                (
                    (
                        when(r.changed_at),
                        r.actor,
                        limit_label(r.field),
                        audit_text(r.field, r.old_value, obj.currency),
                        audit_text(r.field, r.new_value, obj.currency),
                        r.reason or "—",
                    )
                    for r in rows
                ),
            ),
        )


def _shown_again(form_class):
    """The form class, bound to what was posted and shown again without saving (the
    confirmation's "Change them" button): Django's view renders it as it renders an
    invalid form, and it reports only the errors the values really have."""

    class ShownAgain(form_class):
        def is_valid(self):
            return False

    return ShownAgain


class LimitFilter(admin.SimpleListFilter):
    title = "limit"
    parameter_name = "field"

    def lookups(self, request, model_admin):
        return [(name, limit.label) for name, limit in LIMITS.items()]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(field=self.value())


@admin.register(RiskConfigChange)
class RiskConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "actor", "limit", "was", "now", "reason"]
    fields = list_display
    readonly_fields = list_display
    list_filter = [LimitFilter]
    search_fields = ["actor", "reason"]

    def get_queryset(self, request):
        # Money limits read in the account currency, fetched with the page.
        currency = RiskConfig.objects.filter(pk=True).values("currency")[:1]
        return super().get_queryset(request).annotate(account_currency=Subquery(currency))

    @admin.display(description="limit", ordering="field")
    def limit(self, obj):
        return limit_label(obj.field)

    @admin.display(description="was")
    def was(self, obj):
        return audit_text(obj.field, obj.old_value, getattr(obj, "account_currency", ""))

    @admin.display(description="now")
    def now(self, obj):
        return audit_text(obj.field, obj.new_value, getattr(obj, "account_currency", ""))


def request_text(item: LimitChangeRequest, currency: str) -> str:
    """``Maximum open trades 3 trades → 10 trades; AI trading enabled off → on``."""
    from desk.four_eyes import from_json

    return "; ".join(
        f"{limit_label(name)} "
        f"{value_text(name, from_json(name, item.before.get(name)), currency)} → "
        f"{value_text(name, from_json(name, value), currency)}"
        for name, value in item.changes.items()
    )


@admin.register(LimitChangeRequest)
class LimitChangeRequestAdmin(FourEyesRequestAdmin):
    """Four eyes: the looser limits a person asked for, waiting for a second person who
    may change the limits; Confirm applies them, Decline keeps the limits as they are."""

    list_display = ["requested_at", "requested_by", "what", "reason", "status_text"]
    list_filter = ["status"]
    fields = ["requested_at", "requested_by", "what", "reason", "status_text", "decision"]
    readonly_fields = fields
    permission = PERMISSION
    errors = (DeskError,)
    confirm_label = "Confirm: apply these limits"
    asked_words = "this change"
    stale_message = (
        "The limits changed since this was asked: nothing was applied. Ask again from the "
        "risk limits page."
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by", "decided_by")

    @admin.display(description="change")
    def what(self, obj):
        return request_text(obj, risk_config_get().currency)

    @admin.display(description="status", ordering="status")
    def status_text(self, obj):
        return obj.get_status_display()

    def confirm(self, *, request_id, user, note):
        return limit_change_confirm(request_id=request_id, user=user, note=note)

    def decline(self, *, request_id, user, note):
        return limit_change_decline(request_id=request_id, user=user, note=note)
