"""Four eyes in the admin: a request a person made, waiting for a second person.

Two apps keep such requests (desk: looser risk limits; models_registry: breaking alias
moves). Their pages work the same way, so one ModelAdmin serves both: the request
read-only, its decision ("Confirmed by rosa at ..."), and for a person who holds the
permission a Confirm and a Decline (a Withdraw for the person who asked) in a form of
its own after the change form (templates/admin/four_eyes_request.html: a form inside
the change form would be dropped by browsers). The app says what Confirm and Decline
do, which errors its services raise, and what a stale request means.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from backoffice.core.admin_site import ReadOnlyAdmin
from backoffice.core.formatting import when

NOTE_MAX = 500


class DecideRequestForm(forms.Form):
    """The second person's note, kept with the decision."""

    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=NOTE_MAX,
        required=False,
        help_text="Kept with the decision; required to decline.",
    )


class FourEyesRequestAdmin(ReadOnlyAdmin):
    change_form_template = "admin/four_eyes_request.html"
    # Set by the app's admin:
    permission: str = ""  # who may decide ("app.codename")
    errors: tuple[type[Exception], ...] = ()  # what confirm() and decline() refuse with
    confirm_label = "Confirm"  # the button, e.g. "Confirm: apply these limits"
    asked_words = "this"  # "You asked for <this change>: ..."
    stale_message = "Things changed since this was asked: nothing was done."

    def confirm(self, *, request_id: int, user, note: str):
        raise NotImplementedError

    def decline(self, *, request_id: int, user, note: str):
        raise NotImplementedError

    def is_pending(self, obj) -> bool:
        return obj.status == "pending"

    def is_stale(self, obj) -> bool:
        return obj.status == "stale"

    @admin.display(description="decision")
    def decision(self, obj):
        if self.is_pending(obj):
            return "—"
        note = f": {obj.decision_note}" if obj.decision_note else ""
        return f"{obj.get_status_display()} by {obj.decided_by} at {when(obj.decided_at)}{note}"

    def _decide_url_name(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}_{meta.model_name}_decide"

    def get_urls(self):
        custom = [
            path(
                "<int:request_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name=self._decide_url_name(),
            )
        ]
        return custom + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["may_decide"] = (
            obj is not None and self.is_pending(obj) and request.user.has_perm(self.permission)
        )
        context["asked_by_you"] = obj is not None and obj.requested_by_id == request.user.pk
        context["decide_form"] = DecideRequestForm()
        context["decide_url"] = (
            reverse(f"admin:{self._decide_url_name()}", args=[obj.pk]) if obj else ""
        )
        context["confirm_label"] = self.confirm_label
        context["asked_words"] = self.asked_words
        return super().render_change_form(request, context, add, change, form_url, obj)

    def decide_view(self, request, request_id):
        if request.method != "POST" or not request.user.has_perm(self.permission):
            raise PermissionDenied
        item = get_object_or_404(self.model, pk=request_id)
        meta = self.model._meta
        back = redirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[item.pk]))
        form = DecideRequestForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        decide = self.confirm if "_confirm" in request.POST else self.decline
        try:
            decided = decide(request_id=item.pk, user=request.user, note=note)
        except self.errors as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        if self.is_stale(decided):
            self.message_user(request, self.stale_message, messages.ERROR)
        else:
            self.message_user(request, f"{decided}.", messages.SUCCESS)
        return back
