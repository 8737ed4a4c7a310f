"""Quarantined spool lines in the admin: an operator's worklist.

A line a replay could not store is listed here with its exact bytes and the reason. An
operator corrects the fields the line failed on and re-submits it (which needs the API's
permission to store trades), or discards the line with a reason; either decision is
recorded on the line (journal.write.quarantine), a re-submission with its audit row.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from backoffice.core.admin_site import ModelAdmin
from journal.models import QuarantinedLine, QuarantineResubmission, QuarantineStatus
from journal.write.capture import TradesRejected
from journal.write.quarantine import (
    ADD_PERMISSION,
    QuarantineError,
    line_correction,
    quarantine_discard,
    quarantine_resubmit,
)


def line_text(line: QuarantinedLine) -> str:
    """The line's bytes as text a page can show (undecodable bytes as \\xNN)."""
    return bytes(line.raw).decode("utf-8", "backslashreplace").rstrip("\n")


def json_text(value) -> str:
    """``value`` as indented JSON to show or edit. Non-ASCII characters are escaped, so
    that a lone surrogate or a NUL (a reason for quarantine) shows as \\ud800 to be fixed
    instead of breaking the page."""
    return json.dumps(value, indent=2, ensure_ascii=True)


def printable(name: str) -> str:
    """A field name as a page may show it, control characters and surrogates escaped."""
    return json.dumps(name, ensure_ascii=True)[1:-1]


class ResubmitForm(forms.Form):
    trade = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "cols": 90, "class": "vLargeTextField"}),
        help_text=(
            "The corrected values of the fields the line failed on, as a JSON object "
            "(drop a field to leave it out). Every other field stays as the line said."
        ),
    )

    def clean_trade(self):
        try:
            value = json.loads(self.cleaned_data["trade"])
        except (ValueError, RecursionError) as exc:
            raise forms.ValidationError(f"This is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Give the corrections as one JSON object.")
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
        correction = line_correction(line)
        no_resubmit = self._why_no_resubmit(request, correction)
        post = request.POST if request.method == "POST" else None
        action = post.get("action") if post else None
        if post is not None and not can_decide:
            raise PermissionDenied
        if action == "resubmit" and no_resubmit:
            raise PermissionDenied(no_resubmit)
        resubmit = ResubmitForm(
            post if action == "resubmit" else None,
            initial={"trade": json_text(correction.editable())},
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
            "failing": [(printable(n), reason) for n, reason in correction.failing.items()],
            "can_decide": can_decide,
            "no_resubmit": no_resubmit,
            "resubmit_form": resubmit,
            "discard_form": discard,
            "resubmission": self._resubmission(line),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_form_template, context)

    @staticmethod
    def _why_no_resubmit(request, correction) -> str:
        """Why this user may not re-submit this line ("" when they may)."""
        if correction.problem:
            return f"This line can only be discarded: {correction.problem}."
        if not request.user.has_perm(ADD_PERMISSION):
            return (
                "Re-submitting stores a trade, which needs the permission "
                f"{ADD_PERMISSION!r} (as through the API); this line can be discarded."
            )
        return ""

    @staticmethod
    def _resubmission(line):
        try:
            audit = line.resubmission
        except QuarantineResubmission.DoesNotExist:
            return None
        return {
            "by": audit.resubmitted_by,
            "at": audit.resubmitted_at,
            "outcome": audit.outcome,
            "changed": ", ".join(json.loads(audit.changed_fields)) or "nothing",
            "original": json_text(json.loads(audit.original)),
            "corrected": json_text(json.loads(audit.corrected)),
        }

    def _resubmit(self, request, line, form) -> bool:
        try:
            result = quarantine_resubmit(
                line_id=line.pk, trade=form.cleaned_data["trade"], user=request.user
            )
        except TradesRejected as exc:
            for field, message in exc.by_index[0].items():
                form.add_error("trade", f"{printable(field)}: {message}")
            return False
        except QuarantineError as exc:
            form.add_error(None, str(exc))
            return False
        outcome = "stored" if result.created or result.closed else "already stored"
        self.message_user(
            request, f"Re-submitted {line}: the trade is {outcome}.", messages.SUCCESS
        )
        return True
