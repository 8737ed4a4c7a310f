"""Views the trade admin adds under /admin/journal/trade/: flag with a reason, CSV export.

Each is wired in TradeAdmin.get_urls() through admin_site.admin_view (staff only) and
checks the model permission it needs; writes go through journal.reviews.trade_review.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from backoffice.core.db.routers import reads_from_replica
from backoffice.core.forms import plain_ids
from journal.models import ReviewStatus, Trade
from journal.reviews import ReviewRejected, trade_review
from journal.write.exports import review_csv_lines

BULK_LIMIT = 500  # trades one bulk action may change; more is a mistake, not a review
FILTERS = "_changelist_filters"  # the list's query string, as Django's admin calls it


def changelist_url(filters: str) -> str:
    """The trade list with ``filters`` (a query string), re-encoded: nothing but a query
    string ever follows the list's own path."""
    query = QueryDict(filters[:4000]).urlencode()
    url = reverse("admin:journal_trade_changelist")
    return f"{url}?{query}" if query else url


class FlagForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea({"rows": 3, "cols": 60}),
        help_text="Kept with each trade's review history.",
    )


def flag_view(request, model_admin):
    """The intermediate page of the "flag with reason" action: ask why, then flag."""
    if not model_admin.has_review_permission(request):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    ids = plain_ids(source.get("ids", ""), limit=BULK_LIMIT)
    trades = list(
        Trade.objects.filter(pk__in=ids).select_related("review").order_by("-executed_at", "-id")
    )
    filters = source.get(FILTERS, "")
    back = changelist_url(filters)
    changelist = redirect(back)
    if not trades:
        model_admin.message_user(request, "No trades were selected.", messages.WARNING)
        return changelist
    form = FlagForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            for trade in trades:
                trade_review(
                    trade=trade, reviewer=request.user, reason=reason, status=ReviewStatus.FLAGGED
                )
        except ReviewRejected as exc:
            form.add_error(None, str(exc))
        else:
            model_admin.message_user(
                request, f"Flagged {len(trades)} trade(s): {reason}", messages.SUCCESS
            )
            return changelist
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Flag {len(trades)} trade(s)",
        "opts": model_admin.model._meta,
        "trades": trades,
        "ids": ",".join(str(t.pk) for t in trades),
        "form": form,
        "filters": filters,
        "back": back,
    }
    return TemplateResponse(request, "admin/journal/trade/flag.html", context)


@reads_from_replica
def export_view(request, model_admin):
    """GET /admin/journal/trade/export.csv?<the list's filters>: the filtered trades, streamed."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters as exc:
        # The message quotes the filter's value: plain text (and nosniff) so that a
        # browser never renders it as a page (issue 15, reflected XSS).
        return HttpResponseBadRequest(
            f"bad filter: {exc}\n", content_type="text/plain; charset=utf-8"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return csv_response(changelist.queryset, f"trades-{stamp}.csv")


def csv_response(queryset, filename: str) -> StreamingHttpResponse:
    """The trades of ``queryset`` as a streamed CSV download: the record format, then
    the review columns (journal.domain.trade_record.REVIEW_COLUMNS)."""
    response = StreamingHttpResponse(
        review_csv_lines(queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
