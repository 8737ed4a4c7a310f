"""The admin site: the staff's workplace."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Trading back office"
    site_title = "Trading back office"
    index_title = "Desk"
    # Only active staff reach the admin (AdminSite.has_permission); nothing else does.


class BackofficeAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site as ``admin.site``."""

    default_site = "backoffice.admin_site.BackofficeAdminSite"
