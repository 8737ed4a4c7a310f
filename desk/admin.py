"""Admin for the desk: ideas with their gate result and timeline, approve and reject,
the risk config as one page, decisions read-only, snapshots by symbol and time."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from backoffice.admin_site import ModelAdmin, ReadOnlyAdmin
from desk.chain import idea_prediction, idea_trades
from desk.models import (
    AccountSnapshot,
    CalendarEvent,
    Decision,
    IdeaStatus,
    IndicatorSnapshot,
    LegacySetting,
    MarketBar,
    NewsItem,
    RiskConfig,
    RiskConfigChange,
    Strategy,
    TradeIdea,
)
from desk.services import EDITABLE_LIMITS, DeskError, idea_decide, risk_config_get
from desk.services import risk_config_update as update_config


def prediction_html(idea: TradeIdea) -> str:
    """The idea's prediction: its record (and version) where recorded, else its id."""
    if not idea.prediction_id:
        return "—"
    found = idea_prediction(idea=idea)
    if found is None:
        return format_html(
            '{} <span class="chain-missing">(not recorded: left out by the sampling, past '
            "the retention, or not written while the database was down)</span>",
            idea.prediction_id,
        )
    from serving.admin import record_link, version_link

    output = "—" if found.output is None else f"{float(found.output):.4f}"
    return format_html(
        "{} by {}: {} at {} UTC",
        record_link(found.record, found.row),
        version_link(found.record),
        output,
        f"{found.record.requested_at:%Y-%m-%d %H:%M:%S}",
    )


def trades_html(idea: TradeIdea) -> str:
    """The trades that name the idea, linked, with their outcome."""
    trades = list(idea_trades(idea=idea))
    if not trades:
        return "none yet"
    return format_html_join(
        "",
        '<div class="idea-trade"><a href="{}">{}</a> {} {} {} · {}</div>',
        (
            (
                reverse("admin:journal_trade_change", args=[t.pk]),
                t.trade_id,
                f"{t.executed_at:%Y-%m-%d %H:%M}",
                t.side,
                t.symbol,
                "open" if t.pnl is None else f"P&L {t.pnl:,.2f}",
            )
            for t in trades
        ),
    )


@admin.register(Strategy)
class StrategyAdmin(ModelAdmin):
    list_display = ["name", "is_active", "symbols", "rr_expectation", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    @admin.display(description="allowed symbols")
    def symbols(self, obj):
        return ", ".join(obj.allowed_symbols) or "any"

    def has_delete_permission(self, request, obj=None):
        return False  # ideas and decisions refer to it: deactivate instead


class RiskConfigForm(forms.ModelForm):
    class Meta:
        model = RiskConfig
        fields = list(EDITABLE_LIMITS)


@admin.register(RiskConfig)
class RiskConfigAdmin(ModelAdmin):
    """One editable page: the list goes straight to the single row."""

    form = RiskConfigForm
    readonly_fields = ["last_halt_reason", "updated_at", "updated_by", "recent_changes"]

    def get_fields(self, request, obj=None):
        return [*EDITABLE_LIMITS, *self.readonly_fields]

    def changelist_view(self, request, extra_context=None):
        config = risk_config_get()
        return redirect(reverse("admin:desk_riskconfig_change", args=[config.pk]))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            update_config(
                changes=changes, actor=request.user.get_username(), actor_user=request.user
            )
        except DeskError as exc:
            raise PermissionDenied(str(exc)) from exc

    @admin.display(description="recent changes")
    def recent_changes(self, obj):
        rows = RiskConfigChange.objects.all()[:20]
        if not rows:
            return "none yet"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td></tr>",
                (
                    (f"{r.changed_at:%Y-%m-%d %H:%M}", r.actor, r.field, r.old_value, r.new_value)
                    for r in rows
                ),
            ),
        )


@admin.register(RiskConfigChange)
class RiskConfigChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "actor", "field", "old_value", "new_value"]
    list_filter = ["field"]


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


@admin.register(TradeIdea)
class TradeIdeaAdmin(ModelAdmin):
    list_display = [
        "id",
        "created_at",
        "status",
        "symbol",
        "direction",
        "entry_price",
        "confidence_score",
        "strategy",
        "submitted_by",
    ]
    list_filter = ["status", "direction", "strategy"]
    search_fields = ["symbol", "=id"]
    list_select_related = ["strategy"]
    actions = ["approve_selected", "reject_selected"]
    readonly_fields = [f.name for f in TradeIdea._meta.fields] + [
        "gate",
        "timeline",
        "prediction",
        "trades",
    ]
    change_form_template = "admin/desk/tradeidea/change_form.html"

    def has_add_permission(self, request):
        return False  # ideas come from the AI engine through the API

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        custom = [
            path(
                "<int:idea_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="desk_tradeidea_approve",
            ),
            path(
                "reject-selected/",
                self.admin_site.admin_view(self.reject_selected_view),
                name="desk_tradeidea_reject_selected",
            ),
            path(
                "<int:idea_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="desk_tradeidea_reject",
            ),
        ]
        return custom + super().get_urls()

    def _may_decide(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied

    def approve_view(self, request, idea_id):
        self._may_decide(request)
        if request.method != "POST":
            return redirect(reverse("admin:desk_tradeidea_change", args=[idea_id]))
        self._decide(request, idea_id, approve=True)
        return redirect(reverse("admin:desk_tradeidea_change", args=[idea_id]))

    def reject_view(self, request, idea_id):
        self._may_decide(request)
        idea = get_object_or_404(TradeIdea, pk=idea_id)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._decide(request, idea_id, approve=False, reason=form.cleaned_data["reason"])
            return redirect(reverse("admin:desk_tradeidea_change", args=[idea_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject trade idea #{idea.pk}",
            "idea": idea,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/reject.html", context)

    def reject_selected_view(self, request):
        """Reject several ideas with one reason (the bulk action's second step)."""
        self._may_decide(request)
        raw = request.GET.get("ids") or request.POST.get("ids") or ""
        ids = [int(part) for part in raw.split(",") if part.isdigit()][:500]
        ideas = list(TradeIdea.objects.filter(pk__in=ids, status=IdeaStatus.NEEDS_APPROVAL))
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            for idea in ideas:
                self._decide(request, idea.pk, approve=False, reason=form.cleaned_data["reason"])
            return redirect(reverse("admin:desk_tradeidea_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject {len(ideas)} trade idea(s)",
            "ideas": ideas,
            "ids": ",".join(str(idea.pk) for idea in ideas),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/reject_selected.html", context)

    @admin.action(description="Reject selected ideas (asks for a reason)", permissions=["change"])
    def reject_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:500])
        return redirect(f"{reverse('admin:desk_tradeidea_reject_selected')}?ids={ids}")

    def _decide(self, request, idea_id, *, approve, reason=""):
        try:
            idea = idea_decide(idea_id=idea_id, approve=approve, user=request.user, reason=reason)
        except DeskError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        verb = "approved" if approve else "rejected"
        self.message_user(request, f"Trade idea #{idea.pk} {verb}.", messages.SUCCESS)

    @admin.action(description="Approve selected ideas", permissions=["change"])
    def approve_selected(self, request, queryset):
        done = 0
        for idea_id in queryset.filter(status=IdeaStatus.NEEDS_APPROVAL).values_list(
            "pk", flat=True
        ):
            try:
                idea_decide(idea_id=idea_id, approve=True, user=request.user)
                done += 1
            except DeskError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        skipped = queryset.count() - done
        self.message_user(
            request,
            f"Approved {done} idea(s); {skipped} not waiting for approval.",
            messages.SUCCESS if done else messages.WARNING,
        )

    @admin.display(description="risk gate")
    def gate(self, obj):
        checks = (obj.risk_check_result or {}).get("checks", [])
        if not checks:
            return "-"
        return format_html(
            "<table><tr><th>rule</th><th>limit</th><th>observed</th><th>result</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class='{}'>{}</td></tr>",
                (
                    (
                        c["rule"],
                        json.dumps(c["limit"]),
                        json.dumps(c["observed"]),
                        "gate-pass" if c["passed"] else "gate-fail",
                        "pass" if c["passed"] else f"FAIL ({c['effect']})",
                    )
                    for c in checks
                ),
            ),
        )

    @admin.display(description="decision timeline")
    def timeline(self, obj):
        rows = obj.decisions.order_by("occurred_at", "id")
        return (
            format_html_join(
                "",
                '<div class="timeline-decision"><a href="{}">{}</a> · <b>{}</b> · {} · {}</div>',
                (
                    (
                        reverse("admin:desk_decision_change", args=[d.pk]),
                        f"{d.occurred_at:%Y-%m-%d %H:%M:%S}",
                        d.action,
                        d.actor,
                        d.rationale,
                    )
                    for d in rows
                ),
            )
            or "-"
        )

    # -- the chain: the prediction the idea came from, the trades it caused ------------
    @admin.display(description="from prediction")
    def prediction(self, obj):
        return prediction_html(obj)

    @admin.display(description="its trades")
    def trades(self, obj):
        return trades_html(obj)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "action", "symbol", "actor", "human_override", "trade_idea"]
    readonly_fields = ["idea_trades"]

    @admin.display(description="trades of its idea")
    def idea_trades(self, obj):
        return trades_html(obj.trade_idea) if obj.trade_idea_id else "—"

    list_filter = ["action", "human_override"]
    search_fields = ["symbol", "actor"]
    list_select_related = ["trade_idea"]
    show_full_result_count = False
    ordering = ["-occurred_at"]


class SnapshotAdmin(ReadOnlyAdmin):
    show_full_result_count = False
    ordering = ["-captured_at"]
    list_filter = ["symbol"]
    search_fields = ["symbol"]


@admin.register(MarketBar)
class MarketBarAdmin(SnapshotAdmin):
    list_display = ["captured_at", "symbol", "timeframe", "open", "high", "low", "close", "volume"]
    list_filter = ["symbol", "timeframe"]


@admin.register(IndicatorSnapshot)
class IndicatorSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "captured_at",
        "symbol",
        "timeframe",
        "rsi_14",
        "sma_50",
        "sma_200",
        "macd",
        "atr",
    ]
    list_filter = ["symbol", "timeframe"]


@admin.register(CalendarEvent)
class CalendarEventAdmin(SnapshotAdmin):
    list_display = [
        "event_time",
        "currency",
        "impact_level",
        "title",
        "forecast_value",
        "actual_value",
    ]
    list_filter = ["currency", "impact_level"]
    search_fields = ["title", "currency"]


@admin.register(NewsItem)
class NewsItemAdmin(SnapshotAdmin):
    list_display = ["published_at", "headline", "source"]
    list_filter = ["source"]
    search_fields = ["headline"]


@admin.register(AccountSnapshot)
class AccountSnapshotAdmin(SnapshotAdmin):
    list_display = [
        "captured_at",
        "account",
        "balance",
        "equity",
        "margin_used",
        "open_pl",
        "open_positions",
    ]
    list_filter = ["account"]
    search_fields = ["account"]


@admin.register(LegacySetting)
class LegacySettingAdmin(ReadOnlyAdmin):
    list_display = ["category", "key", "imported_at"]
    list_filter = ["category"]
