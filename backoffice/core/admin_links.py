"""Links between admin pages that the reader may open, and who may read the chain.

The chain prediction → idea → decisions → trade → review crosses four apps. A link is
drawn only to a page the person reading may open (its ModelAdmin's view permission);
otherwise its text is shown without a link, so nobody clicks into a refusal.

The page being drawn is known through ``current``, which the admin site sets around
each of its views, rendering included (backoffice.core.admin_site.BackofficeAdminSite
.admin_view). Outside an admin page (a command, a helper called alone) every link is
drawn: the target page still checks its permission.

Reviewers read the chain: anyone who may review trades (``journal.change_tradereview``)
may open the prediction records, trade ideas, decisions and model versions a trade
leads to, read-only (``ChainReadable``). That is the admin's reach only: a model
permission would also open the API's endpoints that those permissions guard (running
predictions, for one), which reviewing does not need.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

REVIEW_PERMISSION = "journal.change_tradereview"

current: ContextVar = ContextVar("admin_request", default=None)


def may_review_trades(user) -> bool:
    """Whether ``user`` may review trades: then they read the chain behind a trade."""
    return bool(user and user.is_active and user.is_staff and user.has_perm(REVIEW_PERMISSION))


class ChainReadable:
    """A ModelAdmin of a record of the chain: readable by anyone who may review trades
    (the page stays read-only: no change permission comes with it)."""

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or may_review_trades(request.user)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or may_review_trades(request.user)

    def changelist_view(self, request, extra_context=None):
        # Who reads the list only as a reviewer (no permission of the model's own) sends
        # it no POST: an action or an edit needs the model's permissions.
        if request.method == "POST" and not super().has_view_permission(request):
            raise PermissionDenied("reading the chain gives no action on it")
        return super().changelist_view(request, extra_context)


def viewable(model) -> bool:
    """Whether the page being drawn is for someone who may open ``model``'s pages."""
    request = current.get()
    if request is None:
        return True
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return False
    return model_admin.has_view_permission(request)


def change_url(model, pk) -> str:
    """The admin page of ``model``'s row ``pk``, or "" when the reader may not open it
    (or no admin shows it)."""
    if not viewable(model):
        return ""
    meta = model._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def changelist_url(model) -> str:
    """The admin list of ``model``, or "" when the reader may not open it."""
    if not viewable(model):
        return ""
    meta = model._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    except NoReverseMatch:
        return ""


def linked(url: str, text, *, css: str = "") -> SafeString:
    """``text`` as a link to ``url``; the text alone when there is no URL."""
    if not url:
        return format_html('<span class="{}">{}</span>', f"unlinked {css}".strip(), text)
    if css:
        return format_html('<a href="{}" class="{}">{}</a>', url, css, text)
    return format_html('<a href="{}">{}</a>', url, text)
