"""DRF authentication by API key and permission by scope.

Machine clients send ``Authorization: Api-Key <key>``; staff may use their admin session
instead. A view names the scope it needs with ``permission_classes = [scope("...")]``.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions, permissions

from backoffice.login_throttle import client_address, count_failures, failure_counts
from backoffice.models import ApiKey
from backoffice.services import ApiKeyUnverifiable, api_key_authenticate

KEYWORD = "Api-Key"
logger = logging.getLogger(__name__)


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "the service is unavailable; try again shortly"
    default_code = "service_unavailable"


class ApiKeyUser(AnonymousUser):
    """The request.user of a request authenticated by an API key (not a staff user)."""

    def __init__(self, key: ApiKey):
        self.key = key
        self.username = f"api-key:{key.name}"

    @property
    def is_authenticated(self):
        return True

    def __str__(self):
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, raw_key = header.partition(" ")
        if keyword.lower() != KEYWORD.lower():
            return None
        if _too_many_failures(request):
            raise exceptions.Throttled(
                wait=settings.API_KEY_FAILURE_WINDOW_SECONDS,
                detail="too many invalid API keys from this address; try again later",
            )
        try:
            key = api_key_authenticate(raw_key.strip())
        except ApiKeyUnverifiable as exc:
            raise ServiceUnavailable(str(exc)) from None
        if key is None:
            _count_failure(request)
            raise exceptions.AuthenticationFailed("invalid or revoked API key")
        request._request.api_key = key  # the request log names the key
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return KEYWORD


def _failure_key(request) -> str:
    return f"api-key-fail:{client_address(request)}"


def _too_many_failures(request) -> bool:
    """Guessing keys is limited per client address (counted in the shared cache; not
    enforced, and logged, while the cache is down: the key check still protects)."""
    key = _failure_key(request)
    counts = failure_counts([key], "API key")
    return bool(counts) and counts.get(key, 0) >= settings.API_KEY_MAX_FAILURES


def _count_failure(request) -> None:
    count_failures([_failure_key(request)], settings.API_KEY_FAILURE_WINDOW_SECONDS, "API key")
    logger.warning("invalid or revoked API key", extra={"client": client_address(request)})


def scope(name: str) -> type[permissions.BasePermission]:
    """A permission class: staff sessions, or an API key holding scope ``name``."""

    class HasScope(permissions.BasePermission):
        message = f"this needs the API key scope {name!r} or a staff session"

        def has_permission(self, request, view):
            key = request.auth if isinstance(request.auth, ApiKey) else None
            if key is not None:
                return key.has_scope(name)
            user = request.user
            return bool(user and user.is_authenticated and user.is_staff and user.is_active)

    HasScope.__name__ = HasScope.__qualname__ = f"HasScope[{name}]"
    return HasScope


def exception_handler(exc, context):
    """DRF's handler, plus: a database outage is a 503 with Retry-After, never a 500."""
    from django.db import DatabaseError
    from rest_framework.views import exception_handler as drf_exception_handler

    from backoffice.db.errors import is_database_outage

    if isinstance(exc, DatabaseError) and is_database_outage(exc):
        exc = ServiceUnavailable("the database is unreachable; try again shortly")
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 503:
        response["Retry-After"] = "5"
    return response
