from functools import wraps

from csp.decorators import csp_update
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from backoffice.core.api import schema  # noqa: F401 - registers the API-key scheme
from backoffice.core.http import front
from backoffice.core.ops import health, prometheus
from serving.protocols import v2

# Each app lists its endpoints in its own urls.py.
api_v1 = [
    path("", include("journal.urls")),
    path("", include("desk.urls")),
    path("", include("models_registry.urls")),
    path("", include("serving.urls")),
]


def same_origin_only(view):
    """Cross-Origin-Resource-Policy: same-origin on the view's answers."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response

    return wrapped


def favicon(request):
    """/favicon.ico, which browsers ask every site for: the admin's icon (a static file;
    its URL carries the file's hash in production: looked up per request, and a
    temporary redirect, so that no browser keeps an old one)."""
    return HttpResponseRedirect(static("backoffice/favicon.ico"))


urlpatterns = [
    path("", front.home, name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", prometheus.metrics_view, name="prometheus-metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    # The Open Inference Protocol (V2) of KServe, Triton and MLServer clients.
    path("v2", v2.ServerMetadataView.as_view(), name="v2-server"),
    path("v2/", include("serving.protocols.v2_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file (?script), so the page
    # runs under the Content-Security-Policy without inline scripts; its stylesheet
    # draws icons as data: images, which this page alone may load.
    # Its script (?script) carries the CSRF token: no other origin may load it.
    path(
        "api/docs/",
        same_origin_only(
            csp_update({"img-src": ["data:"]})(
                SpectacularSwaggerSplitView.as_view(
                    url_name="schema", template_name="api/swagger_ui.html"
                )
            )
        ),
        name="api-docs",
    ),
    # Last: what no route takes gets the project's 404, with DEBUG on too.
    re_path(r"^(?P<path>.*)$", front.unmatched, name=front.UNMATCHED),
]

handler403 = "backoffice.core.http.denied.permission_denied"
handler404 = "backoffice.core.api.errors.not_found"
handler500 = "backoffice.core.api.errors.server_error"
