"""The OpenAPI description of the V2 and MLflow-shaped routes (serving.protocols.v2,
serving.protocols.invocations): their bodies, their own error bodies, their examples.

For the schema only: the views read their bodies themselves (serving.protocols.tensors,
serving.protocols.mlflow_bodies), which stay the authority on what is accepted. Each operation
names its error body with ``x-error-body`` (V2Error, MLflowError), which
backoffice.core.api.schema gives every 4xx and 5xx answer of it instead of the API's own.
The examples work against the demo's models (``manage.py demo``: eight features, the
names of models_registry.training.SYNTHETIC_FEATURES).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from models_registry.models import OutputKind
from models_registry.training import SYNTHETIC_FEATURES
from serving.api_parameters import DEMO_MODEL, MODEL_NAME
from serving.protocols.tensors import MAX_DIMS, MAX_NAME, NUMERIC

DEMO_ROW = [55.2, 0.31, 1.4, 0.62, 0.5, 1.8, 14.0, 0.7]
V2_TAG = "Open Inference Protocol (V2)"
V2_DATATYPES = list(NUMERIC)  # the schema's V2DatatypeEnum (ENUM_NAME_OVERRIDES)
MLFLOW_TAG = "MLflow scoring protocol"

# -- V2 bodies -----------------------------------------------------------------------------


class V2ParametersSerializer(serializers.Serializer):
    binary_data_size = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="Triton's binary extension: this tensor's bytes follow the JSON.",
    )
    binary_data = serializers.BooleanField(
        required=False, help_text="On a requested output: answer it as raw bytes."
    )
    binary_data_output = serializers.BooleanField(
        required=False, help_text="On the request: answer every output as raw bytes."
    )


class V2InputTensorSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=MAX_NAME,
        help_text="`input__0` (the model's matrix), or a feature's name (one tensor each).",
    )
    datatype = serializers.ChoiceField(choices=V2_DATATYPES)
    shape = serializers.ListField(
        child=serializers.IntegerField(min_value=0),
        min_length=1,
        max_length=MAX_DIMS,
        help_text="The first dimension is the batch: `[rows, features]`, or `[rows]` for "
        "a feature's tensor.",
    )
    data = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="The values in row-major order, flat or nested as the shape.",
    )
    parameters = V2ParametersSerializer(required=False)


class V2RequestedOutputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_NAME)
    parameters = V2ParametersSerializer(required=False)


class V2InferRequestSerializer(serializers.Serializer):
    id = serializers.CharField(required=False, max_length=MAX_NAME)
    model_name = serializers.CharField(
        required=False,
        max_length=MAX_NAME,
        help_text="The URL's model, if given (KServe's client sends it); another is refused.",
    )
    model_version = serializers.CharField(
        required=False,
        max_length=MAX_NAME,
        help_text="The version served (or the URL's alias), if given; another is refused.",
    )
    parameters = V2ParametersSerializer(required=False)
    inputs = V2InputTensorSerializer(many=True)
    outputs = V2RequestedOutputSerializer(many=True, required=False)


class V2OutputTensorSerializer(serializers.Serializer):
    name = serializers.CharField()
    datatype = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    data = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        required=False,
        help_text="One number per row (null where the model gave no finite number); "
        "absent when the output was asked as binary data.",
    )
    parameters = V2ParametersSerializer(required=False)


class V2InferResponseSerializer(serializers.Serializer):
    model_name = serializers.CharField()
    model_version = serializers.CharField()
    id = serializers.CharField(required=False)
    outputs = V2OutputTensorSerializer(many=True)


class V2TensorMetadataSerializer(serializers.Serializer):
    name = serializers.CharField()
    datatype = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField(), help_text="-1: any size.")


class V2ModelParametersSerializer(serializers.Serializer):
    features = serializers.ListField(child=serializers.CharField())
    output_kind = serializers.ChoiceField(choices=OutputKind.choices)


class V2ModelMetadataSerializer(serializers.Serializer):
    name = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    platform = serializers.CharField()
    inputs = V2TensorMetadataSerializer(many=True)
    outputs = V2TensorMetadataSerializer(many=True)
    parameters = V2ModelParametersSerializer()


class V2ServerMetadataSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    extensions = serializers.ListField(child=serializers.CharField())


class V2LiveSerializer(serializers.Serializer):
    live = serializers.BooleanField()


class V2ReadySerializer(serializers.Serializer):
    ready = serializers.BooleanField()


class V2ModelReadySerializer(serializers.Serializer):
    name = serializers.CharField()
    ready = serializers.BooleanField()


# -- MLflow bodies -------------------------------------------------------------------------

_NUMBER_ROW = {"type": "array", "items": {"type": "number"}}
_RECORDS = {
    "type": "array",
    "items": {"type": "object", "additionalProperties": {"type": "number"}},
}
_PARAMS = {"type": "object", "description": "These models take no parameters: `{}` or absent."}
MLFLOW_REQUEST = {
    "description": "One of MLflow's four JSON forms; columns are matched by name.",
    "oneOf": [
        {
            "type": "object",
            "title": "dataframe_split",
            "properties": {
                "dataframe_split": {
                    "type": "object",
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "data": {"type": "array", "items": _NUMBER_ROW},
                        "index": {"type": "array", "items": {}},
                    },
                    "required": ["columns", "data"],
                },
                "params": _PARAMS,
            },
            "required": ["dataframe_split"],
        },
        {
            "type": "object",
            "title": "dataframe_records",
            "properties": {"dataframe_records": _RECORDS, "params": _PARAMS},
            "required": ["dataframe_records"],
        },
        {
            "type": "object",
            "title": "instances",
            "properties": {
                "instances": {"oneOf": [_RECORDS, {"type": "array", "items": _NUMBER_ROW}]},
                "params": _PARAMS,
            },
            "required": ["instances"],
        },
        {
            "type": "object",
            "title": "inputs",
            "properties": {
                "inputs": {
                    "oneOf": [
                        {"type": "object", "additionalProperties": _NUMBER_ROW},
                        {"type": "array", "items": _NUMBER_ROW},
                        _RECORDS,
                    ]
                },
                "params": _PARAMS,
            },
            "required": ["inputs"],
        },
    ],
}


class MLflowPredictionsSerializer(serializers.Serializer):
    predictions = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        help_text="One number per row, in row order (the version's output_kind).",
    )


# -- examples ------------------------------------------------------------------------------

_MATRIX = {"name": "input__0", "datatype": "FP32", "shape": [1, 8], "data": DEMO_ROW}
V2_EXAMPLES = [
    OpenApiExample(
        "one row as the input matrix",
        value={"id": "quote-42", "inputs": [_MATRIX]},
        request_only=True,
    ),
    OpenApiExample(
        "one tensor per feature",
        value={
            "inputs": [
                {"name": name, "datatype": "FP64", "shape": [1], "data": [value]}
                for name, value in zip(SYNTHETIC_FEATURES, DEMO_ROW, strict=True)
            ]
        },
        request_only=True,
    ),
    OpenApiExample(
        "the answer",
        value={
            "model_name": DEMO_MODEL,
            "model_version": "1",
            "id": "quote-42",
            "outputs": [{"name": "output__0", "datatype": "FP64", "shape": [1, 1], "data": [0.62]}],
        },
        response_only=True,
        status_codes=["200"],
    ),
]
_ONE_ROW = dict(zip(SYNTHETIC_FEATURES, DEMO_ROW, strict=True))
MLFLOW_EXAMPLES = [
    OpenApiExample(
        "dataframe_split",
        value={"dataframe_split": {"columns": SYNTHETIC_FEATURES, "data": [DEMO_ROW]}},
        request_only=True,
    ),
    OpenApiExample("dataframe_records", value={"dataframe_records": [_ONE_ROW]}, request_only=True),
    OpenApiExample("instances", value={"instances": [_ONE_ROW]}, request_only=True),
    OpenApiExample(
        "inputs (columns)",
        value={"inputs": {name: [value] for name, value in _ONE_ROW.items()}},
        request_only=True,
    ),
]
CSV_EXAMPLE = ",".join(SYNTHETIC_FEATURES) + "\n" + ",".join(map(str, DEMO_ROW)) + "\n"

# -- parameters and answers ----------------------------------------------------------------

MODEL_VERSION = OpenApiParameter(
    "version",
    str,
    OpenApiParameter.PATH,
    description="A version number or an alias.",
    examples=[
        OpenApiExample("an alias", value="production"),
        OpenApiExample("a number", value="1"),
    ],
)
INFERENCE_HEADER = OpenApiParameter(
    "Inference-Header-Content-Length",
    int,
    OpenApiParameter.HEADER,
    description="Triton's binary tensor extension: the JSON part's length in bytes; the "
    "tensors' raw bytes follow it in the body.",
)
V2_ERRORS = {
    "x-error-body": "V2Error",
}
MLFLOW_ERRORS = {"x-error-body": "MLflowError"}


def _v2_model_answers(ok) -> dict:
    return {
        200: ok,
        400: OpenApiResponse(description="The version is neither a number nor an alias."),
        404: OpenApiResponse(description="Unknown model, version or alias."),
        503: OpenApiResponse(
            description="The version's artifact is missing, fails its hash check or does "
            "not load; other models keep serving.",
        ),
    }


def _v2_infer(versioned: bool):
    parameters = [MODEL_NAME, *([MODEL_VERSION] if versioned else []), INFERENCE_HEADER]
    where = "at `{version}`" if versioned else "behind the `production` alias"
    return extend_schema(
        operation_id="v2_version_infer" if versioned else "v2_infer",
        summary=f"Infer with the model's version {where}",
        description="Tensors in, tensors out. The rows come from one tensor named as the "
        "model's input (`input__0`, FP32, `[rows, features]` for tree models; an ONNX "
        "model's own) or from one tensor per feature named by the feature. Up to 10,000 "
        "rows. The same API keys (scope `predict`), throttle, prediction cache and log "
        "line as `POST /api/v1/models/{name}/predict`. With Triton's binary tensor "
        "extension the body is JSON followed by the tensors' bytes.",
        parameters=parameters,
        request={"application/json": V2InferRequestSerializer},
        responses={
            200: OpenApiResponse(
                V2InferResponseSerializer,
                description="The outputs (as raw bytes after the JSON when asked).",
            ),
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="Triton's binary extension: the JSON answer, its length in "
                "Inference-Header-Content-Length, then the outputs' bytes.",
            ),
            400: OpenApiResponse(
                description="Malformed JSON, a tensor whose name, datatype, shape or data "
                "does not fit the model (named in `error`), or too many rows."
            ),
            404: OpenApiResponse(description="Unknown model, version or alias."),
            413: OpenApiResponse(
                description="The body is larger than the limit (32 MB), or holds more "
                "values than the rows a request may carry could (counted before parsing)."
            ),
            503: OpenApiResponse(
                description="This model's artifact is missing, fails its hash check or "
                "does not load; other models keep serving.",
            ),
        },
        examples=V2_EXAMPLES,
        tags=[V2_TAG],
        extensions=V2_ERRORS,
    )


def _v2_get(operation_id: str, summary: str, ok, *, versioned: bool, model: bool = True):
    parameters = [MODEL_NAME, *([MODEL_VERSION] if versioned else [])] if model else []
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=parameters,
        responses=_v2_model_answers(ok) if model else {200: ok},
        tags=[V2_TAG],
        extensions=V2_ERRORS,
    )


live = extend_schema_view(
    get=extend_schema(
        operation_id="v2_health_live",
        summary="Live: the server runs (no credentials)",
        auth=[],
        responses={200: V2LiveSerializer},
        tags=[V2_TAG],
        extensions=V2_ERRORS,
    )
)
ready = extend_schema_view(
    get=extend_schema(
        operation_id="v2_health_ready",
        summary="Ready: the database, the cache and the spool answer (no credentials)",
        auth=[],
        responses={
            200: V2ReadySerializer,
            503: OpenApiResponse(V2ReadySerializer, description='Not ready: `{"ready": false}`.'),
        },
        tags=[V2_TAG],
        extensions=V2_ERRORS,
    )
)
server_metadata = extend_schema_view(
    get=_v2_get(
        "v2_server_metadata",
        "Server metadata: name, version, extensions",
        V2ServerMetadataSerializer,
        versioned=False,
        model=False,
    )
)
model_metadata = extend_schema_view(
    get=_v2_get(
        "v2_model_metadata",
        "A model's tensors (the production alias's version)",
        V2ModelMetadataSerializer,
        versioned=False,
    )
)
version_metadata = extend_schema_view(
    get=_v2_get(
        "v2_version_metadata",
        "A version's tensors (by number or alias)",
        V2ModelMetadataSerializer,
        versioned=True,
    )
)
model_ready = extend_schema_view(
    get=_v2_get(
        "v2_model_ready",
        "Ready: the answering worker has loaded the production version (loads it now)",
        V2ModelReadySerializer,
        versioned=False,
    )
)
version_ready = extend_schema_view(
    get=_v2_get(
        "v2_version_ready",
        "Ready: the answering worker has loaded the version (loads it now)",
        V2ModelReadySerializer,
        versioned=True,
    )
)
model_infer = extend_schema_view(post=_v2_infer(versioned=False))
version_infer = extend_schema_view(post=_v2_infer(versioned=True))

invocations = extend_schema_view(
    post=extend_schema(
        operation_id="models_invocations",
        summary="Predict with MLflow's scoring bodies (`mlflow models serve`'s /invocations)",
        description="An MLflow client pointed at `<server>/api/v1/models/{name}` calls "
        "this. JSON in one of MLflow's four forms, or CSV with a header row; columns are "
        "matched by name, and a missing or unknown column is refused by name. The same API "
        "keys (scope `predict`), throttle, cache and log line as the predict endpoint.",
        parameters=[
            MODEL_NAME,
            OpenApiParameter("alias", str, description="An alias, default `production`."),
            OpenApiParameter("version", int, description="A version number."),
        ],
        request={
            "application/json": MLFLOW_REQUEST,
            "text/csv": {"type": "string", "example": CSV_EXAMPLE},
        },
        responses={
            200: MLflowPredictionsSerializer,
            400: OpenApiResponse(
                description="A malformed body, a missing or unknown column, a value that "
                "is not a number, too many rows, or a bad query parameter."
            ),
            404: OpenApiResponse(description="Unknown model, version or alias."),
            413: OpenApiResponse(
                description="The body is larger than the limit (32 MB), or holds more "
                "values than the rows a request may carry could (counted before parsing)."
            ),
            415: OpenApiResponse(description="The body is neither application/json nor text/csv."),
            503: OpenApiResponse(
                description="This model's artifact is missing, fails its hash check or "
                "does not load; other models keep serving.",
            ),
        },
        examples=MLFLOW_EXAMPLES,
        tags=[MLFLOW_TAG],
        extensions=MLFLOW_ERRORS,
    )
)
