"""The admin site: the staff's workplace."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Trading back office"
    site_title = "Trading back office"
    index_title = "Desk"
    # Only active staff reach the admin (AdminSite.has_permission); nothing else does.

    def each_context(self, request):
        context = super().each_context(request)
        context["debug_badge"] = settings.DEBUG
        return context


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site as ``admin.site``."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"
