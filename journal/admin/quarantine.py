"""Quarantined spool lines in the admin: an operator's worklist.

A line a replay could not store is listed here with its exact bytes and the reason. An
operator fixes the trade and re-submits it, or discards the line with a reason; either
decision is recorded on the line (journal.write.replay.quarantine_resubmit / _discard).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from backoffice.admin_site import ModelAdmin
from journal.models import QuarantinedLine, QuarantineStatus
from journal.write.capture import TradesRejected
from journal.write.replay import QuarantineError, quarantine_discard, quarantine_resubmit


def line_text(line: QuarantinedLine) -> str:
    """The line's bytes as text a page can show (undecodable bytes as \\xNN)."""
    return bytes(line.raw).decode("utf-8", "backslashreplace").rstrip("\n")


def trade_text(line: QuarantinedLine) -> str:
    """The spooled trade as indented JSON to edit, or the raw line when it is unreadable.

    Non-ASCII characters are escaped, so that a lone surrogate (a reason for quarantine)
    shows as \\ud800 to be fixed instead of breaking the page.
    """
    try:
        entry = json.loads(bytes(line.raw))
        trade = entry["trade"] if isinstance(entry, dict) and "trade" in entry else entry
        return json.dumps(trade, indent=2, ensure_ascii=True)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return line_text(line)


class ResubmitForm(forms.Form):
    trade = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "cols": 90, "class": "vLargeTextField"}),
        help_text="The trade in the record format, as JSON. Fix what the reason names.",
    )

    def clean_trade(self):
        try:
            value = json.loads(self.cleaned_data["trade"])
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(f"This is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give one trade: a JSON object.")
        return value


class DiscardForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 90}),
        help_text="Why this trade is not to be stored; kept with the line.",
    )


@admin.register(QuarantinedLine)
class QuarantinedLineAdmin(ModelAdmin):
    list_display = ["quarantined_at", "where", "short_reason", "status", "resolved_by"]
    list_filter = ["status"]
    list_select_related = ["resolved_by"]
    search_fields = ["=source", "sha256"]
    change_form_template = "admin/journal/quarantinedline/change_form.html"

    def has_add_permission(self, request):
        return False  # lines arrive from replays only

    def has_delete_permission(self, request, obj=None):
        return False  # a record of what was refused, and of what was decided

    @admin.display(description="spooled line")
    def where(self, obj):
        return f"{obj.source}, line {obj.line_number}"

    @admin.display(description="reason")
    def short_reason(self, obj):
        return obj.reason if len(obj.reason) <= 120 else obj.reason[:117] + "…"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        line = get_object_or_404(QuarantinedLine, pk=object_id)
        if not self.has_view_permission(request, line):
            raise PermissionDenied
        can_decide = (
            self.has_change_permission(request, line) and line.status == QuarantineStatus.PENDING
        )
        post = request.POST if request.method == "POST" else None
        action = post.get("action") if post else None
        if post is not None and not can_decide:
            raise PermissionDenied
        resubmit = ResubmitForm(
            post if action == "resubmit" else None, initial={"trade": trade_text(line)}
        )
        discard = DiscardForm(post if action == "discard" else None)
        if action == "resubmit" and resubmit.is_valid():
            if self._resubmit(request, line, resubmit):
                return redirect("admin:journal_quarantinedline_changelist")
        elif action == "discard" and discard.is_valid():
            try:
                quarantine_discard(
                    line_id=line.pk, reason=discard.cleaned_data["reason"], user=request.user
                )
            except QuarantineError as exc:
                discard.add_error(None, str(exc))
            else:
                self.message_user(request, f"Discarded {line}.", messages.SUCCESS)
                return redirect("admin:journal_quarantinedline_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": line,
            "title": f"Quarantined: {line}",
            "line_text": line_text(line),
            "can_decide": can_decide,
            "resubmit_form": resubmit,
            "discard_form": discard,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _resubmit(self, request, line, form) -> bool:
        try:
            result = quarantine_resubmit(
                line_id=line.pk, trade=form.cleaned_data["trade"], user=request.user
            )
        except TradesRejected as exc:
            for field, message in exc.by_index[0].items():
                form.add_error("trade", f"{field}: {message}")
            return False
        except QuarantineError as exc:
            form.add_error(None, str(exc))
            return False
        outcome = (
            "spooled (the database is unreachable)"
            if result.spooled
            else "stored"
            if result.created or result.closed
            else "already stored"
        )
        self.message_user(
            request, f"Re-submitted {line}: the trade is {outcome}.", messages.SUCCESS
        )
        return True
