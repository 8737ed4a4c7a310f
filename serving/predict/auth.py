"""API-key authentication for the predict endpoint, with a one-second memory.

The project's ApiKeyAuthentication asks the database on every request. A trading bot
asks for predictions many times a second, and on the predict path that query is the
largest fixed cost after the model itself (a round trip to PostgreSQL, a context switch
on a busy machine). This subclass remembers, per process, a key it verified for
SERVING_KEY_CACHE_SECONDS (default 1 s; 0 asks every time), as long as the process
follows revocations (apikeys.key_memory): a revoked key stops predicting at the
worker's next read of the stamps (SERVING_ALIAS_CHECK_MS), everywhere else at once.
"""

from __future__ import annotations

from django.conf import settings
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import authentication

from apikeys.authentication import KEYWORD, ApiKeyAuthentication, ApiKeyUser
from apikeys.models import ApiKey
from apikeys.services import hash_key
from backoffice.core.api.permissions import scope
from serving.predict.runtime import current


class RememberingApiKeyAuthentication(ApiKeyAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        key = remembered_key(header)
        if key is not None:
            request._request.api_key = key  # the request log names the key
            return ApiKeyUser(key), key
        # Verified against the database (raises for a bad or revoked key), and
        # remembered by apikeys.services for the next request.
        return super().authenticate(request)


class RawBodySessionAuthentication(authentication.SessionAuthentication):
    """A staff session on a route that reads its own body (V2 infer, MLflow's
    invocations), with the CSRF check of every session call of the API.

    DRF's check reads ``request.POST``, which parses the body with the view's parsers;
    these views have none (they read the raw JSON, CSV or tensor bytes themselves,
    within SERVING_MAX_BODY_MB), so every session was answered 415 before its
    permission was looked at (issue 26, item 10: a reviewer got 415, not 403). The
    check runs on Django's request instead, with its form data marked empty: the body
    is never read for it, and the token must come in the ``X-CSRFToken`` header, as for
    every JSON call. A cross-site HTML form, which cannot send that header, fails it.
    """

    def enforce_csrf(self, request):
        django_request = request._request
        if not hasattr(django_request, "_post"):
            # What Django's own request does for a body that is not a form.
            django_request._post, django_request._files = QueryDict(), MultiValueDict()
        super().enforce_csrf(django_request)


def remembered_key(header: str) -> ApiKey | None:
    """The key of an ``Authorization`` header's value when it was verified within
    SERVING_KEY_CACHE_SECONDS and no revocation was announced since, else None (the key
    must be verified: ask the database)."""
    digest = _digest(header)
    if digest is None:
        return None
    return current().key_memory.fresh(digest, float(settings.SERVING_KEY_CACHE_SECONDS))


def _digest(header: str) -> str | None:
    """The hash a key is remembered by; None when keys are not remembered or the header
    names no API key."""
    keyword, _, raw_key = header.partition(" ")
    raw_key = raw_key.strip()
    if float(settings.SERVING_KEY_CACHE_SECONDS) <= 0 or keyword.lower() != KEYWORD.lower():
        return None
    return hash_key(raw_key) if raw_key else None


def caller_of(request) -> tuple[str, str]:
    """(API key name, username) of who asked: what a prediction record keeps (never the
    key itself)."""
    key = request.auth if isinstance(request.auth, ApiKey) else None
    if key is not None:
        return key.name, ""
    user = request.user
    return "", user.get_username() if user is not None and user.is_authenticated else ""


def forget_keys() -> None:
    """Drop every remembered key (tests)."""
    current().key_memory.clear()


# Who may predict: a key with the scope "predict", or a staff session that may see model
# versions in the admin (model managers, superusers): the same on every predict route
# (/api/v1 predict and invocations, /v2 infer and metadata).
PREDICT = scope("predict", "models_registry.view_modelversion")
