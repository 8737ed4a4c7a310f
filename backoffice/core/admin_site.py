"""The admin site: the staff's workplace, and the base every ModelAdmin of the project
derives from (ModelAdmin below)."""

from functools import update_wrapper

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList as DjangoChangeList
from django.core.exceptions import EmptyResultSet
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse_lazy

from backoffice.core import admin_links
from backoffice.core import forms as backoffice_forms

# Who may not try to log in now: (request, username) -> bool, registered by the app
# that keeps the count (apikeys.apps: the login throttle), so the shared layer imports
# no app.
LOGIN_GUARDS: list = []


def register_login_guard(guard) -> None:
    if guard not in LOGIN_GUARDS:
        LOGIN_GUARDS.append(guard)


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Trading back office"
    site_title = "Trading back office"
    index_title = "Desk"
    # "View site" opens the performance dashboard: the back office has no public site.
    site_url = reverse_lazy("admin:journal_trade_dashboard")
    # One mark for "nothing here" on every page, as the figures' own columns write it
    # (Django's default is a hyphen, which reads as a minus beside numbers).
    empty_value_display = "—"
    # Only active staff reach the admin (AdminSite.has_permission); nothing else does.

    def login(self, request, extra_context=None):
        """The login page, refusing (429) an account or address that failed too often."""
        from django.contrib import messages
        from django.contrib.admin.forms import AdminAuthenticationForm
        from django.template.response import TemplateResponse

        username = request.POST.get("username", "")
        if request.method == "POST" and any(guard(request, username) for guard in LOGIN_GUARDS):
            minutes = settings.ADMIN_LOGIN_WINDOW_SECONDS // 60
            messages.error(request, f"Too many failed logins: try again in {minutes} minutes.")
            context = {
                **self.each_context(request),
                "title": "Log in",
                "app_path": request.get_full_path(),
                "form": AdminAuthenticationForm(request),
                **(extra_context or {}),
            }
            return TemplateResponse(
                request, self.login_template or "admin/login.html", context, status=429
            )
        return super().login(request, extra_context)

    def admin_view(self, view, cacheable=False):
        """Django's admin view wrapper, drawing the page while ``admin_links.current``
        names its request: links are drawn to the pages the reader may open only."""
        inner = super().admin_view(view, cacheable)

        def with_reader(request, *args, **kwargs):
            token = admin_links.current.set(request)
            try:
                response = inner(request, *args, **kwargs)
                if callable(getattr(response, "render", None)) and not response.is_rendered:
                    response = response.render()  # here, while the reader is known
                return response
            finally:
                admin_links.current.reset(token)

        return update_wrapper(with_reader, inner)

    def each_context(self, request):
        context = super().each_context(request)
        context["debug_badge"] = settings.DEBUG
        if not request.user.has_perm("journal.view_trade"):
            context["site_url"] = None  # no "View site" to a dashboard they may not read
        return context


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site as ``admin.site``."""

    default_site = "backoffice.core.admin_site.BackofficeAdminSite"


class ChangeList(DjangoChangeList):
    """Django's changelist, refusing lookups that fail only when the SQL is built.

    Django applies a list's query-string lookups (``executed_at__year=-1``) and catches
    what fails then; a year out of range fails later, when the SQL is compiled, as a
    500. The query is compiled here, once, so that such a value is a bad lookup.
    """

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        try:
            queryset.query.get_compiler(queryset.db).as_sql()
        except EmptyResultSet:
            pass  # a selection that is known to be empty (QuerySet.none()): no SQL at all
        except (ValueError, OverflowError, TypeError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset


class ModelAdmin(admin.ModelAdmin):
    """The project's base ModelAdmin (tests/security checks that every admin uses it).

    - A filter or lookup value the list cannot use answers a 400 page saying which,
      instead of Django's silent redirect (or a 500 for values that fail late).
    - JSON fields take typed input through a field that refuses deep nesting and huge
      pastes with a form error.
    - Numbers are typed plainly (backoffice.core.forms): no NaN, exponent, underscore or
      digits of another script reaches Decimal, int or float.
    """

    formfield_overrides = {
        models.JSONField: {"form_class": backoffice_forms.JSONField},
        # By class, through the field's MRO: every integer field (small, big, positive).
        models.IntegerField: {"form_class": backoffice_forms.PlainIntegerField},
        models.DecimalField: {"form_class": backoffice_forms.PlainDecimalField},
        models.FloatField: {"form_class": backoffice_forms.PlainFloatField},
    }

    def get_changelist(self, request, **kwargs):
        return ChangeList

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            request._bad_lookup = exc
            raise

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        problem = getattr(request, "_bad_lookup", None)
        if problem is None:
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"These {self.model._meta.verbose_name_plural} cannot be filtered so",
            "problem": _plain_message(problem),
        }
        return TemplateResponse(request, "admin/bad_filter.html", context, status=400)


def _plain_message(exc: Exception) -> str:
    """The first line of the error, without the wrapping of IncorrectLookupParameters."""
    inner = exc.args[0] if exc.args else exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text[:300]


class ReadOnlyAdmin(ModelAdmin):
    """Records nobody adds, edits or deletes in the admin: histories and snapshots."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
