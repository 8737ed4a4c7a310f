"""The model-health list: every production alias with its live figures, the ones past
the configured thresholds marked; and the live block a version's registry page shows.

Who may see them: staff who may view model versions in the registry (Model manager),
as the registry's version page, where the same figures are.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from backoffice.core.admin_links import change_url, linked
from backoffice.core.admin_site import ChangeList, ReadOnlyAdmin
from backoffice.core.db.routers import reads_from_replica
from serving.live.calibration_chart import calibration_svg
from serving.live.figures import Performance, version_performance, versions_performance
from serving.models import ModelHealth

PERMISSION = "models_registry.view_modelversion"


def live_performance_html(performance: Performance) -> str:
    """The live figures of one version (templates/admin/serving/live_performance.html)."""
    calib = performance.calibration
    context = {
        "p": performance,
        "t": performance.trades,
        "v": performance.volume,
        "d": performance.drift,
        "days": list(reversed(performance.volume.per_day))[:14],
        "training_metrics": sorted((performance.version.metrics or {}).items()),
        "thresholds": performance.as_dict()["thresholds"],
        "chart": mark_safe(calibration_svg(calib)) if calib is not None and calib.trades else "",  # noqa: S308 - built by serving.live.calibration_chart, every text escaped
    }
    return mark_safe(render_to_string("admin/serving/live_performance.html", context))  # noqa: S308 - an autoescaped template


def version_live_html(version) -> str:
    return live_performance_html(version_performance(version=version))


class HealthChangeList(ChangeList):
    """Judges the page's versions at once (the trades are read once for all)."""

    def get_results(self, request):
        super().get_results(request)
        page = list(self.result_list)
        judged = versions_performance(versions=[alias.version for alias in page])
        for alias in page:
            alias.performance = judged[alias.version_id]


def _performance(obj) -> Performance:
    if not hasattr(obj, "performance"):
        obj.performance = version_performance(version=obj.version)
    return obj.performance


def _number(value, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@admin.register(ModelHealth)
class ModelHealthAdmin(ReadOnlyAdmin):
    list_display = [
        "model",
        "version_link",
        "challenger_link",
        "marks",
        "trades",
        "win_rate",
        "net_pnl",
        "expectancy",
        "average_r",
        "brier",
        "calibration_error",
        "worst_drift",
        "requests",
        "latency",
    ]
    list_display_links = None
    list_select_related = ["model", "version__model", "challenger"]
    ordering = ["model__name"]
    show_facets = admin.ShowFacets.NEVER
    fields = ["model", "version_link", "live"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(name="production")

    def get_changelist(self, request, **kwargs):
        return HealthChangeList

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(PERMISSION)

    def has_module_permission(self, request):
        return request.user.has_perm(PERMISSION)

    @admin.display(description="production version")
    def version_link(self, obj):
        url = change_url(obj._meta.get_field("version").related_model, obj.version_id)
        return linked(url, obj.version)

    @admin.display(description="challenger")
    def challenger_link(self, obj):
        url = reverse("admin:serving_modelhealth_compare", args=[obj.pk])
        if obj.challenger_id is None:
            return format_html('<a href="{}">{}</a>', url, "none")
        return format_html(
            '<a href="{}">v{} ({}) — compare</a>',
            url,
            obj.challenger.version,
            obj.challenger_mode,
        )

    def get_urls(self):
        from django.urls import path

        from serving.live import challenger_admin

        site = self.admin_site
        return [
            path(
                "challenger/<int:alias_id>/",
                site.admin_view(
                    lambda r, alias_id: challenger_admin.compare_view(self, r, alias_id)
                ),
                name="serving_modelhealth_compare",
            ),
            path(
                "challenger/set/<int:model_id>/",
                site.admin_view(lambda r, model_id: challenger_admin.set_view(self, r, model_id)),
                name="serving_modelhealth_challenger_set",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="past the thresholds")
    def marks(self, obj):
        performance = _performance(obj)
        if performance.marks:
            return format_html('<span class="health-mark">{}</span>', ", ".join(performance.marks))
        if not performance.trades.trades and not performance.drift.known:
            return format_html('<span class="health-unknown">{}</span>', "not judged: no live data")
        return format_html('<span class="health-ok">{}</span>', "ok")

    @reads_from_replica
    def changelist_view(self, request, extra_context=None):
        days = settings.MODEL_HEALTH_WINDOW_DAYS
        title = f"Model health: every production version, live over the last {days} days"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.display(description="trades")
    def trades(self, obj):
        return _performance(obj).trades.trades

    @admin.display(description="win rate")
    def win_rate(self, obj):
        rate = _performance(obj).trades.win_rate
        return "—" if rate is None else f"{rate:.1%}"

    @admin.display(description="net P&L")
    def net_pnl(self, obj):
        return f"{_performance(obj).trades.net_pnl:,.2f}"

    @admin.display(description="expectancy")
    def expectancy(self, obj):
        value = _performance(obj).trades.expectancy
        return "—" if value is None else f"{value:,.2f}"

    @admin.display(description="average R")
    def average_r(self, obj):
        return _number(_performance(obj).trades.average_r, 2)

    @admin.display(description="Brier")
    def brier(self, obj):
        calib = _performance(obj).calibration
        return "—" if calib is None else _number(calib.brier, 4)

    @admin.display(description="calibration error")
    def calibration_error(self, obj):
        calib = _performance(obj).calibration
        return "—" if calib is None else _number(calib.ece, 3)

    @admin.display(description="worst drift (PSI)")
    def worst_drift(self, obj):
        drift = _performance(obj).drift
        if not drift.known:
            return "unknown"
        return f"{drift.max_psi:.3f} ({drift.worst_feature})" if drift.worst_feature else "—"

    @admin.display(description="requests")
    def requests(self, obj):
        return f"{_performance(obj).volume.requests:,.0f}"

    @admin.display(description="latency p50 / p99 ms")
    def latency(self, obj):
        volume = _performance(obj).volume
        if volume.latency_p50_ms is None:
            return "—"
        return f"{volume.latency_p50_ms:.2f} / {volume.latency_p99_ms:.2f}"

    @admin.display(description="live figures")
    def live(self, obj):
        return live_performance_html(_performance(obj))
