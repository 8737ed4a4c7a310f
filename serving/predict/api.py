"""POST /api/v1/models/{name}/predict and GET/POST/DELETE /api/v1/cache."""

from __future__ import annotations

import os
import re
import time

from django.http import HttpResponse
from drf_spectacular.drainage import set_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.core.api.parsers import FastJSONParser
from backoffice.core.api.permissions import scope
from backoffice.core.api.renderers import FastJSONRenderer
from backoffice.core.api.serializers import StrictSerializer
from backoffice.core.text import plain_digits as _plain_digits
from serving.api_parameters import MODEL_NAME
from serving.errors import InvalidInput
from serving.live.challenger_routing import ROUTING_HEADER, routing_key
from serving.predict import hotswap
from serving.predict.auth import (
    PREDICT,
    RawBodySessionAuthentication,
    RememberingApiKeyAuthentication,
    caller_of,
)
from serving.predict.runtime import current
from serving.predict.services import prediction_make
from serving.predict.throttles import PredictRateThrottle
from serving.predict.warmup import warm_one

# The remembering variant shares its parent's "ApiKeyAuth" scheme, the raw-body session
# (V2 infer, invocations) Django's session's "cookieAuth" (backoffice.core.api.schema).
set_override(RememberingApiKeyAuthentication, "suppress_collision_warning", True)
set_override(RawBodySessionAuthentication, "suppress_collision_warning", True)

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


# -- predict -------------------------------------------------------------------------------


class PredictRequestSerializer(serializers.Serializer):
    """Rows to predict: `instances` (objects of feature name to number) or `inputs` (lists
    in the model's feature order), not both."""

    instances = serializers.ListField(
        child=serializers.DictField(child=serializers.FloatField()),
        required=False,
        max_length=10_000,
        help_text="Rows as objects of feature name to number. Give this or `inputs`.",
    )
    inputs = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        required=False,
        max_length=10_000,
        help_text="Rows as lists of numbers in the model's feature order. Give this or "
        "`instances`.",
    )


class PredictResponseSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    alias = serializers.CharField(allow_null=True, help_text="null when asked by ?version=")
    predictions = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        help_text="One number per row, in row order: the probability of the positive "
        "class or the predicted value (the version's output_kind).",
    )
    cached = serializers.BooleanField(help_text="Answered from the prediction cache.")
    prediction_ids = serializers.ListField(
        child=serializers.CharField(),
        help_text="One id a row, in row order: the request's record id (32 hex digits), "
        "'-', and the row's index. Give a row's id as a trade idea's `prediction_id`: "
        "the idea, its decisions and its trades are then linked to this prediction, and "
        "the model version is judged by them. Every answer has ids; the request is "
        "recorded (model version, inputs, outputs, latency) at the sampling rate the "
        "operator sets (every request by default).",
    )
    served_by = serializers.ChoiceField(
        choices=["challenger"],
        required=False,
        help_text="Present only when the alias's canary challenger answered (its "
        "`version` is the challenger's); absent when the alias's own version did.",
    )


def query_target(query) -> tuple[str | None, int | None]:
    """(alias, version) from the query string's parameters (a QueryDict); InvalidInput
    names the parameter."""
    alias = query.get("alias")
    raw_version = query.get("version")
    if alias is not None and raw_version is not None:
        raise InvalidInput("give ?alias= or ?version=, not both", field="version")
    if raw_version is not None:
        if not _plain_digits(raw_version) or not 0 < int(raw_version) < 2**31:
            raise InvalidInput(
                f"version must be a positive whole number, not {raw_version[:20]!r}",
                field="version",
            )
        return None, int(raw_version)
    if alias is not None and not _SLUG.match(alias):
        raise InvalidInput("alias must be a slug (letters, digits, - and _)", field="alias")
    return alias, None


# A row for the demo models (models_registry.demo: trained on the synthetic set's
# features, in their order), as the documentation's examples send it.
DEMO_ROW = {
    "rsi_14": 61.2,
    "macd_hist": 0.35,
    "atr_pct": 0.8,
    "trend_strength": 0.72,
    "volume_zscore": 0.4,
    "spread_bps": 1.2,
    "hour_of_day": 14,
    "signal_confidence": 0.81,
}

_ERRORS = {
    400: OpenApiResponse(
        description="Malformed JSON, missing, unknown or non-numeric features (every one "
        "named in `errors`, with its row), too many rows, or a bad query parameter.",
    ),
    401: OpenApiResponse(description="No or an invalid API key."),
    403: OpenApiResponse(description="The key lacks the `predict` scope."),
    404: OpenApiResponse(description="Unknown model, version or alias."),
    413: OpenApiResponse(
        description="The body is larger than the endpoint's limit (32 MB), or holds more "
        "values than the rows a request may carry could (counted before it is parsed).",
    ),
    415: OpenApiResponse(description="The body is not application/json."),
    429: OpenApiResponse(description="Throttled (Retry-After says when)."),
    503: OpenApiResponse(
        description="This model's artifact is missing, fails its hash check or does not "
        "load; other models keep serving.",
    ),
}


class PredictView(APIView):
    authentication_classes = [RememberingApiKeyAuthentication, SessionAuthentication]
    permission_classes = [PREDICT]
    throttle_classes = [PredictRateThrottle]
    parser_classes = [FastJSONParser]
    body_limit_mb = "SERVING_MAX_BODY_MB"
    renderer_classes = [FastJSONRenderer]

    @extend_schema(
        operation_id="models_predict",
        summary="Predict with a model version",
        description="Up to 10,000 rows per request. The version is the one `?version=` "
        "names, else the one `?alias=` names (default `production`).",
        parameters=[
            MODEL_NAME,
            OpenApiParameter("alias", str, description="An alias, default `production`."),
            OpenApiParameter("version", int, description="A version number."),
            OpenApiParameter(
                ROUTING_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                description="The caller's routing key (an account, a strategy; at most 200 "
                "printable characters). When the alias has a canary challenger, a stable "
                "hash of the key sends the canary's share of keys to the challenger, whose "
                "answers carry `served_by: challenger`. Without a key the alias's version "
                "answers.",
            ),
            OpenApiParameter(
                "X-Prediction-Id",
                str,
                location=OpenApiParameter.HEADER,
                response=[200],
                description="The request's record id: a row's prediction id is this, "
                "'-', and the row's index (as in `prediction_ids`).",
            ),
        ],
        request=PredictRequestSerializer,
        responses={200: PredictResponseSerializer, **_ERRORS},
        examples=[
            OpenApiExample(
                "instances",
                summary="Rows as objects (the demo's trade-outcome-xgboost)",
                value={"instances": [DEMO_ROW]},
                request_only=True,
            ),
            OpenApiExample(
                "inputs",
                summary="Rows as lists in the model's feature order",
                value={"inputs": [list(DEMO_ROW.values())]},
                request_only=True,
            ),
            OpenApiExample(
                "answer",
                value={
                    "model": "trade-outcome-xgboost",
                    "version": 1,
                    "alias": "production",
                    "predictions": [0.83],
                    "cached": False,
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def post(self, request, name: str):
        return predict_answer(
            name,
            query=request.query_params,
            headers=request.headers,
            body=request.data,
            caller=caller_of(request),
        )


def predict_answer(name: str, *, query, headers, body, caller: tuple[str, str]) -> HttpResponse:
    """The predict endpoint's answer: PredictView's, and the short path's
    (serving.predict.shortpath) that answers a verified key's request without DRF.

    Raises what prediction_make raises, and InvalidInput for a bad query parameter.
    """
    alias, version = query_target(query)
    result = prediction_make(
        model=name,
        alias=alias,
        version=version,
        body=body,
        caller=caller,
        routing_key=routing_key(headers.get(ROUTING_HEADER)),
    )
    render_started = time.perf_counter()
    answer = {
        "model": result.served.model,
        "version": result.served.version,
        "alias": result.alias,
        "predictions": result.predictions,
        "cached": result.cached,
        "prediction_ids": result.prediction_ids,
    }
    if result.role == "challenger":
        answer["served_by"] = "challenger"
    # Rendered here, not by DRF, so that Server-Timing can include the rendering.
    response = HttpResponse(FastJSONRenderer().render(answer), content_type="application/json")
    response["Server-Timing"] = result.server_timing(render_started=render_started)
    response["X-Prediction-Id"] = result.record_hex
    return response


# -- cache ---------------------------------------------------------------------------------


class LoadedModelSerializer(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.IntegerField()
    framework = serializers.CharField()
    sha256 = serializers.CharField()
    loaded_at = serializers.DateTimeField()
    load_ms = serializers.FloatField()
    hits = serializers.IntegerField()
    memory_bytes = serializers.IntegerField(
        help_text="Estimated by the artifact's size (and the compiled library's)."
    )
    predictor = serializers.ChoiceField(
        choices=["booster", "compiled"],
        help_text="compiled: the version's compiled tree predictor (manage.py compile_model).",
    )
    compiled_refused = serializers.CharField(
        allow_null=True,
        help_text="Why the version's compiled predictor was refused (its booster serves).",
    )


class CacheStateSerializer(serializers.Serializer):
    worker = serializers.IntegerField(help_text="The process id that answered.")
    loaded = LoadedModelSerializer(many=True)
    limits = serializers.DictField(child=serializers.IntegerField())
    memory_bytes = serializers.IntegerField()
    loads = serializers.IntegerField()
    evictions = serializers.IntegerField()
    prediction_cache = serializers.DictField()
    aliases = serializers.DictField()


class CacheWarmSerializer(StrictSerializer):
    model = serializers.SlugField(
        required=False, help_text="One model; all warm aliases if absent."
    )
    alias = serializers.SlugField(required=False)
    version = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if "alias" in attrs and "version" in attrs:
            raise serializers.ValidationError({"version": "give alias or version, not both"})
        if ("alias" in attrs or "version" in attrs) and "model" not in attrs:
            raise serializers.ValidationError({"model": "name the model of that alias or version"})
        return attrs


class CacheWarmResponseSerializer(serializers.Serializer):
    warmed = serializers.ListField(child=serializers.DictField())
    broadcast = serializers.BooleanField(help_text="Other workers were told to warm too.")


class CacheEvictResponseSerializer(serializers.Serializer):
    evicted = serializers.ListField(child=serializers.CharField())
    broadcast = serializers.BooleanField()


def cache_state() -> dict:
    rt = current()
    loaded = rt.predictors.snapshot()
    return {
        "worker": os.getpid(),
        "loaded": [entry.as_dict() for entry in loaded],
        "limits": {
            "max_models": rt.predictors.max_models,
            "max_bytes": rt.predictors.max_bytes,
        },
        "memory_bytes": sum(entry.memory_bytes for entry in loaded),
        "loads": rt.predictors.loads,
        "evictions": rt.predictors.evictions,
        "prediction_cache": rt.prediction_cache.stats(),
        "aliases": rt.resolver.state(),
    }


class CacheView(APIView):
    # Warming and evicting decide which loaded versions answer: the authority of moving
    # an alias.
    permission_classes = [scope("cache:admin", "models_registry.change_modelalias")]

    @extend_schema(
        operation_id="cache_retrieve",
        summary="Loaded models and cache statistics of the answering worker",
        responses={200: CacheStateSerializer, 401: _ERRORS[401], 403: _ERRORS[403]},
    )
    def get(self, request):
        return Response(cache_state())

    @extend_schema(
        operation_id="cache_warm",
        summary="Warm: load a version (or every production alias) into the workers",
        request=CacheWarmSerializer,
        responses={200: CacheWarmResponseSerializer, 400: _ERRORS[400], 404: _ERRORS[404]},
    )
    def post(self, request):
        form = CacheWarmSerializer(data=request.data if request.data != {} else {})
        form.is_valid(raise_exception=True)
        model = form.validated_data.get("model")
        alias = form.validated_data.get("alias")
        version = form.validated_data.get("version")
        if model:
            warmed = [warm_one(current(), model=model, alias=alias, version=version)]
        else:
            warmed = current().warm()
        broadcast = hotswap.announce_warm(model=model, alias=alias, version=version)
        return Response({"warmed": warmed, "broadcast": broadcast})

    @extend_schema(
        operation_id="cache_evict",
        summary="Evict loaded models (one model's or all) and cached predictions",
        parameters=[OpenApiParameter("model", OpenApiTypes.STR, description="Only this model.")],
        responses={200: CacheEvictResponseSerializer, 401: _ERRORS[401], 403: _ERRORS[403]},
    )
    def delete(self, request):
        rt = current()
        model = request.query_params.get("model") or None
        if model is not None and not _SLUG.match(model):
            raise InvalidInput("model must be a model's name (a slug)", field="model")
        evicted = rt.predictors.evict(model=model)
        broadcast = rt.resolver.announce_evict(model=model)
        return Response(
            {"evicted": [entry.served.label for entry in evicted], "broadcast": broadcast}
        )
