"""The admin site: the staff's workplace."""

from django.contrib import admin


class BackofficeAdminSite(admin.AdminSite):
    site_header = "Trading back office"
    site_title = "Trading back office"
    index_title = "Desk"
    # Only active staff reach the admin (AdminSite.has_permission); nothing else does.
