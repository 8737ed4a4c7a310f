"""This app's endpoints under /api/v1/ (included by backoffice/urls.py)."""

from django.urls import path

from models_registry import api

urlpatterns = [
    path("models", api.ModelListView.as_view(), name="models-list"),
    path("models/<slug:name>", api.ModelDetailView.as_view(), name="models-detail"),
]
