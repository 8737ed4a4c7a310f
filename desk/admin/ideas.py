"""Trade ideas as an approval queue, and the decision history.

The list puts the ideas waiting for a person first, oldest first, with how long each has
waited; then the others, newest first. An idea's page is read-only (no Save): its
figures by instrument, the risk gate's table (desk.gate_table) and the decision
timeline, with Approve… and Reject… while it waits (desk.services: idea_approve runs
the gate again and shows its table first; idea_reject).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, Subquery, When
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from backoffice.core import extensions, formatting
from backoffice.core.admin_links import ChainReadable, change_url, linked
from backoffice.core.admin_site import ModelAdmin, ReadOnlyAdmin
from backoffice.core.forms import plain_ids
from desk.gate_table import gate_rows
from desk.models import Decision, IdeaStatus, RiskConfig, TradeIdea
from desk.selectors import idea_prediction, idea_trades
from desk.services import (
    DeskError,
    approval_review,
    idea_approve,
    idea_reject,
    ideas_approve,
    proposed_by,
    risk_config_get,
)
from journal.display import pnl_text, price_text, quantity_text
from journal.instruments import instrument_for
from journal.models import Trade


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
    output = "—" if found.output is None else formatting.number(found.output, 4)
    return format_html(
        "{} by {}: {} at {}",
        extensions.prediction_link(found.record, found.row),
        extensions.version_link(found.record),
        output,
        formatting.when(found.record.requested_at),
    )


def trades_html(idea: TradeIdea) -> str:
    """The trades that name the idea, linked, with their outcome."""
    trades = list(idea_trades(idea=idea))
    if not trades:
        return "none yet"
    return format_html_join(
        "",
        '<div class="idea-trade">{} {} {} {} · {}</div>',
        (
            (
                linked(change_url(Trade, t.pk), t.trade_id),
                formatting.when(t.executed_at),
                t.get_side_display(),
                t.symbol,
                "open" if t.pnl is None else f"P&L {pnl_text(t.symbol, t.pnl)}",
            )
            for t in trades
        ),
    )


FILTERS = "_changelist_filters"
UNDECIDED = (IdeaStatus.WAITING, IdeaStatus.NEEDS_APPROVAL)
# The list's status column: a short label, and who decided (IdeaStatus's labels say more).
STATUS_WORDS = {
    IdeaStatus.WAITING: ("Waiting", "at the risk gate"),
    IdeaStatus.NEEDS_APPROVAL: ("Needs approval", "by a person"),
    IdeaStatus.AUTO_EXECUTED: ("Auto-executed", "by the risk gate"),
    IdeaStatus.APPROVED: ("Approved", "by a person"),
    IdeaStatus.REJECTED: ("Rejected", "by the risk gate"),
    IdeaStatus.HALTED_BY_RISK: ("Halted", "by the risk gate"),
}


def _form_field(exc: DeskError, form) -> str | None:
    field = getattr(exc, "field", None)
    return field if field in form.fields else None


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Kept in the idea's decision history.",
    )


class ApproveForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        help_text="Why you approve it: kept in the idea's decision history.",
    )
    override_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
        required=False,
        label="Override reason",
        help_text="Why you approve it against what is listed above: kept and shown as an override.",
    )

    def __init__(self, *args, needs_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_override:
            del self.fields["override_reason"]


def describe(idea: TradeIdea) -> str:
    """``Long EURUSD at 1.08500, stop 1.08000, 0.1 lots, confidence 82.0 %``."""
    entry = price_text(idea.symbol, idea.entry_price)
    parts = [f"{idea.get_direction_display()} {idea.symbol} at {entry}"]
    if idea.stop_loss is not None:
        parts.append(f"stop {price_text(idea.symbol, idea.stop_loss)}")
    if idea.lot_size is not None:
        parts.append(quantity_text(idea.symbol, idea.lot_size))
    parts.append(f"confidence {formatting.percent(idea.confidence_score)}")
    return ", ".join(parts)


def gate_table(result, symbol: str, currency: str):
    """The gate's checks as a table, each value by its unit; failures marked."""
    instrument = instrument_for(symbol)
    rows = gate_rows(
        result,
        currency=currency,
        price_decimals=instrument.price_decimals if instrument else None,
        quantity_unit=instrument.quantity_unit if instrument else "lots",
    )
    if not rows:
        return "—"
    body = format_html_join(
        "",
        '<tr class="{}" data-rule="{}"><td>{}</td><td>{}</td><td>{}</td>'
        '<td class="gate-result">{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                "gate-pass" if row.passed else "gate-fail",
                row.rule,
                row.label,
                row.limit,
                row.observed,
                "passed" if row.passed else "failed",
                _effect(row),
                row.note,
            )
            for row in rows
        ),
    )
    failed = sum(1 for row in rows if not row.passed)
    summary = f"{failed} of {len(rows)} rules failed" if failed else f"all {len(rows)} rules passed"
    return format_html(
        '<p class="gate-summary">{}</p><table class="gate-table"><thead><tr><th>Rule</th>'
        "<th>Limit</th><th>Observed</th><th>Result</th><th>A failure</th><th>Note</th>"
        "</tr></thead><tbody>{}</tbody></table>",
        summary,
        body,
    )


def _effect(row):
    """What a failure does: plain where it failed, quiet where the rule passed."""
    if row.passed:
        return format_html('<span class="quiet">{}</span>', row.effect)
    return row.effect


def _changelist_url(filters: str) -> str:
    query = QueryDict(filters[:4000]).urlencode()
    url = reverse("admin:desk_tradeidea_changelist")
    return f"{url}?{query}" if query else url


@admin.register(TradeIdea)
class TradeIdeaAdmin(ChainReadable, ModelAdmin):
    # Compact columns, each a line and a quieter second one (the list is a queue:
    # its order is fixed, get_ordering).
    list_display = ["title", "waiting", "status_text", "levels", "size"]
    list_display_links = ["title"]
    sortable_by: list[str] = []
    list_filter = ["status", "direction", "strategy"]
    search_fields = ["symbol", "=id"]
    list_select_related = ["strategy", "decided_by"]
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/desk/tradeidea/change_form.html"

    def get_ordering(self, request):
        # The queue: ideas waiting for a person first, oldest first; then the rest,
        # newest first (waiting_since is annotated by get_queryset).
        return [F("waiting_since").asc(nulls_last=True), "-created_at", "-id"]

    def changelist_view(self, request, extra_context=None):
        context = {
            "title": "Trade ideas: those waiting for a person first",
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                waiting_since=Case(
                    When(status=IdeaStatus.NEEDS_APPROVAL, then=F("created_at")), default=None
                )
            )
        )

    def has_add_permission(self, request):
        return False  # ideas come from the AI engine through the API

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The page is read-only: nothing is saved through it (no Save buttons); people
        # decide through Approve and Reject (has_decide_permission).
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_decide_permission(self, request):
        return request.user.has_perm("desk.change_tradeidea")

    # -- the list ------------------------------------------------------------------
    @admin.display(description="idea")
    def title(self, obj):
        return format_html(
            '<span class="nowrap">#{} {} {}</span><span class="cell-sub">{}</span>',
            obj.pk,
            obj.get_direction_display(),
            obj.symbol,
            obj.strategy.name if obj.strategy else "no strategy",
        )

    @admin.display(description="waiting / decided")
    def waiting(self, obj):
        if obj.status in UNDECIDED:
            return format_html(
                '<span class="idea-age nowrap">{}</span>'
                '<span class="cell-sub nowrap">since {}</span>',
                formatting.age(timezone.now() - obj.created_at),
                formatting.when(obj.created_at),
            )
        return format_html('<span class="nowrap">{}</span>', formatting.when(obj.decided_at))

    @admin.display(description="status")
    def status_text(self, obj):
        label, by = STATUS_WORDS.get(obj.status, (obj.get_status_display(), ""))
        if obj.status in (IdeaStatus.APPROVED, IdeaStatus.REJECTED) and obj.decided_by_id:
            by = f"by {obj.decided_by}"
        return format_html(
            '<span class="idea-{} nowrap">{}</span><span class="cell-sub">{}</span>',
            obj.status,
            label,
            by,
        )

    @admin.display(description="entry / stop")
    def levels(self, obj):
        return format_html(
            '<span class="nowrap">{}</span><span class="cell-sub nowrap">stop {}</span>',
            price_text(obj.symbol, obj.entry_price),
            price_text(obj.symbol, obj.stop_loss),
        )

    @admin.display(description="entry")
    def entry(self, obj):
        return price_text(obj.symbol, obj.entry_price)

    @admin.display(description="stop")
    def stop(self, obj):
        return price_text(obj.symbol, obj.stop_loss)

    @admin.display(description="lot / confidence")
    def size(self, obj):
        return format_html(
            '<span class="nowrap">{}</span><span class="cell-sub nowrap">{} confidence</span>',
            quantity_text(obj.symbol, obj.lot_size),
            formatting.percent(obj.confidence_score, 0),
        )

    @admin.display(description="lot")
    def lot(self, obj):
        return quantity_text(obj.symbol, obj.lot_size)

    @admin.display(description="confidence")
    def confidence(self, obj):
        return formatting.percent(obj.confidence_score)

    # -- the idea's page -------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        idea = [
            ("symbol", "direction_text"),
            ("entry", "entry_range"),
            ("stop", "take_profit_text"),
            ("lot", "reward_to_risk"),
            ("confidence", "expected_hold_text"),
            "rationale",
            ("strategy", "model_version"),
            "snapshot_ref",
            ("submitted_by", "created_at"),
        ]
        if obj is not None and obj.status not in UNDECIDED:
            decision = [("status_text", "decided_at"), "decided_by"]
        else:
            decision = [("status_text", "waiting")]
        return [
            (None, {"fields": idea}),
            ("Decision", {"fields": decision}),
            ("Risk gate", {"fields": ["gate"], "classes": ["gate-fieldset"]}),
            ("Timeline", {"fields": ["timeline"]}),
            ("Where it came from and what it caused", {"fields": ["prediction", "trades"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            title=str(obj) if obj else context.get("title"),
            subtitle=None,
            show_save=False,
            show_save_and_continue=False,
            show_save_and_add_another=False,
            show_delete=False,
            may_decide=self.has_decide_permission(request),
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="direction")
    def direction_text(self, obj):
        return obj.get_direction_display()

    @admin.display(description="entry range")
    def entry_range(self, obj):
        if obj.entry_range_low is None:
            return "—"
        low = price_text(obj.symbol, obj.entry_range_low)
        return f"{low} to {price_text(obj.symbol, obj.entry_range_high)}"

    @admin.display(description="take profit")
    def take_profit_text(self, obj):
        return price_text(obj.symbol, obj.take_profit)

    @admin.display(description="reward:risk")
    def reward_to_risk(self, obj):
        from desk.gate import reward_to_risk

        ratio = reward_to_risk(obj)
        return "—" if ratio is None else f"{formatting.number(ratio, 2)} : 1"

    @admin.display(description="expected hold")
    def expected_hold_text(self, obj):
        if obj.expected_hold is None:
            return "—"
        return formatting.age(timedelta(minutes=obj.expected_hold))

    @admin.display(description="risk gate")
    def gate(self, obj):
        return gate_table(obj.risk_check_result, obj.symbol, risk_config_get().currency)

    @admin.display(description="decisions")
    def timeline(self, obj):
        rows = obj.decisions.order_by("occurred_at", "id")
        return (
            format_html_join(
                "",
                '<div class="timeline-entry">{} · <b>{}</b> · {} · {}{}</div>',
                (
                    (
                        linked(change_url(Decision, d.pk), formatting.when(d.occurred_at)),
                        d.get_action_display(),
                        d.actor,
                        d.rationale,
                        format_html('<div class="override">Override: {}</div>', d.override_reason)
                        if d.override_reason
                        else "",
                    )
                    for d in rows
                ),
            )
            or "—"
        )

    # -- the chain: the prediction the idea came from, the trades it caused ------------
    @admin.display(description="from prediction")
    def prediction(self, obj):
        return prediction_html(obj)

    @admin.display(description="its trades")
    def trades(self, obj):
        return trades_html(obj)

    # -- deciding ------------------------------------------------------------------
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
                "approve-selected/",
                self.admin_site.admin_view(self.approve_selected_view),
                name="desk_tradeidea_approve_selected",
            ),
            path(
                "<int:idea_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="desk_tradeidea_reject",
            ),
        ]
        return custom + super().get_urls()

    def _may_decide(self, request):
        if not self.has_decide_permission(request):
            raise PermissionDenied

    def approve_view(self, request, idea_id):
        """The gate run again now, its table, what an approval would override; then the
        approval with its reason (and an override reason where it needs one)."""
        self._may_decide(request)
        idea = get_object_or_404(TradeIdea, pk=idea_id)
        back = redirect(reverse("admin:desk_tradeidea_change", args=[idea_id]))
        if idea.status != IdeaStatus.NEEDS_APPROVAL:
            self.message_user(request, f"{idea} no longer waits for approval.", messages.WARNING)
            return back
        if proposed_by(idea, request.user):
            self.message_user(
                request, "You proposed this idea: another person approves it.", messages.ERROR
            )
            return back
        review = approval_review(idea)
        form = ApproveForm(request.POST or None, needs_override=bool(review.overrides))
        if request.method == "POST" and form.is_valid():
            try:
                idea_approve(
                    idea_id=idea_id,
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                    override_reason=form.cleaned_data.get("override_reason", ""),
                )
            except DeskError as exc:
                # The gate ran again on approving and found more (or another person
                # decided first): the page is shown again, with the newest run.
                form.add_error(_form_field(exc, form), str(exc))
                review = approval_review(idea)
            else:
                self.message_user(request, str(TradeIdea.objects.get(pk=idea_id)), messages.SUCCESS)
                return back
        config = risk_config_get()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Approve trade idea #{idea.pk}",
            "idea": idea,
            "idea_text": describe(idea),
            "age": formatting.age(review.now - idea.created_at),
            "now": f"{review.now:%Y-%m-%d %H:%M}",
            "review": review,
            "gate_table": gate_table(review.verdict_json, idea.symbol, config.currency),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/approve.html", context)

    def approve_selected_view(self, request):
        """Approve several ideas with one reason: only those whose gate, run again now,
        asks for nothing but approval; the others are listed with why."""
        self._may_decide(request)
        source = request.POST if request.method == "POST" else request.GET
        ids = plain_ids(source.get("ids") or "", limit=500)
        filters = source.get(FILTERS, "")
        back = _changelist_url(filters)
        form = RejectForm(request.POST or None)
        form.fields["reason"].help_text = "Why you approve them: kept in each decision history."
        if request.method == "POST" and form.is_valid():
            try:
                done = ideas_approve(
                    idea_ids=ids, user=request.user, reason=form.cleaned_data["reason"]
                )
            except DeskError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return redirect(back)
            left = "; ".join(f"#{pk}: {why}" for pk, why in done.skipped)
            self.message_user(
                request,
                f"Approved {len(done.approved)} idea(s)"
                + (f"; left {len(done.skipped)}: {left}" if done.skipped else "."),
                messages.SUCCESS if done.approved else messages.WARNING,
            )
            return redirect(back)
        ready, left = [], []
        for idea in TradeIdea.objects.filter(pk__in=ids).order_by("pk"):
            if idea.status != IdeaStatus.NEEDS_APPROVAL:
                left.append((idea.pk, f"not waiting for approval ({idea.status_detail})"))
            elif proposed_by(idea, request.user):
                left.append((idea.pk, "you proposed it: another person approves it"))
            else:
                review = approval_review(idea)
                if review.overrides:
                    left.append((idea.pk, "needs an override: " + "; ".join(review.overrides)))
                else:
                    ready.append((idea, describe(idea)))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Approve {len(ready)} trade idea(s)",
            "ready": ready,
            "left": left,
            "ids": ",".join(str(idea.pk) for idea, _ in ready),
            "form": form,
            "opts": self.model._meta,
            "filters": filters,
            "back": back,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/approve_selected.html", context)

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
            "idea_text": describe(idea),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/reject.html", context)

    def reject_selected_view(self, request):
        """Reject several ideas with one reason (the bulk action's second step)."""
        self._may_decide(request)
        source = request.POST if request.method == "POST" else request.GET
        raw = source.get("ids") or ""
        ids = plain_ids(raw, limit=500)
        ideas = list(TradeIdea.objects.filter(pk__in=ids, status=IdeaStatus.NEEDS_APPROVAL))
        filters = source.get(FILTERS, "")
        back = _changelist_url(filters)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            for idea in ideas:
                self._decide(request, idea.pk, approve=False, reason=form.cleaned_data["reason"])
            return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reject {len(ideas)} trade idea(s)",
            "ideas": [(idea, describe(idea)) for idea in ideas],
            "ids": ",".join(str(idea.pk) for idea in ideas),
            "form": form,
            "opts": self.model._meta,
            "filters": filters,
            "back": back,
        }
        return TemplateResponse(request, "admin/desk/tradeidea/reject_selected.html", context)

    @admin.action(description="Reject selected ideas (asks for a reason)", permissions=["decide"])
    def reject_selected(self, request, queryset):
        query = QueryDict(mutable=True)
        query["ids"] = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:500])
        if request.GET:
            query[FILTERS] = request.GET.urlencode()
        url = reverse("admin:desk_tradeidea_reject_selected")
        return redirect(f"{url}?{query.urlencode(safe=',')}")

    def _decide(self, request, idea_id, *, approve, reason=""):
        try:
            idea = idea_reject(idea_id=idea_id, user=request.user, reason=reason)
        except DeskError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, str(idea), messages.SUCCESS)

    @admin.action(
        description="Approve selected ideas (runs the gate again, asks for a reason)",
        permissions=["decide"],
    )
    def approve_selected(self, request, queryset):
        query = QueryDict(mutable=True)
        query["ids"] = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True)[:500])
        if request.GET:
            query[FILTERS] = request.GET.urlencode()
        url = reverse("admin:desk_tradeidea_approve_selected")
        return redirect(f"{url}?{query.urlencode(safe=',')}")


@admin.register(Decision)
class DecisionAdmin(ChainReadable, ReadOnlyAdmin):
    list_display = ["occurred_at", "action", "symbol", "actor", "human_override", "trade_idea"]
    list_filter = ["action", "human_override"]
    search_fields = ["symbol", "actor"]
    list_select_related = ["trade_idea__decided_by"]
    show_full_result_count = False
    ordering = ["-occurred_at"]
    fields = [
        ("occurred_at", "action"),
        ("symbol", "idea"),
        ("actor", "human_override"),
        "rationale",
        "override_reason",
        ("confidence", "strategy"),
        "snapshot_ref",
        "gate",
        "idea_trades",
    ]
    readonly_fields = [
        "occurred_at",
        "action",
        "symbol",
        "idea",
        "actor",
        "human_override",
        "rationale",
        "override_reason",
        "confidence",
        "strategy",
        "snapshot_ref",
        "gate",
        "idea_trades",
    ]

    @admin.display(description="trade idea")
    def idea(self, obj):
        if obj.trade_idea_id is None:
            return "—"
        return linked(change_url(TradeIdea, obj.trade_idea_id), str(obj.trade_idea))

    @admin.display(description="trades of its idea")
    def idea_trades(self, obj):
        return trades_html(obj.trade_idea) if obj.trade_idea_id else "—"

    def get_queryset(self, request):
        currency = RiskConfig.objects.filter(pk=True).values("currency")[:1]
        return super().get_queryset(request).annotate(account_currency=Subquery(currency))

    @admin.display(description="confidence")
    def confidence(self, obj):
        return formatting.percent(obj.confidence_score)

    @admin.display(description="risk gate")
    def gate(self, obj):
        return gate_table(obj.risk_check_result, obj.symbol, obj.account_currency or "")
