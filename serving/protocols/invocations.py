"""POST /api/v1/models/{name}/invocations: MLflow's scoring bodies and answers.

A client written for `mlflow models serve` posts to ``<base>/invocations``; with
``<base>`` = ``/api/v1/models/{name}`` it reaches this view, with the predict
endpoint's API key, scope, throttle, cache, log line and metrics (the same service,
serving.predict.services.prediction_make), and ``?alias=`` / ``?version=`` as there. The
answer is MLflow's ``{"predictions": [...]}``; errors are MLflow's ``{"error_code",
"message"}``. Bodies: serving.protocols.mlflow_bodies.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.views import APIView

from backoffice.core.api.renderers import FastJSONRenderer
from models_registry.errors import NotFound
from serving.errors import ServingError
from serving.models import Protocol
from serving.predict.api import query_target
from serving.predict.auth import (
    PREDICT,
    RawBodySessionAuthentication,
    RememberingApiKeyAuthentication,
    caller_of,
)
from serving.predict.services import prediction_make
from serving.predict.throttles import PredictRateThrottle
from serving.protocols import schemas as documented
from serving.protocols.mlflow_bodies import rows_from_csv, rows_from_json
from serving.protocols.v2 import FirstRenderer, read_body

# MLflow's error codes (its databricks_pb2.ErrorCode names) by HTTP status.
ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    413: "BAD_REQUEST",
    415: "BAD_REQUEST",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}
CONTENT_TYPES = ("application/json", "text/csv")


class UnsupportedContentType(ServingError):
    status = 415
    code = "unsupported_media_type"


@documented.invocations
class InvocationsView(APIView):
    authentication_classes = [RememberingApiKeyAuthentication, RawBodySessionAuthentication]
    permission_classes = [PREDICT]
    throttle_classes = [PredictRateThrottle]
    renderer_classes = [FastJSONRenderer]
    parser_classes: list = []
    content_negotiation_class = FirstRenderer

    def handle_exception(self, exc):
        if isinstance(exc, NotFound):
            exc = exceptions.NotFound(str(exc))
        if isinstance(exc, ServingError):
            response = _error(exc.status, str(exc))
            if exc.status == 503:
                response["Retry-After"] = "5"
            return response
        response = super().handle_exception(exc)
        data = response.data
        message = data.get("detail", data) if isinstance(data, dict) else data
        response.data = {
            "error_code": ERROR_CODES.get(response.status_code, "INTERNAL_ERROR"),
            "message": str(message),
        }
        return response

    def post(self, request, name: str):
        alias, version = query_target(request.query_params)
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise UnsupportedContentType(
                f"Content-Type {content_type[:40]!r} is not supported: send "
                f"{' or '.join(CONTENT_TYPES)}"
            )
        raw = read_body(request)
        parse = rows_from_json if content_type == "application/json" else rows_from_csv

        def rows_from(served):
            return parse(
                raw,
                served.feature_names,
                max_rows=settings.SERVING_MAX_ROWS,
                max_values=settings.SERVING_MAX_VALUES,
            )

        result = prediction_make(
            model=name,
            alias=alias,
            version=version,
            rows_from=rows_from,
            protocol=Protocol.INVOCATIONS,
            caller=caller_of(request),
        )
        render_started = time.perf_counter()
        response = HttpResponse(
            FastJSONRenderer().render({"predictions": result.predictions}),
            content_type="application/json",
        )
        response["Server-Timing"] = result.server_timing(render_started=render_started)
        # MLflow's answer has no room for it: a row's prediction id is this header's
        # value, "-", and the row's index.
        response["X-Prediction-Id"] = result.record_hex
        return response


def _error(status: int, message: str) -> HttpResponse:
    body = {"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}
    return HttpResponse(
        FastJSONRenderer().render(body), status=status, content_type="application/json"
    )
