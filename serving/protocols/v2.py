"""The Open Inference Protocol (V2) beside /api/v1/: the paths KServe, Triton and
MLServer clients call.

  GET  /v2/health/live, /v2/health/ready        no credentials (orchestrators' probes)
  GET  /v2                                      server metadata
  GET  /v2/models/{name}[/versions/{v}]         model metadata: input and output tensors
  GET  /v2/models/{name}[/versions/{v}]/ready
  POST /v2/models/{name}[/versions/{v}]/infer   tensors in, tensors out

The same API keys (scope ``predict``), staff sessions, throttle, prediction cache, log
lines and metrics as POST /api/v1/models/{name}/predict, through the same service
(serving.predict.services.prediction_make). ``{v}`` is a version number or an alias; without
it, the ``production`` alias. Errors are the protocol's ``{"error": "..."}`` with the
HTTP status a V2 client expects. Tensors: serving.protocols.tensors.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from backoffice.core.api.renderers import FastJSONRenderer
from backoffice.core.errors import PayloadTooLarge
from backoffice.core.ops import health
from backoffice.core.text import plain_digits as _plain_digits
from models_registry.artifacts.loaders import ONNX, Signature, tabular_signature
from models_registry.errors import NotFound
from serving.errors import InvalidInput, ServingError
from serving.models import Protocol
from serving.predict.auth import (
    PREDICT,
    RawBodySessionAuthentication,
    RememberingApiKeyAuthentication,
    caller_of,
)
from serving.predict.runtime import current
from serving.predict.services import prediction_make
from serving.predict.throttles import PredictRateThrottle
from serving.protocols import schemas as documented
from serving.protocols.tensors import encode_answer, parse_infer, rows_for
from serving.served import ServedVersion

SERVER_NAME = "backoffice"
SERVER_VERSION = "1.0.0"
EXTENSIONS = ["binary_tensor_data"]
_VERSION = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
_PLATFORMS = {
    "xgboost": "xgboost_json",
    "lightgbm": "lightgbm_text",
    "sklearn-skops": "sklearn_skops",
    "sklearn-joblib": "sklearn_joblib",
    ONNX: "onnxruntime_onnx",
}


class FirstRenderer(BaseContentNegotiation):
    """JSON whatever the client's Accept says: V2 answers JSON (or JSON and bytes)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class V2View(APIView):
    authentication_classes = [RememberingApiKeyAuthentication, RawBodySessionAuthentication]
    permission_classes = [PREDICT]
    renderer_classes = [FastJSONRenderer]
    parser_classes: list = []
    content_negotiation_class = FirstRenderer

    def handle_exception(self, exc):
        """Every error as the protocol's {"error": message}, keeping DRF's status and
        headers (WWW-Authenticate, Retry-After)."""
        if isinstance(exc, NotFound):
            exc = exceptions.NotFound(str(exc))
        if isinstance(exc, ServingError | PayloadTooLarge):
            response = HttpResponse(
                FastJSONRenderer().render({"error": str(exc)}),
                status=exc.status,
                content_type="application/json",
            )
            if exc.status == 503:
                response["Retry-After"] = "5"
            return response
        response = super().handle_exception(exc)
        data = response.data
        message = data.get("detail", data) if isinstance(data, dict) else data
        response.data = {"error": str(message)}
        return response


def _target(name: str, version: str | None, *, check: bool = True) -> ServedVersion:
    """The served version of ``name`` at a version number or an alias (default production).

    ``check=False``: the alias stamps are read by the prediction's own round trip.
    """
    rt = current()
    if version is None:
        return rt.resolver.resolve(model=name, alias=None, version=None, check=check)
    if not _VERSION.match(version):
        raise InvalidInput("a version is a number or an alias (a slug)", field="version")
    if _plain_digits(version):
        if not 0 < int(version) < 2**31:
            raise NotFound(f"model {name} has no version {version}")
        return rt.resolver.resolve(model=name, alias=None, version=int(version), check=check)
    return rt.resolver.resolve(model=name, alias=version, version=None, check=check)


def signature_of(served: ServedVersion) -> Signature:
    """The version's tensors: from the schema for tree models, from the graph for ONNX."""
    rt = current()
    if served.framework == ONNX:
        return rt.predictors.get(served, count_hit=False).predictor.signature()
    return tabular_signature(len(served.feature_names))


def _tensor(tensor) -> dict:
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": [-1, *tensor.shape]}


@documented.live
class ServerLiveView(V2View):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return HttpResponse(b'{"live":true}', content_type="application/json")


@documented.ready
class ServerReadyView(V2View):
    """Ready when /readyz is: the database, the cache and the spool answer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        ok, _ = health.run_checks()
        body = b'{"ready":true}' if ok else b'{"ready":false}'
        response = HttpResponse(body, status=200 if ok else 503, content_type="application/json")
        if not ok:
            response["Retry-After"] = "5"
        return response


@documented.server_metadata
class ServerMetadataView(V2View):
    def get(self, request):
        return self._json(
            {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": EXTENSIONS}
        )

    @staticmethod
    def _json(body: dict) -> HttpResponse:
        return HttpResponse(FastJSONRenderer().render(body), content_type="application/json")


@documented.model_metadata
class ModelMetadataView(ServerMetadataView):
    def get(self, request, name: str, version: str | None = None):
        served = _target(name, version)
        signature = signature_of(served)
        return self._json(
            {
                "name": served.model,
                "versions": [str(served.version)],
                "platform": _PLATFORMS.get(served.framework, served.framework),
                "inputs": [_tensor(t) for t in signature.inputs],
                "outputs": [_tensor(t) for t in signature.outputs],
                "parameters": {
                    "features": list(served.feature_names),
                    "output_kind": served.output_kind,
                },
            }
        )


@documented.model_ready
class ModelReadyView(ServerMetadataView):
    """Ready once this worker has loaded the version (loading it now if need be)."""

    def get(self, request, name: str, version: str | None = None):
        rt = current()
        served = _target(name, version)
        rt.predictors.get(served, count_hit=False)  # ModelUnavailable (503) if it cannot load
        return self._json({"name": served.model, "ready": True})


@documented.model_infer
class InferView(V2View):
    throttle_classes = [PredictRateThrottle]

    def post(self, request, name: str, version: str | None = None):
        raw = read_body(request)
        served = _target(name, version, check=False)
        infer = parse_infer(
            raw,
            request.headers.get("Inference-Header-Content-Length"),
            max_rows=settings.SERVING_MAX_ROWS,
            features=len(served.feature_names),
            max_values=settings.SERVING_MAX_VALUES,
        )
        _check_named(infer, name, version, served)
        signature = signature_of(served)

        def rows_from(current: ServedVersion):
            # ``current`` differs from ``served`` only if the alias moved meanwhile.
            tensors = signature if current.id == served.id else signature_of(current)
            return rows_for(
                infer, tensors, current.feature_names, max_rows=settings.SERVING_MAX_ROWS
            )

        alias = None if version is not None and _plain_digits(version) else version
        number = int(version) if version is not None and _plain_digits(version) else None
        result = prediction_make(
            model=name,
            alias=alias,
            version=number,
            rows_from=rows_from,
            protocol=Protocol.V2,
            caller=caller_of(request),
        )
        render_started = time.perf_counter()
        body, header_length = encode_answer(
            infer,
            signature if result.served.id == served.id else signature_of(result.served),
            model=result.served.model,
            version=result.served.version,
            predictions=result.predictions,
            # A row's prediction id is this one, "-", and the row's index.
            parameters={"prediction_id": result.record_hex},
        )
        if header_length is None:
            response = HttpResponse(body, content_type="application/json")
        else:
            response = HttpResponse(body, content_type="application/octet-stream")
            response["Inference-Header-Content-Length"] = str(header_length)
        response["Server-Timing"] = result.server_timing(render_started=render_started)
        response["X-Prediction-Id"] = result.record_hex
        return response


def _check_named(infer, name: str, version: str | None, served: ServedVersion) -> None:
    """A body that names its model (KServe's client does) names the URL's: the URL
    decides what is served, and a body meant for another model is refused."""
    if infer.model_name is not None and infer.model_name != name:
        raise InvalidInput(
            f"model_name {infer.model_name[:60]!r} is not the model of the URL ({name!r})",
            field="model_name",
        )
    accepted = {str(served.version)} | ({version} if version else set())
    if infer.model_version is not None and infer.model_version not in accepted:
        raise InvalidInput(
            f"model_version {infer.model_version[:60]!r} is not the version served "
            f"({' or '.join(sorted(accepted))})",
            field="model_version",
        )


# The same views under /versions/{version}, documented with that parameter.
@documented.version_metadata
class VersionMetadataView(ModelMetadataView):
    pass


@documented.version_ready
class VersionReadyView(ModelReadyView):
    pass


@documented.version_infer
class VersionInferView(InferView):
    pass


def read_body(request) -> bytes:
    """The body, at most SERVING_MAX_BODY_MB; compressed bodies are refused."""
    limit = settings.SERVING_MAX_BODY_MB * 1024 * 1024
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in {"", "identity"}:
        raise InvalidInput(
            f"Content-Encoding {encoding[:20]!r} is not supported: send the body uncompressed",
            field="Content-Encoding",
        )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if _plain_digits(declared) and int(declared) > limit:
        raise PayloadTooLarge(f"the body is larger than {settings.SERVING_MAX_BODY_MB} MB")
    data = request._request.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the body is larger than {settings.SERVING_MAX_BODY_MB} MB")
    return data
