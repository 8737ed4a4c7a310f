"""Request context: a request id on every response and every log line of a request."""

import logging
import re
import time
import uuid
from functools import partial

from backoffice.core.http.client import client_address
from backoffice.core.ops.logconf import after_response, request_context, write_lines
from backoffice.core.ops.prometheus import observe_request

logger = logging.getLogger("backoffice.request")

# An incoming id is echoed only if it is short and plain, so that a client cannot
# inject text into the logs through it.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# Probes hit these every few seconds; their lines would drown the log at INFO.
_QUIET_PATHS = frozenset({"/healthz", "/readyz"})
# Methods a metric's label takes as they are; any other is "other" (bounded labels).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is well-formed, else a new one."""
    if header and _VALID_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Takes or makes X-Request-ID, returns it, and logs the request's outcome.

    That line is the access log (gunicorn's own is off unless GUNICORN_ACCESS_LOG).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        tokens = begin_request(request)
        try:
            response = self.get_response(request)
            match = getattr(request, "resolver_match", None)
            # The URL pattern, not the path: one metric series per route, whatever the names.
            finish_request(
                request,
                response,
                started=started,
                route=match.route if match is not None else "unmatched",
            )
            return response
        finally:
            end_request(tokens)


def begin_request(request) -> tuple:
    """Takes or makes the request's id and opens its log context; the tokens that
    end_request takes when the request is done."""
    request_id = request_id_from(request.headers.get("X-Request-ID"))
    request.request_id = request_id
    context = {"request_id": request_id, "method": request.method, "path": request.path}
    return request_context.set(context), after_response.set([])


def end_request(tokens: tuple) -> None:
    """Closes the request's log context; lines no answer will write (the request never
    reached finish_request) are written now."""
    lines = after_response.get()
    if lines:
        write_lines(lines, request_context.get())
    context_token, lines_token = tokens
    after_response.reset(lines_token)
    request_context.reset(context_token)


def finish_request(request, response, *, started: float, route: str) -> None:
    """Returns the request id, counts the request by ``route`` and writes its log line.

    The one ending of every request: RequestContextMiddleware's, and the predict route's
    short path (serving.predict.shortpath) that answers without the middleware. The request's
    lines (this one and those logged with log_after_response) are written when the
    server closes the answer, after sending it (PEP 3333's close(); Django's test client
    closes it too): a bot waits for its prediction, not for the lines about it.
    """
    response["X-Request-ID"] = request.request_id
    context = request_context.get()
    if context is not None:
        context["user"] = _user_label(request)
    elapsed = time.perf_counter() - started
    observe_request(
        route=route,
        method=request.method if request.method in _METHODS else "other",
        status=response.status_code,
        seconds=elapsed,
    )
    length = response.get("Content-Length")  # set by CommonMiddleware
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    if response.status_code >= 500:
        level = logging.ERROR
    extra = {
        "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 3),
        "response_bytes": int(length) if length else None,
        "remote_addr": request.META.get("REMOTE_ADDR"),
        # Past TRUSTED_PROXIES: the address the limits count by.
        "client_addr": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }
    lines = after_response.get()
    if lines is None:  # not opened by begin_request: nothing to wait for
        logger.log(level, "request finished", extra=extra)
        return
    if logger.isEnabledFor(level):
        lines.append((logger, level, "request finished", extra))
    if lines:
        response._resource_closers.append(partial(write_lines, lines, context))
    after_response.set(None)  # a line logged later in this request is written at once


def _user_label(request) -> str:
    """A name for the log: the username, the API key's name, or anonymous."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"api-key:{api_key.name}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.get_username()
    return "anonymous"


class RejectNulMiddleware:
    """A query-string parameter holding a NUL character is a 400, on every page.

    PostgreSQL cannot hold NUL in text: a filter or search value with one failed its
    query (a 500) on any list of the admin or filter of the API. No legitimate value
    has one, so the request is answered at once: JSON under /api/ and /v2/, plain text
    elsewhere (never echoing the value).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "").upper() or "\x00" in request.path:
            bad = _nul_parameter(request)
            if bad is not None:
                return _nul_refusal(request, bad)
        return self.get_response(request)


def _nul_parameter(request) -> str | None:
    if "\x00" in request.path:
        return "(path)"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\0")[:64]
    return None


def _nul_refusal(request, parameter: str):
    from django.http import HttpResponseBadRequest

    from backoffice.core.api.errors import error_response

    message = "must not contain a NUL character"
    if request.path.startswith(("/api/", "/v2/")):
        return error_response(
            400, f"{parameter}: {message}", "invalid", [{"field": parameter, "message": message}]
        )
    response = HttpResponseBadRequest(
        f"The parameter {parameter} {message}.", content_type="text/plain; charset=utf-8"
    )
    # Answered before SecurityMiddleware, which would add it.
    response["X-Content-Type-Options"] = "nosniff"
    return response
