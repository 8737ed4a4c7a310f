"""The WSGI application: API requests take a shorter middleware list than pages.

Every request under /api/v1/ is answered with JSON by a DRF view. It needs the request
context (request id, the request's log line), the security headers, the Host check and
Content-Length (CommonMiddleware), and, for staff who use their session, sessions and
authentication; DRF's SessionAuthentication enforces CSRF itself. It does not need
WhiteNoise (static files), CsrfViewMiddleware (DRF's views are csrf_exempt; a test
checks that every view under /api/v1/ is DRF's) or messages. Skipping those three saves
about 4 % of a single-row prediction's CPU (bench/README.md, "Serving").

settings.API_MIDDLEWARE lists the API's middleware; it must keep MIDDLEWARE's order, so
that what runs for an API request runs in the same order as for a page.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

API_PREFIX = "/api/v1/"
# The Open Inference Protocol's paths answer JSON from DRF views too (serving.protocols.v2).
V2_PREFIX = "/v2"


def check_api_middleware(api: list[str], site: list[str]) -> None:
    """ImproperlyConfigured unless ``api`` is ``site`` with some entries left out."""
    position = 0
    for path in api:
        try:
            position = site.index(path, position) + 1
        except ValueError:
            raise ImproperlyConfigured(
                f"API_MIDDLEWARE: {path} is not in MIDDLEWARE, or is out of MIDDLEWARE's order"
            ) from None


class ApiHandler(WSGIHandler):
    """Django's WSGI handler with settings.API_MIDDLEWARE instead of MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        # Django's own load_middleware, for the synchronous case and another list.
        if is_async:
            raise ImproperlyConfigured("ApiHandler serves WSGI only")
        check_api_middleware(settings.API_MIDDLEWARE, settings.MIDDLEWARE)
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        handler = convert_exception_to_response(self._get_response)
        for path in reversed(settings.API_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler


class Dispatcher:
    """Sends /api/v1/ and /v2 to the API's handler and everything else to Django's."""

    def __init__(self, site, api):
        self.site = site
        self.api = api

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(API_PREFIX) or path == V2_PREFIX or path.startswith("/v2/"):
            return self.api(environ, start_response)
        return self.site(environ, start_response)
