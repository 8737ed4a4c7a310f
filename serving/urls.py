"""This app's endpoints under /api/v1/ (included by backoffice/urls.py)."""

from django.urls import path

from serving.live import challenger_api
from serving.live import figures_api as performance_api
from serving.predict import api
from serving.protocols import invocations

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
    path(
        "models/<slug:name>/aliases/<slug:alias>/challenger",
        challenger_api.ChallengerView.as_view(),
        name="models-alias-challenger",
    ),
    path(
        "models/<slug:name>/aliases/<slug:alias>/challenger/promote",
        challenger_api.PromoteView.as_view(),
        name="models-alias-challenger-promote",
    ),
    path(
        "models/<slug:name>/aliases/<slug:alias>/rollback",
        challenger_api.RollbackView.as_view(),
        name="models-alias-rollback",
    ),
    path("cache", api.CacheView.as_view(), name="cache"),
]
