"""The API's one error body, and the one exception handler that writes it.

Every refusal of every endpoint under /api/v1/ has this body:

    {"detail": "what is wrong, in a sentence",
     "code": "a stable machine-readable code",
     "errors": [{"field": "instances[3].rsi_14", "message": "...", "row": 3}, ...]}

``errors`` names every problem found at once (each with ``row`` for a predict row, or
``index`` for an item of a batch, where it has one), and is empty when the request as
a whole is refused (no credentials, a malformed body, an outage). A 503 or 429 carries
``Retry-After``. The protocols that have their own bodies keep them: /v2/ answers the
Open Inference Protocol's {"error"}, /invocations MLflow's {"error_code", "message"}.

Sources: the apps' domain errors (backoffice.core.errors.DomainError: status, code, field
errors), DRF's own exceptions (authentication, permission, throttling, parsing, a
serializer's or a filter's validation) and a database outage (503).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backoffice.core.db.outages import is_database_outage
from backoffice.core.errors import DomainError
from backoffice.core.text import plain_digits as _plain_digits

logger = logging.getLogger(__name__)
OUTAGE_RETRY_AFTER = 5


def error_body(detail: str, code: str, errors: list[dict[str, Any]] | None = None) -> dict:
    """The API's one error body: what is wrong, a code, and each field at fault."""
    return {"detail": detail, "code": code, "errors": list(errors or [])}


def error_response(
    status: int, detail: str, code: str, errors: list[dict[str, Any]] | None = None
) -> JsonResponse:
    """The error body answered outside DRF's views (middleware, /metrics, the 404/500
    handlers)."""
    return JsonResponse(error_body(detail, code, errors), status=status)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every refusal in the one body; None lets a bug be a 500."""
    if isinstance(exc, DomainError):
        return _response(exc.status, error_body(str(exc), exc.code, exc.errors), exc.retry_after)
    if isinstance(exc, DatabaseError) and is_database_outage(exc):
        logger.warning("API: database unreachable", extra={"error": str(exc).splitlines()[0][:200]})
        body = error_body("the database is unreachable; try again shortly", "unavailable")
        return _response(503, body, OUTAGE_RETRY_AFTER)
    if isinstance(exc, Http404):
        # DRF's own handler converts these too, but the body below reads exc.detail:
        # ?format= naming no renderer raised Http404 and answered 500.
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        response.data = error_body(_validation_summary(errors), "invalid", errors)
    else:
        response.data = error_body(_text(exc.detail), _code(exc))
    if response.status_code in (429, 503) and "Retry-After" not in response:
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def _response(status: int, body: dict, retry_after: int | None) -> Response:
    response = Response(body, status=status)
    if retry_after is not None or status in (429, 503):
        response["Retry-After"] = str(retry_after or OUTAGE_RETRY_AFTER)
    return response


def field_errors(detail, prefix: str = "") -> list[dict[str, Any]]:
    """A serializer's or a filter's errors as [{"field", "message"}], nested names
    joined (``entry_range[1]``), non-field errors under ``body``."""
    out: list[dict[str, Any]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            if name in ("non_field_errors", "__all__"):
                name = ""
            if prefix:
                name = (
                    f"{prefix}[{key}]"
                    if _plain_digits(str(key))
                    else f"{prefix}.{name}"
                    if name
                    else prefix
                )
            out.extend(field_errors(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out.extend({"field": prefix or "body", "message": str(item)} for item in detail)
        else:
            for index, item in enumerate(detail):
                out.extend(field_errors(item, f"{prefix}[{index}]" if prefix else str(index)))
    else:
        out.append({"field": prefix or "body", "message": str(detail)})
    return out


def _validation_summary(errors: list[dict[str, Any]]) -> str:
    fields = sorted({e["field"] for e in errors})
    if len(errors) == 1:
        return f"{errors[0]['field']}: {errors[0]['message']}"
    return f"{len(fields)} invalid field(s): {', '.join(fields)}"


def _text(detail) -> str:
    if isinstance(detail, list | tuple):
        return "; ".join(_text(item) for item in detail)
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_text(value)}" for key, value in detail.items())
    return str(detail)


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


# -- the site's error pages, JSON under the API -------------------------------------------


def not_found(request, exception):
    """404 for a URL no route matches, e.g. a model name that is not a slug: the API's
    body under /api/, the protocols' under /v2/ and on MLflow's /invocations, Django's
    page elsewhere."""
    if request.path == "/v2" or request.path.startswith("/v2/"):
        # The Open Inference Protocol's error body (serving.protocols.v2).
        return JsonResponse({"error": "no such endpoint or model (names are slugs)"}, status=404)
    if request.path.startswith("/api/v1/models/") and request.path.endswith("/invocations"):
        # MLflow's error body (serving.protocols.invocations).
        return JsonResponse(
            {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such model (names are slugs)"},
            status=404,
        )
    if request.path.startswith("/api/"):
        return error_response(404, "no such endpoint or resource (names are slugs)", "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: a bug, logged with its traceback by Django; the API's body under /api/."""
    if request.path.startswith("/api/"):
        request_id = getattr(request, "request_id", "")
        return error_response(
            500, f"internal error; quote the request id {request_id}", "internal_error"
        )
    return defaults.server_error(request)
