"""The trade journal in the admin: review trades all day on a table of millions of rows.

What keeps the trade list fast on a hypertable:
- no full COUNT: an estimated or capped count (TradePaginator) and no full result count;
- no date_hierarchy (its datetimes() query reads the whole selection): a time-range filter;
- ORDER BY executed_at DESC first, so the time index serves the page (the changelist
  appends -pk, which an incremental sort handles within equal times);
- filter choices from an index skip-scan, exact-match search, no facet counts.
Execution data is read-only for everybody; reviews are written by journal.reviews.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ORDER_VAR
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from backoffice.core import formatting
from backoffice.core.admin_site import ModelAdmin, ReadOnlyAdmin
from backoffice.core.formatting import money, percent, when
from journal.admin import dashboard, sorting, trade_page
from journal.admin import views as admin_views
from journal.admin.chain import chain_html
from journal.admin.drill_down import dashboard_query, notes_day, notes_url
from journal.admin.filters import (
    AccountFilter,
    CheckFilter,
    ClosedAtFilter,
    ExecutedAtFilter,
    HourFilter,
    ModelVersionFilter,
    ReviewGradeFilter,
    ReviewMistakeFilter,
    ReviewStatusFilter,
    ReviewTagFilter,
    SideFilter,
    StrategyFilter,
    SymbolFilter,
    WeekdayFilter,
)
from journal.admin.support import (
    REVIEW_FORM_FIELDS,
    TradeChangeList,
    TradePaginator,
    TradeReviewForm,
    checks_cell,
    checks_text,
    json_block,
    model_version_link,
    review_of,
    review_value_text,
    tag_chips,
)
from journal.admin.views import BULK_LIMIT
from journal.analytics import trade_chart
from journal.analytics.trade_figures import holding_expression, r_multiple_expression
from journal.display import currency_of, pnl_class, pnl_text, price_text, quantity_text
from journal.domain.trade_record import FIELDS, JSON_FIELDS
from journal.models import ReviewChange, ReviewStatus, Trade, TradeReview
from journal.reviews import ReviewRejected, trade_review
from journal.selectors import (
    model_versions_by_label,
    review_history,
    trade_search,
)
from journal.tags import text_of

# The trade's execution data, every field of the format but the ones shown formatted
# (the JSON blocks, the model version as a link); read-only for everybody.
EXECUTION_FIELDS = (
    *(name for name in FIELDS if name not in (*JSON_FIELDS, "model_version")),
    "status",
    "recorded_at",
)


@admin.register(Trade)
class TradeAdmin(ModelAdmin):
    # Eight compact columns, each a line and quieter lines under it: the list fits
    # 1,366 px with the sidebar open (tests/admin/test_persona_browser.py measures it).
    # The instrument checks' flags sit under the P&L, the prices under the trade, the
    # model version under the strategy and account, the tags under the review. P&L, R,
    # close time and holding time sort (journal.admin.sorting: within a period).
    list_display = [
        "time",
        "trade",
        "pnl_checks",
        "r_column",
        "closed",
        "held",
        "strategy_account",
        "review_status",
    ]
    list_display_links = ["time"]
    list_filter = [
        ExecutedAtFilter,
        ClosedAtFilter,
        SymbolFilter,
        StrategyFilter,
        SideFilter,
        AccountFilter,
        ModelVersionFilter,
        ReviewStatusFilter,
        ReviewTagFilter,
        ReviewMistakeFilter,
        ReviewGradeFilter,
        CheckFilter,
        WeekdayFilter,
        HourFilter,
    ]
    list_select_related = ["review"]
    list_per_page = 100
    list_max_show_all = 200
    # Each sort has its index (journal/0018); the figures' sorts read one period
    # (journal.admin.sorting). No other column sorts: it would read every row.
    sortable_by = ["time", "pnl_checks", "r_column", "closed", "held"]
    ordering = ["-executed_at"]
    paginator = TradePaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    # Prefix matches through indexes only (get_search_results); never '%term%'.
    search_fields = ["trade_id", "broker_order_id", "symbol"]
    search_help_text = (
        "The start of a trade id or broker order id (demo-003 finds DEMO-00352), or of "
        "a symbol (EUR finds EURUSD and EURJPY)."
    )
    form = TradeReviewForm
    actions = ["mark_reviewed", "flag_with_reason", "export_selected_csv"]
    change_list_template = "admin/journal/trade/change_list.html"
    change_form_template = "admin/journal/trade/change_form.html"

    class Media:
        # The admin's calendar beside the time filter's from / to days.
        css = {"all": ["admin/css/widgets.css", "journal/trades.css"]}
        js = ["admin/js/calendar.js", "admin/js/admin/DateTimeShortcuts.js"]

    # -- permissions: execution data is never edited; a review is the only change ----
    def has_add_permission(self, request):
        return False  # trades arrive through the API, the import and the spool

    def has_delete_permission(self, request, obj=None):
        return False  # the journal is a record: nobody deletes a trade

    def has_change_permission(self, request, obj=None):
        # The trade page's only editable part is the review.
        return request.user.has_perm("journal.change_tradereview")

    def has_review_permission(self, request):
        return request.user.has_perm("journal.change_tradereview")

    # -- list --------------------------------------------------------------------
    def get_changelist(self, request, **kwargs):
        return TradeChangeList

    def changelist_view(self, request, extra_context=None):
        order = request.GET.get(ORDER_VAR, "")
        sorts = sorting.figure_sorts(order, sorting.column_sorts(self, request))
        if sorts:
            # A sort by a trade's figure reads one period (journal.admin.sorting).
            bounded = sorting.bounded_url(request.path, request.GET)
            if bounded:
                return redirect(bounded)
        context = {
            "title": "Trades",
            "order_note": sorting.order_note(sorts),
            "dashboard_query": dashboard_query(request.GET),
            "notes_day": notes_day(request.GET),
            "notes_url": notes_url(notes_day(request.GET)) if notes_day(request.GET) else "",
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def get_queryset(self, request):
        # The figures the list shows and sorts by, as the database's indexes hold them.
        return (
            super()
            .get_queryset(request)
            .select_related("review", "review__reviewed_by")
            .annotate(r_multiple=r_multiple_expression(), holding=holding_expression())
        )

    def get_search_results(self, request, queryset, search_term):
        return trade_search(queryset=queryset, term=search_term), False

    def action_checkbox(self, obj):
        # Django renders this through the widget template engine, a third of the page's
        # time at 100 rows; the same markup, written directly.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="Select this object for an action - {}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            str(obj),
        )

    @admin.display(description="opened", ordering="executed_at")
    def time(self, obj):
        return format_html(
            '{}<span class="cell-sub trade-id">{}</span>', when_cell(obj.executed_at), obj.trade_id
        )

    @admin.display(description="trade")
    def trade(self, obj):
        exit_text = "open" if obj.exit_price is None else price_text(obj.symbol, obj.exit_price)
        return format_html(
            '<span class="nowrap">{} <span class="side-{}">{}</span></span>'
            '<span class="cell-sub nowrap">{}</span>'
            '<span class="cell-sub nowrap">{} → {}</span>',
            obj.symbol,
            obj.side,
            obj.get_side_display(),
            quantity_text(obj.symbol, obj.quantity),
            price_text(obj.symbol, obj.entry_price),
            exit_text,
        )

    @admin.display(description="R", ordering="r_multiple")
    def r_column(self, obj):
        return trade_page.r_cell(obj)

    @admin.display(description="closed", ordering="closed_at")
    def closed(self, obj):
        if obj.closed_at is None:
            return mark_safe('<span class="quiet">open</span>')
        return when_cell(obj.closed_at)

    @admin.display(description="held", ordering="holding")
    def held(self, obj):
        if obj.closed_at is None:
            # An open trade's age so far, quieter: it sorts with no holding time.
            age = formatting.age(timezone.now() - obj.executed_at)
            return format_html('<span class="cell-sub nowrap">{} so far</span>', age)
        return format_html(
            '<span class="nowrap">{}</span>', formatting.age(obj.closed_at - obj.executed_at)
        )

    @admin.display(description="P&L")
    def pnl_coloured(self, obj):
        if obj.pnl is None:
            return "open"
        # Colours in backoffice/static/backoffice/admin.css: the CSP refuses style="".
        return format_html(
            '<span class="nowrap {}">{}</span>', pnl_class(obj.pnl), pnl_text(obj.symbol, obj.pnl)
        )

    @admin.display(description="P&L", ordering="pnl")
    def pnl_checks(self, obj):
        if obj.pnl is None:
            return format_html(
                "{}{}", mark_safe('<span class="quiet">open</span>'), checks_cell(obj)
            )
        # The amount never breaks; its currency may go under it in a narrow column.
        pnl = format_html(
            '<span class="pnl-amount {}">{}</span>',
            pnl_class(obj.pnl),
            pnl_text(obj.symbol, obj.pnl),
        )
        return format_html("{}{}", pnl, checks_cell(obj))

    @admin.display(description="instrument checks")
    def checks_page_display(self, obj):
        return checks_text(obj)

    @admin.display(description="strategy / account / model")
    def strategy_account(self, obj):
        model = self.model_version_display(obj) if obj.model_version else ""
        return format_html(
            '{}<span class="cell-sub">{}</span>{}',
            obj.strategy or "—",
            obj.account or "—",
            format_html('<span class="cell-sub model-version">{}</span>', model) if model else "",
        )

    @admin.display(description="model version")
    def model_version_display(self, obj):
        if hasattr(obj, "registry_version_pk"):  # the list looked the page up at once
            version_pk = obj.registry_version_pk
        else:
            version_pk = model_versions_by_label(labels=[obj.model_version]).get(obj.model_version)
        return model_version_link(obj.model_version, version_pk)

    @admin.display(description="review · tags")
    def review_status(self, obj):
        review = review_of(obj)
        status = review.status if review else ReviewStatus.UNREVIEWED
        grade = f" · {review.grade}" if review and review.grade else ""
        return format_html(
            '<span class="review-{}">{}</span>{}{}',
            status,
            ReviewStatus(status).label,
            grade,
            tag_chips(review),
        )

    # -- the trade's execution figures, by its instrument (the trade's page) ------------
    @admin.display(description="quantity")
    def quantity_display(self, obj):
        return quantity_text(obj.symbol, obj.quantity)

    @admin.display(description="entry price")
    def entry_display(self, obj):
        return price_text(obj.symbol, obj.entry_price)

    @admin.display(description="initial stop")
    def stop_display(self, obj):
        return "—" if obj.stop_loss is None else price_text(obj.symbol, obj.stop_loss)

    @admin.display(description="exit price")
    def exit_display(self, obj):
        return price_text(obj.symbol, obj.exit_price)

    @admin.display(description="fees")
    def fees_display(self, obj):
        return money(obj.fees, currency_of(obj.symbol), signed=False)

    @admin.display(description="confidence")
    def confidence_display(self, obj):
        return percent(obj.confidence)

    # -- the trade's page ------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        execution = (
            "Execution",
            {
                "fields": [
                    ("trade_id", "broker_order_id"),
                    ("executed_at", "closed_at", "status"),
                    ("symbol", "side", "quantity_display"),
                    ("entry_display", "exit_display", "fees_display"),
                    "pnl_coloured",
                    "checks_page_display",
                    ("stop_display", "r_multiple_display"),
                    "excursion_display",
                    ("strategy", "account"),
                    ("model_version_display", "confidence_display"),
                    "desk_links",
                    ("agent_votes_display", "signals_display"),
                    "recorded_at",
                ]
            },
        )
        if self.has_change_permission(request, obj):
            review = ["review_status", "grade", "tags", "notes", "mistakes", "reason", "reviewed"]
        else:
            review = [
                "review_status",
                "review_grade",
                "review_tags",
                "review_notes",
                "review_mistakes",
                "reviewed",
            ]
        return [execution, ("Review", {"fields": review})]

    def get_readonly_fields(self, request, obj=None):
        return [
            *EXECUTION_FIELDS,
            "quantity_display",
            "entry_display",
            "exit_display",
            "fees_display",
            "confidence_display",
            "pnl_coloured",
            "checks_page_display",
            "stop_display",
            "r_multiple_display",
            "excursion_display",
            "model_version_display",
            "desk_links",
            "agent_votes_display",
            "signals_display",
            "reviewed",
            "review_grade",
            "review_tags",
            "review_notes",
            "review_mistakes",
        ]

    @admin.display(description="R-multiple")
    def r_multiple_display(self, obj):
        return trade_page.r_multiple(obj)

    @admin.display(description="MAE / MFE")
    def excursion_display(self, obj):
        return trade_page.excursion(obj)

    @admin.display(description="prediction → idea → decisions → trade → review")
    def desk_links(self, obj):
        return chain_html(obj)

    @admin.display(description="agent votes")
    def agent_votes_display(self, obj):
        return json_block(obj.agent_votes)

    @admin.display(description="signals")
    def signals_display(self, obj):
        return json_block(obj.signals)

    @admin.display(description="reviewed")
    def reviewed(self, obj):
        review = review_of(obj)
        if review is None or review.reviewed_at is None:
            return "never"
        who = review.reviewed_by.get_username() if review.reviewed_by else "?"
        return f"by {who} at {when(review.reviewed_at)}"

    @admin.display(description="grade")
    def review_grade(self, obj):
        review = review_of(obj)
        return (review.grade if review else "") or "—"

    @admin.display(description="tags")
    def review_tags(self, obj):
        review = review_of(obj)
        return text_of(review.tags) if review and review.tags else "—"

    @admin.display(description="notes")
    def review_notes(self, obj):
        review = review_of(obj)
        return (review.notes if review else "") or "—"

    @admin.display(description="mistakes")
    def review_mistakes(self, obj):
        review = review_of(obj)
        return text_of(review.mistakes) if review and review.mistakes else "—"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            history = list(review_history(trade=obj))
            for change in history:
                change.old_text = review_value_text(change.field, change.old_value)
                change.new_text = review_value_text(change.field, change.new_value)
            context["review_history"] = history
            # The trade on its chart (journal.analytics.trade_chart), or why there is none.
            chart = trade_chart.chart_of(obj, now=timezone.now())
            context["trade_chart"] = chart
            context["trade_chart_legend"] = trade_page.chart_legend(obj, chart)
            # "Trade DEMO-00352: Long 0.5 EURUSD", not "Change trade" over a subtitle.
            context.update(title=f"Trade {obj}", subtitle=None)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        """Never saves the trade: the review goes through journal.reviews.trade_review."""
        changes = form.review_changes()
        if not changes:
            return
        try:
            trade_review(
                trade=obj, reviewer=request.user, reason=form.cleaned_data["reason"], **changes
            )
        except ReviewRejected as exc:
            self.message_user(request, f"Review not saved: {exc}", messages.ERROR)

    def construct_change_message(self, request, form, formsets, add=False):
        changed = [name for name in form.changed_data if name in REVIEW_FORM_FIELDS]
        return [{"changed": {"fields": changed}}] if changed else []

    # -- actions -------------------------------------------------------------------
    @admin.action(description="Mark selected trades as reviewed", permissions=["review"])
    def mark_reviewed(self, request, queryset):
        trades = list(queryset[: BULK_LIMIT + 1])
        if len(trades) > BULK_LIMIT:
            self.message_user(
                request,
                f"Select at most {BULK_LIMIT} trades for a bulk review; nothing was changed.",
                messages.ERROR,
            )
            return None
        for trade in trades:
            trade_review(trade=trade, reviewer=request.user, status=ReviewStatus.REVIEWED)
        self.message_user(request, f"Marked {len(trades)} trade(s) as reviewed.", messages.SUCCESS)
        return None

    @admin.action(description="Flag selected trades with a reason…", permissions=["review"])
    def flag_with_reason(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[: BULK_LIMIT + 1])
        if len(ids) > BULK_LIMIT:
            self.message_user(
                request,
                f"Select at most {BULK_LIMIT} trades to flag; nothing was changed.",
                messages.ERROR,
            )
            return None
        query = QueryDict(mutable=True)
        query["ids"] = ",".join(str(pk) for pk in ids)
        filters = request.GET.urlencode()  # the list's filters, kept for the way back
        if filters:
            query[admin_views.FILTERS] = filters
        return redirect(f"{reverse('admin:journal_trade_flag')}?{query.urlencode(safe=',')}")

    @admin.action(description="Export selected trades as CSV", permissions=["view"])
    def export_selected_csv(self, request, queryset):
        return admin_views.csv_response(queryset, "trades-selected.csv")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("flag/", view(self.flag_view), name="journal_trade_flag"),
            path("export.csv", view(self.export_view), name="journal_trade_export"),
            path("dashboard/", view(self.dashboard_view), name="journal_trade_dashboard"),
            *super().get_urls(),
        ]

    def flag_view(self, request):
        return admin_views.flag_view(request, self)

    def export_view(self, request):
        return admin_views.export_view(request, self)

    def dashboard_view(self, request):
        return dashboard.dashboard_view(request, self)


def when_cell(moment):
    """A time in the list: its day and its minute may break apart, never inside."""
    day, _, minute = when(moment).partition(" ")
    return format_html('<span class="nowrap">{}</span> <span class="nowrap">{}</span>', day, minute)


def trade_link(trade_pk: int, trade_id: str):
    url = reverse("admin:journal_trade_change", args=[trade_pk])
    return format_html('<a href="{}">{}</a>', url, trade_id)


@admin.register(TradeReview)
class TradeReviewAdmin(ReadOnlyAdmin):
    """Reviews, read-only: they change on the trade's page, through the review service."""

    list_display = ["trade_link", "status", "grade", "tag_list", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "grade"]
    list_select_related = ["reviewed_by", "trade"]
    fields = [
        "trade_link",
        "status",
        "grade",
        "tag_list",
        "notes",
        "mistake_list",
        "reviewed_by",
    ]
    readonly_fields = [*fields, "reviewed_at"]
    ordering = ["-reviewed_at", "-id"]
    show_facets = admin.ShowFacets.NEVER

    def get_fields(self, request, obj=None):
        return [*self.fields, "reviewed_at"]

    @admin.display(description="trade")
    def trade_link(self, obj):
        return trade_link(obj.trade_id, obj.trade.trade_id)

    @admin.display(description="tags")
    def tag_list(self, obj):
        return text_of(obj.tags) or "—"

    @admin.display(description="mistakes")
    def mistake_list(self, obj):
        return text_of(obj.mistakes) or "—"


@admin.register(ReviewChange)
class ReviewChangeAdmin(ReadOnlyAdmin):
    """The review history, append-only: nobody adds, changes or deletes a line here."""

    list_display = [
        "changed_at",
        "trade_link",
        "field",
        "old_text",
        "new_text",
        "reason",
        "changed_by",
    ]
    list_display_links = None
    list_filter = ["field"]
    list_select_related = ["changed_by", "review__trade"]
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description="trade")
    def trade_link(self, obj):
        return trade_link(obj.review.trade_id, obj.review.trade.trade_id)

    @admin.display(description="old value")
    def old_text(self, obj):
        return review_value_text(obj.field, obj.old_value)

    @admin.display(description="new value")
    def new_text(self, obj):
        return review_value_text(obj.field, obj.new_value)


from journal.admin import quarantine as admin_quarantine  # noqa: E402,F401 - registers the quarantine's admin
