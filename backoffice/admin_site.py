"""The admin site: the staff's workplace."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Trading back office"
    site_title = "Trading back office"
    index_title = "Desk"
    # Only active staff reach the admin (AdminSite.has_permission); nothing else does.

    def login(self, request, extra_context=None):
        """The login page, refusing (429) an account or address that failed too often."""
        from django.contrib import messages
        from django.contrib.admin.forms import AdminAuthenticationForm
        from django.template.response import TemplateResponse

        from backoffice.login_throttle import locked_out

        if request.method == "POST" and locked_out(request, request.POST.get("username", "")):
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

    def each_context(self, request):
        context = super().each_context(request)
        context["debug_badge"] = settings.DEBUG
        return context


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site as ``admin.site``."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody adds, edits or deletes in the admin: histories and snapshots."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
