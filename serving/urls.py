"""This app's endpoints under /api/v1/ (included by backoffice/urls.py)."""

from django.urls import path

from serving import api, invocations, performance_api

urlpatterns = [
    path("models/<slug:name>/predict", api.PredictView.as_view(), name="models-predict"),
    path(
        "models/<slug:name>/invocations",
        invocations.InvocationsView.as_view(),
        name="models-invocations",
    ),
    path(
        "models/<slug:name>/versions/<int:version>/performance",
        performance_api.PerformanceView.as_view(),
        name="models-version-performance",
    ),
    path("cache", api.CacheView.as_view(), name="cache"),
]
