"""Prediction records in the admin, read-only; the model-health list (serving.live.health_admin).

A record's page shows the request's rows by feature with their outputs, and the trade
ideas that name one of its predictions (and from there their trades).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from backoffice.core.admin_links import ChainReadable, change_url, linked
from backoffice.core.admin_site import ReadOnlyAdmin
from serving.models import PredictionRecord

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 records: a hypertable of millions is never counted
    whole (the list shows "more than 10,000")."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_CAP + 1].count()


def version_link(record: PredictionRecord) -> str:
    """The record's model version, linked where the reader may open its page."""
    try:
        version_model = apps.get_model("models_registry", "ModelVersion")
    except LookupError:
        return f"{record.model}@{record.version}"
    url = change_url(version_model, record.model_version_id)
    return linked(url, f"{record.model}@{record.version}")


def record_link(record: PredictionRecord, row: int | None = None) -> str:
    """The record's id (and row), linked where the reader may open its page."""
    text = record.id.hex if row is None else f"{record.id.hex}-{row}"
    return linked(change_url(PredictionRecord, record.pk), text, css="prediction-link")


@admin.register(PredictionRecord)
class PredictionRecordAdmin(ChainReadable, ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "model_version_display",
        "alias",
        "protocol",
        "rows",
        "cached",
        "latency_ms",
        "caller",
        "request_id",
    ]
    list_filter = ["protocol", "cached", "alias"]
    # Exact matches only (an index lookup each), never '%term%'.
    search_fields = ["=model", "=request_id", "=api_key"]
    search_help_text = "A whole model name, request id or API key name."
    ordering = ["-requested_at"]
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100
    fields = [
        "id",
        "requested_at",
        "model_version_display",
        "alias",
        "protocol",
        "rows",
        "cached",
        "latency_ms",
        "caller",
        "request_id",
        "sample_rate",
        "rows_table",
        "ideas",
    ]
    readonly_fields = fields

    @admin.display(description="model version")
    def model_version_display(self, obj):
        return version_link(obj)

    @admin.display(description="asked by")
    def caller(self, obj):
        return f"API key {obj.api_key}" if obj.api_key else (obj.username or "—")

    @admin.display(description="rows (inputs by feature, output)")
    def rows_table(self, obj):
        names = obj.model_version.feature_names if obj.model_version_id else []
        inputs = obj.inputs if isinstance(obj.inputs, list) else []
        outputs = obj.outputs if isinstance(obj.outputs, list) else []
        shown = min(len(outputs), 50)
        header = format_html_join("", "<th>{}</th>", ((name,) for name in names))
        body = format_html_join(
            "",
            "<tr><td>{}</td>{}<td>{}</td></tr>",
            (
                (
                    f"{obj.id.hex}-{row}",
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        ((value,) for value in (inputs[row] if row < len(inputs) else [])),
                    ),
                    "—" if outputs[row] is None else f"{float(outputs[row]):.6g}",
                )
                for row in range(shown)
            ),
        )
        more = "" if shown == len(outputs) else f" (the first {shown} of {len(outputs)} rows)"
        return format_html(
            '<table class="record-rows"><tr><th>prediction id</th>{}<th>output</th></tr>{}'
            "</table>{}",
            header,
            body,
            more,
        )

    @admin.display(description="trade ideas from these predictions")
    def ideas(self, obj):
        if not apps.is_installed("desk"):
            return "—"
        from desk.selectors import ideas_of_record

        ideas = ideas_of_record(record_id=obj.id, rows=obj.rows)
        if not ideas:
            return "none"
        idea_model = apps.get_model("desk", "TradeIdea")
        return format_html_join(
            ", ", "{}", ((linked(change_url(idea_model, i.pk), str(i)),) for i in ideas)
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("model_version")

    def has_view_permission(self, request, obj=None):
        # A model manager reads the traffic of the versions they judge.
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "models_registry.view_modelversion"
        )

    def has_module_permission(self, request):
        return super().has_module_permission(request) or request.user.has_perm(
            "models_registry.view_modelversion"
        )


from serving.live import health_admin  # noqa: E402,F401 - registers the model-health list
