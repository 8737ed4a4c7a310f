"""OpenAPI: the API-key scheme, the one error body and what every operation may answer.

The authentication extensions describe apikeys.authentication.ApiKeyAuthentication and
the session's subclasses (the generator would warn and document no security scheme
without them). Imported by
backoffice.urls: the schema is only ever generated from the URLs, and management
commands, which never load them, do not pay for drf-spectacular's import.

``one_error_body`` (a postprocessing hook) gives every 4xx and 5xx answer of every
operation the one error body (backoffice.core.api.errors), and adds what any operation may
answer besides its own responses. The V2 and MLflow-shaped routes answer in their
protocols' own error bodies (``PROTOCOL_ERRORS``): such an operation names its body in
``x-error-body`` (serving.protocols.schemas). ``tags_by_area`` (another hook) files each
operation under its area (TAGS, by path), in the order a bot developer meets them.
"""

import logging

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

logger = logging.getLogger(__name__)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    match_subclasses = True  # serving.predict.auth's remembering variant too (serving.predict.api)
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a key staff made for you, with the scopes "
            "your operations need (see the introduction).",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    """drf-spectacular's own session scheme, for its subclasses too: serving.predict.auth's
    RawBodySessionAuthentication (V2 infer, MLflow's invocations)."""

    target_class = "rest_framework.authentication.SessionAuthentication"
    match_subclasses = True
    priority = 0  # above drf-spectacular's SessionScheme (-1), the same definition
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


ERROR = {
    "type": "object",
    "description": "The one error body of the API (see the introduction).",
    "properties": {
        "detail": {"type": "string", "description": "What is wrong, in a sentence."},
        "code": {"type": "string", "description": "A stable machine-readable code."},
        "errors": {
            "type": "array",
            "description": "Every problem found, each naming its input; empty when the "
            "request as a whole is refused.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "example": "instances[3].rsi_14"},
                    "message": {"type": "string"},
                    "row": {"type": "integer", "description": "The predict row at fault."},
                    "index": {"type": "integer", "description": "The batch item at fault."},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["detail", "code", "errors"],
}
# The error bodies of the protocols served beside the API (serving.protocols.v2,
# serving.protocols.invocations).
PROTOCOL_ERRORS = {
    "V2Error": {
        "type": "object",
        "description": "The Open Inference Protocol's error body.",
        "properties": {"error": {"type": "string", "description": "What is wrong."}},
        "required": ["error"],
    },
    "MLflowError": {
        "type": "object",
        "description": "MLflow's scoring server's error body.",
        "properties": {
            "error_code": {
                "type": "string",
                "enum": [
                    "BAD_REQUEST",
                    "UNAUTHENTICATED",
                    "PERMISSION_DENIED",
                    "RESOURCE_DOES_NOT_EXIST",
                    "REQUEST_LIMIT_EXCEEDED",
                    "TEMPORARILY_UNAVAILABLE",
                    "INTERNAL_ERROR",
                ],
            },
            "message": {"type": "string"},
        },
        "required": ["error_code", "message"],
    },
}


def _error_content(name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


# What any authenticated operation may answer, whatever its view (backoffice.core.api.permissions).
COMMON_ANSWERS = {
    "401": "No credentials, an invalid or revoked API key, or another Authorization scheme "
    "than Api-Key.",
    "403": "The key lacks the operation's scope, or the staff session the model permission.",
    "429": "Too many invalid API keys from this address; Retry-After says when to try again.",
    "503": "The database is unreachable; Retry-After says when to try again.",
}
BODY_ANSWERS = {
    "400": "Malformed JSON or invalid input: `errors` names every field at fault.",
    "413": "The body is larger than the endpoint's limit.",
    "415": "The body is not application/json.",
}


def one_error_body(result, generator, request, public):
    """Every 4xx and 5xx answer in the one body; the answers every operation may give.

    gunicorn's own 414 (an HTML page) when the request line passes limit_request_line
    (4094 bytes); for operations that need credentials, the authentication answers and
    the database outage; for operations with a body, the parser's refusals. An
    operation's own description of one of these codes is kept.
    """
    too_long = {
        "description": "The request line is longer than the server accepts (4,094 bytes): "
        "send long filters in fewer, shorter parameters.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas.update(PROTOCOL_ERRORS)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            error_content = _error_content(operation.get("x-error-body", "Error"))
            responses = operation.setdefault("responses", {})
            responses.setdefault("414", too_long)
            if operation.get("security"):
                for code, description in COMMON_ANSWERS.items():
                    responses.setdefault(code, {"description": description})
            if "requestBody" in operation and "x-error-body" not in operation:
                # A protocol's operation lists the body answers it gives itself.
                for code, description in BODY_ANSWERS.items():
                    responses.setdefault(code, {"description": description})
            elif operation.get("parameters"):
                responses.setdefault("400", {"description": "A parameter is invalid."})
            for code, answer in responses.items():
                if code != "414" and code[:1] in "45":
                    # An answer documented with a body of its own keeps it (V2's ready).
                    answer.setdefault("content", error_content)
    return result


# The areas of the API, in the order a bot developer meets them, and the paths of each.
TAGS = [
    (
        "Trades",
        "Record the trades a bot made (idempotent, never lost) and read them back, with "
        "their figures; the open positions at the latest market price.",
        ("/api/v1/trades", "/api/v1/positions"),
    ),
    (
        "Performance",
        "Figures of the closed trades: win rate, P&L, drawdown, by day, symbol and strategy.",
        ("/api/v1/metrics",),
    ),
    (
        "Trade ideas",
        "Submit a trade idea for the risk gate's verdict; read ideas and the decision history.",
        ("/api/v1/trade-ideas", "/api/v1/decisions"),
    ),
    (
        "Models and predictions",
        "The registered models, their versions and feature schemas, and predictions.",
        ("/api/v1/models",),
    ),
    (
        "MLflow scoring protocol",
        "The same models for an MLflow client: `mlflow models serve`'s /invocations bodies.",
        ("/api/v1/models/{name}/invocations",),
    ),
    (
        "Open Inference Protocol (V2)",
        "The same models for KServe and Triton clients, in the V2 protocol's own bodies.",
        ("/v2",),
    ),
    (
        "Prediction cache",
        "What the serving workers hold in memory: list, load and unload model versions.",
        ("/api/v1/cache",),
    ),
]


def tag_of(path: str) -> str | None:
    """The area of ``path`` (the longest matching prefix), or None."""
    found = [
        (len(prefix), name)
        for name, _, prefixes in TAGS
        for prefix in prefixes
        if path == prefix or path.startswith(prefix + "/")
    ]
    return max(found)[1] if found else None


def tags_by_area(result, generator, request, public):
    """Every operation under its area's tag; the tags described, in TAGS' order. A path
    of no area keeps the generator's tag and is logged (tests/serving/test_api_docs.py
    fails on it)."""
    for path, operations in result.get("paths", {}).items():
        tag = tag_of(path)
        if tag is None:
            logger.warning("an API path of no documented area", extra={"path": path})
            continue
        for operation in operations.values():
            operation["tags"] = [tag]
    result["tags"] = [{"name": name, "description": words} for name, words, _ in TAGS]
    return result


# The introduction's examples name this placeholder; each served schema names the
# address it was asked at, so that the quick start's commands work as written.
EXAMPLE_BASE = "https://backoffice.example.com"


def this_instance(result, generator, request, public, **kwargs):
    """The introduction's example address replaced by the one the schema is served at
    (the request's, checked against ALLOWED_HOSTS), and that address as the server."""
    if request is None:
        return result
    base = request.build_absolute_uri("/").rstrip("/")
    info = result.get("info", {})
    if "description" in info:
        info["description"] = info["description"].replace(EXAMPLE_BASE, base)
    result["servers"] = [{"url": base}]
    return result
