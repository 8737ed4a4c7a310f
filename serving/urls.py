"""This app's endpoints under /api/v1/ (included by backoffice/urls.py)."""

from django.urls import path

from serving import api

urlpatterns = [
    path("models/<slug:name>/predict", api.PredictView.as_view(), name="models-predict"),
    path("cache", api.CacheView.as_view(), name="cache"),
]
