"""Error pages that API clients can read: JSON under /api/, Django's pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    """404 for a URL no route matches, e.g. a model name that is not a slug.

    Under /api/ the body has the API's error shape (``detail``, ``code``), as the views'
    own 404s do; elsewhere it is Django's page.
    """
    if request.path == "/v2" or request.path.startswith("/v2/"):
        # The Open Inference Protocol's error body (serving.v2).
        return JsonResponse({"error": "no such endpoint or model (names are slugs)"}, status=404)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "no such endpoint or resource (names are slugs)", "code": "not_found"},
            status=404,
        )
    return defaults.page_not_found(request, exception)


def _detail(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}},
    }


# What any authenticated operation may answer, whatever its view (backoffice.api_auth).
COMMON_ANSWERS = {
    "401": _detail("No credentials, or an invalid or revoked API key."),
    "403": _detail("The key lacks the operation's scope (or the user is not staff)."),
    "429": _detail(
        "Too many invalid API keys from this address (API_KEY_MAX_FAILURES); "
        "Retry-After says when to try again."
    ),
    "503": _detail("The database is unreachable; Retry-After says when to try again."),
}


def document_server_limits(result, generator, request, public):
    """Say in the schema what every operation may answer besides its own responses:
    gunicorn's own 414 (an HTML page) when the request line passes limit_request_line
    (4094 bytes), and, where the operation needs credentials, the authentication
    answers and the database outage of backoffice.api_auth. An operation's own
    description of one of these codes is kept."""
    too_long = {
        "description": "The URL is too long for the server (gunicorn's limit_request_line).",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Detail",
        {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]},
    )
    for path in result.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("414", too_long)
            if operation.get("security"):
                for code, answer in COMMON_ANSWERS.items():
                    responses.setdefault(code, answer)
    return result
