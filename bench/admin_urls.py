"""URLs of the admin benchmark (bench/admin_pages.py): the project's, plus a default admin.

/default-admin/ is a second AdminSite with a plain ModelAdmin for trades, as the admin
comes out of the box: the full result count, a second count of the whole table, and a
date_hierarchy on executed_at. Only the benchmark's child process uses this URLconf.
"""

from django.contrib import admin
from django.urls import path

from backoffice.urls import urlpatterns as project_urlpatterns
from journal.models import Trade


class DefaultTradeAdmin(admin.ModelAdmin):
    list_display = [
        "executed_at",
        "symbol",
        "side",
        "quantity",
        "entry_price",
        "exit_price",
        "pnl",
        "strategy",
        "account",
        "model_version",
    ]
    search_fields = ["trade_id", "symbol", "broker_order_id"]
    date_hierarchy = "executed_at"
    # Django's own template, not the project's override for trades (its buttons link to
    # views of the project's admin site).
    change_list_template = "admin/change_list.html"


class DefaultTradeAdminWithFilters(DefaultTradeAdmin):
    """The same with the list's filters declared the plain way (SELECT DISTINCT each)."""

    list_filter = ["symbol", "strategy", "side", "account"]


default_site = admin.AdminSite(name="default_admin")
default_site.register(Trade, DefaultTradeAdmin)

filtered_site = admin.AdminSite(name="default_admin_filters")
filtered_site.register(Trade, DefaultTradeAdminWithFilters)

urlpatterns = [
    path("default-admin/", default_site.urls),
    path("default-admin-filters/", filtered_site.urls),
    *project_urlpatterns,
]
