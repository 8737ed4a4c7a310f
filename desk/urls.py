"""The desk's endpoints under /api/v1/."""

from django.urls import path

from desk import api

urlpatterns = [
    path("trade-ideas", api.TradeIdeasView.as_view(), name="trade-ideas"),
    path("decisions", api.DecisionsView.as_view(), name="decisions"),
]
