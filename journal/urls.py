"""The journal's endpoints under /api/v1/."""

from django.urls import path

from journal import api

urlpatterns = [
    path("trades", api.TradesView.as_view(), name="trades"),
    path("metrics", api.MetricsView.as_view(), name="metrics"),
    path("positions", api.PositionsView.as_view(), name="positions"),
]
