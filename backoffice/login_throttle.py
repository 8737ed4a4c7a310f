"""Failed admin logins are limited per account and per client address.

(The counting helpers also serve the API keys' limit: backoffice.api_auth.)

Counts live in the shared cache for a window; a locked pair is refused before the
password is checked. When the cache is down the limit is not enforced (logged): the
password check itself still protects the account. Every cache call goes through
backoffice.cache_guard, as the predictions' do: a hung Redis would otherwise cost its socket
timeout on every API request (the API-key limit is checked before each key), so after
an error the cache is left alone for SERVING_CACHE_RETRY_SECONDS, with one warning per
outage and process.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from backoffice.cache_guard import cache_get_many, guard

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "?") if request is not None else "?"


def _keys(request, username: str) -> tuple[str, str]:
    user = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:16]
    client = client_address(request)
    return f"login-fail:{client}:{user}", f"login-fail:{client}"


def failure_counts(keys: list[str], what: str) -> dict[str, int] | None:
    """The failure counts under ``keys``; None while the cache does not answer."""
    return cache_get_many(keys, f"{what} throttle")


def count_failures(keys: tuple[str, ...] | list[str], window: int, what: str) -> None:
    """Add one failure under each key, for ``window`` seconds from the first."""

    def add():
        for key in keys:
            if not cache.add(key, 1, window):
                cache.incr(key)

    guard.call(f"{what} throttle", add, None)


def locked_out(request, username: str) -> bool:
    """True when this account from this address, or this address, failed too often."""
    pair, address = _keys(request, username)
    counts = failure_counts([pair, address], "login")
    if counts is None:
        return False
    return (
        counts.get(pair, 0) >= settings.ADMIN_LOGIN_MAX_FAILURES
        or counts.get(address, 0) >= settings.ADMIN_LOGIN_MAX_FAILURES * 4
    )


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    keys = _keys(request, credentials.get("username", ""))
    count_failures(keys, settings.ADMIN_LOGIN_WINDOW_SECONDS, "login")
    logger.warning("admin login failed", extra={"client": client_address(request)})


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs):
    guard.call("login throttle", lambda: cache.delete(_keys(request, user.get_username())[0]), None)
