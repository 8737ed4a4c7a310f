"""Error pages that API clients can read: JSON under /api/, Django's pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception):
    """404 for a URL no route matches, e.g. a model name that is not a slug.

    Under /api/ the body has the API's error shape (``detail``, ``code``), as the views'
    own 404s do; elsewhere it is Django's page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "no such endpoint or resource (names are slugs)", "code": "not_found"},
            status=404,
        )
    return defaults.page_not_found(request, exception)


def document_server_limits(result, generator, request, public):
    """Every operation may get gunicorn's own 414 (an HTML page) when its request line
    passes gunicorn's limit_request_line (4094 bytes): say so in the schema."""
    too_long = {
        "description": "The URL is too long for the server (gunicorn's limit_request_line).",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
    for path in result.get("paths", {}).values():
        for operation in path.values():
            operation.setdefault("responses", {}).setdefault("414", too_long)
    return result
