"""Failed admin logins are limited per (client address, account).

(The counting helpers and the client address also serve the API keys' limit:
backoffice.api.auth.)

Counts live in the shared cache for a window; a locked pair is refused before the
password is checked. Only the pair is counted: a per-address or per-account count lets
anyone lock everyone out (20 failures with random usernames from one address locked
out `admin` with the right password, and behind a proxy every user shares an address).

The client address is REMOTE_ADDR, or, when REMOTE_ADDR is one of TRUSTED_PROXIES, the
address the proxies say they received the request from (X-Forwarded-For read from the
right, past every trusted proxy): a client cannot choose its own address by sending the
header, and behind the proxy clients are told apart.

When the cache is down the limit is not enforced (logged): the password check itself
still protects the account. Every cache call goes through
backoffice.cache_guard, as the predictions' do: a hung Redis would otherwise cost its socket
timeout on every API request (the API-key limit is checked before each key), so after
an error the cache is left alone for SERVING_CACHE_RETRY_SECONDS, with one warning per
outage and process.
"""

import hashlib
import ipaddress
import logging
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from backoffice.cache_guard import cache_get_many, guard

logger = logging.getLogger(__name__)


def client_address(request) -> str:
    """The client's address, through the proxies of settings.TRUSTED_PROXIES only."""
    if request is None:
        return "?"
    remote = request.META.get("REMOTE_ADDR", "") or "?"
    proxies = _trusted_proxies()
    if not proxies or not _is_trusted(remote, proxies):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            return hop if _valid_ip(hop) else remote
    return hops[0] if hops and _valid_ip(hops[0]) else remote


@lru_cache(maxsize=4)
def _parse_networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted_proxies() -> tuple:
    return _parse_networks(tuple(settings.TRUSTED_PROXIES))


def _valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _key(request, username: str) -> str:
    user = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:16]
    return f"login-fail:{client_address(request)}:{user}"


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
    """True when this account failed too often from this client address."""
    pair = _key(request, username)
    counts = failure_counts([pair], "login")
    if counts is None:
        return False
    return counts.get(pair, 0) >= settings.ADMIN_LOGIN_MAX_FAILURES


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    count_failures(
        [_key(request, credentials.get("username", ""))],
        settings.ADMIN_LOGIN_WINDOW_SECONDS,
        "login",
    )
    logger.warning("admin login failed", extra={"client": client_address(request)})


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs):
    guard.call("login throttle", lambda: cache.delete(_key(request, user.get_username())), None)
