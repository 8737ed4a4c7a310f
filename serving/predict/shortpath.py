"""The predict route's short path: a remembered key's prediction without DRF's dispatch.

A bot's single-row prediction is mostly fixed cost. In-process, of about 1.1 ms, the
booster took 0.26 ms and the shared cache's round trip 0.16 ms; about half was Django's
middleware chain, URL resolving, and DRF's request, content negotiation, parsers,
authenticators, permissions and throttles, for a request whose every check has the same
answer as the one before it. For the one request a bot sends all day -- POST
/api/v1/models/<name>/predict, JSON in and out, by an API key this worker verified
within SERVING_KEY_CACHE_SECONDS and that holds the ``predict`` scope -- this answers
with the same pieces, called directly:

- the Host and HTTPS checks of Django's own CommonMiddleware and SecurityMiddleware;
- the key memory of serving.predict.auth, the scope check of the key, the throttle of
  serving.predict.throttles;
- the service and the answer of serving.predict.api (predict_answer), the API's one error body
  (backoffice.core.api.errors.exception_handler), Django's own 500 for a bug;
- the response headers of the API's middleware (their own process_response), and the
  request's id, log line and metrics (backoffice.core.http.middleware).

Anything else takes the long way, unchanged: a key not verified yet (the long way
verifies and remembers it), a session, another content type or Accept, a body without a
Content-Length or past the limit, a NUL in the query string, DRF's ?format=, a throttled
key (the long way answers its 429), a redirect to HTTPS, a Host not allowed. The short
path decides that before it reads anything or counts the request.
tests/serving/predict/test_shortpath.py holds both ways to the same answers.
SERVING_SHORT_PATH=0 sends everything the long way.
"""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core import signals
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.db import DatabaseError
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import resolve, set_script_prefix
from django.utils.log import log_response
from rest_framework.exceptions import APIException
from rest_framework.settings import api_settings

from backoffice.core.api.errors import exception_handler
from backoffice.core.api.parsers import JSONBody, read_body
from backoffice.core.api.renderers import FastJSONRenderer
from backoffice.core.errors import DomainError
from backoffice.core.http.content_security import ContentSecurityPolicyMiddleware
from backoffice.core.http.middleware import begin_request, end_request, finish_request
from backoffice.core.text import plain_digits as _plain_digits
from serving.predict.api import PredictView, predict_answer
from serving.predict.auth import remembered_key
from serving.predict.throttles import predict_wait

PATH = re.compile(r"^/api/v1/models/([-a-zA-Z0-9_]+)/predict$")  # Django's slug converter
# Accept values DRF's negotiation answers with JSON on the predict view.
_ACCEPTED = frozenset({"*/*", "application/*", "application/json"})


class ShortPath:
    """A WSGI application in front of the API's handler (``long_way``)."""

    def __init__(self, long_way):
        self.long_way = long_way
        self._ready = False
        self.answered = 0  # requests this worker answered the short way

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and settings.SERVING_SHORT_PATH:
            match = PATH.match(environ.get("PATH_INFO", ""))
            if match is not None:
                response = self.answer(environ, match.group(1))
                if response is not None:
                    return self._wsgi(response, start_response)
        return self.long_way(environ, start_response)

    def answer(self, environ, name: str):
        """The answer, or None: take the long way (nothing was read or counted)."""
        if not _plain_json(environ) or "%00" in environ.get("QUERY_STRING", "").upper():
            return None
        key = remembered_key(environ.get("HTTP_AUTHORIZATION", ""))
        if key is None or not key.has_scope("predict"):
            return None
        length = environ.get("CONTENT_LENGTH", "")
        limit = int(settings.SERVING_MAX_BODY_MB) * 1024 * 1024
        if not _plain_digits(length) or not 0 < int(length) <= limit:
            return None
        self._prepare()
        request = WSGIRequest(environ)
        try:
            # DRF's ?format= picks a renderer (or answers 404).
            if api_settings.URL_FORMAT_OVERRIDE in request.GET:
                return None
            # An HTTPS redirect, a "www." redirect, a Host not allowed, a refused user agent.
            if (
                self._security.process_request(request) is not None
                or self._common.process_request(request) is not None
            ):
                return None
        except Exception:  # DisallowedHost, TooManyFieldsSent...: the long way answers them
            return None
        if predict_wait(f"key{key.pk}") is not None:
            return None  # throttled: not counted; the long way answers the 429
        return self._answer(request, environ, name, key)

    def _answer(self, request, environ, name: str, key):
        self.answered += 1
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=self.__class__, environ=environ)
        started = time.perf_counter()
        tokens = begin_request(request)
        try:
            request.api_key = key  # the request log names the key
            try:
                body = JSONBody(read_body(request, {"view": PredictView}))
                response = predict_answer(
                    name,
                    query=request.GET,
                    headers=request.headers,
                    body=body,
                    caller=(key.name, ""),
                )
                response["Allow"] = self._allow  # as DRF's answers have it
            except Exception as exc:
                response = _refusal(request, exc, allow=self._allow)
            for process_response in self._response_steps:
                response = process_response(request, response)
            if response.status_code >= 400:
                # Django's handler logs every refusal (django.request); a 500 is logged
                # once, by response_for_exception.
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
            finish_request(request, response, started=started, route=self._route)
            return response
        finally:
            end_request(tokens)

    def _prepare(self) -> None:
        """The middleware whose checks and headers the short path uses, and the route
        the metrics name (once: after Django is set up)."""
        if self._ready:
            return
        self._security = SecurityMiddleware(_never)
        self._common = CommonMiddleware(_never)
        # In the order Django runs them on the way out: the reverse of API_MIDDLEWARE.
        self._response_steps = [
            XFrameOptionsMiddleware(_never).process_response,
            self._common.process_response,
            self._security.process_response,
            ContentSecurityPolicyMiddleware(_never).process_response,
        ]
        self._allow = ", ".join(PredictView().allowed_methods)
        self._route = resolve("/api/v1/models/name/predict").route
        self._ready = True

    def _wsgi(self, response, start_response):
        """As django.core.handlers.wsgi.WSGIHandler hands an answer to the server; the
        server's close() of the answer sends request_finished."""
        response._handler_class = self.__class__
        status = f"{response.status_code} {response.reason_phrase}"
        start_response(
            status,
            [
                *response.items(),
                *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
            ],
        )
        return response


def _plain_json(environ) -> bool:
    """A JSON body, and an Accept that DRF's negotiation answers with JSON."""
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type != "application/json" and not content_type.startswith("application/json;"):
        return False
    accept = environ.get("HTTP_ACCEPT", "")
    return not accept or any(
        item.partition(";")[0].strip() in _ACCEPTED for item in accept.split(",")
    )


def _refusal(request, exc: Exception, *, allow: str):
    """The API's error body for a refusal, as DRF renders it; Django's own 500 (logged)
    for anything else."""
    if isinstance(exc, DomainError | APIException | DatabaseError):
        response = exception_handler(exc, {"request": request, "view": None})
        if response is not None:
            response.accepted_renderer = FastJSONRenderer()
            response.accepted_media_type = FastJSONRenderer.media_type
            response.renderer_context = {"request": request, "response": response}
            response["Allow"] = allow
            return response.render()
    return response_for_exception(request, exc)


def _never(request):
    raise AssertionError("the short path's middleware only checks and adds headers")
