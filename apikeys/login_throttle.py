"""Failed admin logins are limited per (client address, account) where the client's
address can be trusted, and per account, with a far higher bound, where it cannot.

(The counting helpers and the client address also serve the API keys' limit:
backoffice.core.api.permissions.)

Counts live in the shared cache for a window; a locked login is refused before the
password is checked.

Where the client's address is known (client_origin: a direct connection, or one a
proxy of TRUSTED_PROXIES names in X-Forwarded-For), failures count per (address,
account), ADMIN_LOGIN_MAX_FAILURES (5) in the window: a guesser locks out only itself,
and nobody can lock everyone out by failing with many names.

Where it is not -- the request came through a proxy that is not trusted (it carries
X-Forwarded-For, Forwarded or X-Real-IP from an address outside TRUSTED_PROXIES), or a
trusted proxy did not say whom it forwards for -- every client may share one address: counting per
(address, account) there locked the real `operator` out for 15 minutes after a
stranger's 5 wrong passwords (issue 26, the compose file without TRUSTED_PROXIES).
Such failures count per account instead, in a bucket of their own, with a bound
(ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT, 100) that a person's typing errors never
reach and that still bounds an online guesser of one password to 100 guesses a
window. Only a deliberate flood reaches it, and it then closes only the untrusted
way in: the account still logs in from a trusted address (a direct connection or a
trusted proxy naming the client), whose failures are counted apart, per address.

The client address is REMOTE_ADDR, or, when REMOTE_ADDR is one of TRUSTED_PROXIES, the
address the proxies say they received the request from (X-Forwarded-For read from the
right, past every trusted proxy): a client cannot choose its own address by sending the
header. A client that sends the header to a server without trusted proxies only moves
itself into the per-account bucket.

When the cache is down the limit is not enforced (logged): the password check itself
still protects the account. Every cache call goes through
backoffice.core.cache_guard, as the predictions' do: a hung Redis would otherwise cost its socket
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

from backoffice.core.cache_guard import cache_get_many, guard
from backoffice.core.http.client import client_origin

logger = logging.getLogger(__name__)


def _account(username: str) -> str:
    return hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:16]


def _key(request, username: str) -> tuple[str, int]:
    """The failure count a login from this request counts in, and its bound."""
    address, own = client_origin(request)
    if own:
        return f"login-fail:{address}:{_account(username)}", settings.ADMIN_LOGIN_MAX_FAILURES
    return (
        f"login-fail-untrusted:{_account(username)}",
        settings.ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT,
    )


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
    """True when this account failed too often from this client address (or, from an
    address that is not the client's own, too often from any such address)."""
    key, bound = _key(request, username)
    counts = failure_counts([key], "login")
    if counts is None:
        return False
    return counts.get(key, 0) >= bound


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    key, _bound = _key(request, credentials.get("username", ""))
    count_failures([key], settings.ADMIN_LOGIN_WINDOW_SECONDS, "login")
    address, own = client_origin(request)
    logger.warning("admin login failed", extra={"client": address, "client_address_trusted": own})


@receiver(user_logged_in)
def forget_failures(sender, request, user, **kwargs):
    key, _bound = _key(request, user.get_username())
    if key.startswith("login-fail-untrusted:"):
        # Shared with whoever else comes the same untrusted way: a success of the real
        # user must not give a guesser a fresh budget.
        return
    guard.call("login throttle", lambda: cache.delete(key), None)
