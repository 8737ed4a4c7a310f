"""Broker statements in the admin: upload, read the dry run, add what is missing, import.

The add page is the upload (a file, its format or "detect", the time zone of its
times); the statement's page shows the dry run's report (rows, errors by line,
duplicates, symbols that are no instrument, each with its one-click "Add" for a person
allowed to add instruments), the running step's progress (the page reloads itself),
and the import's outcome. Every action is a POST to the statement's page, handled by
journal.statements.services, which checks its permission.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from backoffice.core.admin_site import ModelAdmin
from journal.models import StatementImport, StatementStatus
from journal.statements import formats, jobs
from journal.statements.services import (
    AUTO,
    IMPORT_PERMISSION,
    INSTRUMENT_PERMISSION,
    UPLOAD_PERMISSION,
    StatementRefused,
    is_stale,
    statement_add_instrument,
    statement_check_again,
    statement_import,
    statement_run_again,
    statement_upload,
)

RUNNING = (
    StatementStatus.WAITING_CHECK,
    StatementStatus.CHECKING,
    StatementStatus.WAITING_IMPORT,
    StatementStatus.IMPORTING,
)
TIME_ZONE_HELP = (
    "The clock the statement's times are written in (an IANA name): MT5 reports use the "
    "trade server's (often Europe/Athens or Europe/Helsinki), IBKR the one set in the "
    "Flex Query (often America/New_York). The journal's own records carry offsets."
)


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        help_text="An IBKR Flex Query (XML or CSV, the Trades section), an MT5 trade "
        "history report (HTML), or the journal's own CSV or JSON lines."
    )
    format = forms.ChoiceField(choices=[(AUTO, "detect from the file"), *formats.CHOICES])
    time_zone = forms.CharField(
        max_length=64,
        initial="UTC",
        help_text=TIME_ZONE_HELP,
        widget=forms.TextInput(attrs={"list": "time-zones", "class": "vTextField"}),
    )
    account = forms.CharField(
        max_length=64,
        required=False,
        help_text="A broker statement's trades are stored under this account (empty: the "
        "statement's own account number).",
    )
    strategy = forms.CharField(
        max_length=64, required=False, help_text="The strategy of a broker statement's trades."
    )


COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "Asia/Tokyo",
    "Asia/Hong_Kong",
    "Australia/Sydney",
)


@admin.register(StatementImport)
class StatementImportAdmin(ModelAdmin):
    list_display = ["uploaded_at", "filename", "format_label", "status", "outcome", "uploaded_by"]
    list_filter = ["status", "format"]
    list_select_related = ["uploaded_by"]
    search_fields = ["=filename", "=sha256"]
    change_form_template = "admin/journal/statementimport/change_form.html"
    # The pages are the upload and the statement's own (no ModelForm saves a statement):
    # the form of the model names what the statement is, for the admin's own machinery.
    fields = ["filename", "format", "time_zone", "account", "strategy"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    def has_add_permission(self, request):
        return request.user.has_perm(UPLOAD_PERMISSION)

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was brought in, and from which file

    @admin.display(description="format")
    def format_label(self, obj):
        return formats.LABELS.get(obj.format, obj.format)

    @admin.display(description="outcome")
    def outcome(self, obj):
        report = obj.import_report or obj.check_report or {}
        if not report:
            return obj.failure[:120] if obj.failure else "—"
        if obj.import_report:
            return (
                f"{report.get('new', 0):,} new, {report.get('closes', 0):,} closed, "
                f"{report.get('duplicates', 0):,} duplicates, "
                f"{report.get('quarantined', 0):,} quarantined"
            )
        return (
            f"dry run: {report.get('trades', 0):,} trades, {report.get('invalid', 0):,} "
            f"rows with errors, {report.get('duplicates', 0):,} duplicates"
        )

    def get_urls(self):
        # The add page is the upload (before ModelAdmin's own add/, which it replaces).
        upload = self.admin_site.admin_view(self.upload_view)
        return [
            path("add/", upload, name="journal_statementimport_add"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Upload a statement; its dry run starts at once, on its page."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                statement = statement_upload(
                    user=request.user,
                    filename=upload.name,
                    data=b"".join(upload.chunks()),
                    fmt=form.cleaned_data["format"],
                    time_zone=form.cleaned_data["time_zone"].strip(),
                    account=form.cleaned_data["account"],
                    strategy=form.cleaned_data["strategy"],
                )
            except StatementRefused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                return redirect("admin:journal_statementimport_change", statement.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "zones": COMMON_ZONES,
            "title": "Upload a broker statement",
            "max_mb": _max_mb(),
        }
        return TemplateResponse(request, "admin/journal/statementimport/upload.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        statement = get_object_or_404(StatementImport, pk=object_id)
        if not self.has_view_permission(request, statement):
            raise PermissionDenied
        if request.method == "POST":
            return self._act(request, statement)
        now = timezone.now()
        report = statement.check_report or {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": statement,
            "title": f"Broker statement: {statement.filename}",
            "format_label": formats.LABELS.get(statement.format, statement.format),
            "running": statement.status in RUNNING,
            "progress": jobs.progress_get(statement.pk),
            "stale": is_stale(statement, now=now),
            "report": report,
            "result": statement.import_report or {},
            "unknown": self._unknown(request, statement, report),
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            "can_check": request.user.has_perm(UPLOAD_PERMISSION),
            "import_permission": IMPORT_PERMISSION,
            "instrument_permission": INSTRUMENT_PERMISSION,
            "checked": statement.status == StatementStatus.CHECKED,
            "earlier": self._earlier(statement),
            "quarantine_url": reverse("admin:journal_quarantinedline_changelist")
            + "?"
            + urlencode({"q": f"statement {statement.pk}: {statement.filename}"[:200]}),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _act(self, request, statement):
        action = request.POST.get("action", "")
        actions = {
            "import": lambda: statement_import(statement_id=statement.pk, user=request.user),
            "check_again": lambda: statement_check_again(
                statement_id=statement.pk, user=request.user
            ),
            "run_again": lambda: statement_run_again(statement_id=statement.pk, user=request.user),
            "add_instrument": lambda: statement_add_instrument(
                statement_id=statement.pk,
                symbol=request.POST.get("symbol", "")[:64],
                user=request.user,
            ),
        }
        if action not in actions:
            self.message_user(request, "Nothing was done: no such action.", messages.ERROR)
            return redirect("admin:journal_statementimport_change", statement.pk)
        try:
            done = actions[action]()
        except StatementRefused as exc:
            if exc.status == 403:
                raise PermissionDenied(str(exc)) from None
            self.message_user(request, f"Nothing was done: {exc}.", messages.ERROR)
        else:
            self.message_user(request, _done_message(action, done), messages.SUCCESS)
        return redirect("admin:journal_statementimport_change", statement.pk)

    @staticmethod
    def _unknown(request, statement, report) -> list[dict]:
        """The unknown symbols with what this user may do about each."""
        may_add = request.user.has_perm(INSTRUMENT_PERMISSION)
        out = []
        for item in report.get("unknown_symbols", []):
            proposal = item.get("proposal", {})
            query = urlencode({**proposal, "_statement": statement.pk})
            out.append(
                {
                    **item,
                    "may_add": may_add,
                    "form_url": reverse("admin:journal_instrument_add") + "?" + query,
                    "summary": _proposal_text(proposal),
                }
            )
        return out

    @staticmethod
    def _earlier(statement):
        return (
            StatementImport.objects.filter(sha256=statement.sha256, pk__lt=statement.pk)
            .defer("content")
            .order_by("-pk")
            .first()
        )


def _proposal_text(fields: dict) -> str:
    parts = []
    if fields.get("asset_class"):
        parts.append(fields["asset_class"])
    if fields.get("quote_currency"):
        parts.append(f"quoted in {fields['quote_currency']}")
    if fields.get("tick_size"):
        parts.append(f"tick {fields['tick_size']} ({fields.get('price_decimals')} decimals)")
    if fields.get("quantity_step"):
        parts.append(f"step {fields['quantity_step']} {fields.get('quantity_unit', '')}".strip())
    if fields.get("point_value"):
        parts.append(f"a move of 1.0 worth {fields['point_value']}")
    return ", ".join(parts)


def _done_message(action: str, done) -> str:
    if action == "import":
        return "The import has started; this page shows its progress."
    if action == "check_again":
        return "The dry run runs again."
    if action == "run_again":
        return "The step runs again."
    return (
        f"Added the instrument {done.symbol} (tick {done.tick_size.normalize():f}, step "
        f"{done.quantity_step.normalize():f} {done.quantity_unit}); the dry run runs again. "
        "Check its tick under Instruments if the market's is coarser."
    )


def _max_mb() -> int:
    return settings.JOURNAL_STATEMENT_MAX_MB
