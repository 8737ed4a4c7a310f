"""DRF authentication by API key: ``Authorization: Api-Key <key>``.

A key that verifies is served even while its client address is limited; an invalid or
revoked key counts against its client address (apikeys.login_throttle's counters), and a
client that sent too many gets 429 before its next key is even looked at. The
permissions a view asks for (a key's scope, or a staff session's model permission) are
the API contract's: backoffice.core.api.permissions.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from apikeys.login_throttle import count_failures, failure_counts
from apikeys.models import ApiKey
from apikeys.services import KEY_PREFIX_LENGTH, ApiKeyUnverifiable, api_key_authenticate
from backoffice.core.errors import Unavailable
from backoffice.core.http.client import client_address

KEYWORD = "Api-Key"
logger = logging.getLogger(__name__)


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
            # Not silently ignored: "credentials were not provided" sends a bot
            # developer looking in the wrong place.
            raise exceptions.AuthenticationFailed(
                f"the Authorization scheme {keyword[:20]!r} is not accepted: send "
                f"'Authorization: {KEYWORD} <key>'"
            )
        # The key is checked first: a key that verifies is served even while its
        # client address is limited (guessers and revoked keys from the same address
        # cannot lock out a bot that holds a good key).
        try:
            key = api_key_authenticate(raw_key.strip())
        except ApiKeyUnverifiable as exc:
            raise Unavailable(str(exc)) from None
        if key is None:
            _refuse(request, raw_key.strip())
        request._request.api_key = key  # the request log names the key
        return ApiKeyUser(key), key

    def authenticate_header(self, request):
        return KEYWORD


def _failure_keys(request, raw_key: str) -> tuple[str, str]:
    """Failures count per (client address, key prefix) and per client address."""
    client = client_address(request)
    prefix = hashlib.sha256(raw_key[:KEY_PREFIX_LENGTH].encode()).hexdigest()[:16]
    return f"api-key-fail:{client}:{prefix}", f"api-key-fail:{client}"


def _refuse(request, raw_key: str):
    """401 for an invalid or revoked key, 429 once its client sent too many of them
    (in the shared cache; while it is down, only the 401: the key check protects)."""
    pair, client = _failure_keys(request, raw_key)
    counts = failure_counts([pair, client], "API key") or {}
    limit = settings.API_KEY_MAX_FAILURES
    if counts.get(pair, 0) >= limit or counts.get(client, 0) >= limit * 4:
        raise exceptions.Throttled(
            wait=settings.API_KEY_FAILURE_WINDOW_SECONDS,
            detail="too many invalid API keys from this address; try again later",
        )
    count_failures([pair, client], settings.API_KEY_FAILURE_WINDOW_SECONDS, "API key")
    logger.warning("invalid or revoked API key", extra={"client": client_address(request)})
    raise exceptions.AuthenticationFailed("invalid or revoked API key")
