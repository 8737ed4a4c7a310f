"""The Open Inference Protocol's paths under /v2 (included by backoffice/urls.py)."""

from django.urls import path

from serving.protocols import v2

_MODEL = "models/<slug:name>"
_VERSION = "models/<slug:name>/versions/<str:version>"

urlpatterns = [
    path("health/live", v2.ServerLiveView.as_view(), name="v2-live"),
    path("health/ready", v2.ServerReadyView.as_view(), name="v2-ready"),
    path(_MODEL, v2.ModelMetadataView.as_view(), name="v2-model"),
    path(f"{_MODEL}/ready", v2.ModelReadyView.as_view(), name="v2-model-ready"),
    path(f"{_MODEL}/infer", v2.InferView.as_view(), name="v2-infer"),
    path(_VERSION, v2.VersionMetadataView.as_view(), name="v2-version"),
    path(f"{_VERSION}/ready", v2.VersionReadyView.as_view(), name="v2-version-ready"),
    path(f"{_VERSION}/infer", v2.VersionInferView.as_view(), name="v2-version-infer"),
]
