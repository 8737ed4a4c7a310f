"""The shared cache (Redis in production) as an optional helper, never a dependency.

Predictions, the login limit and the API-key limit must work while Redis is down. Their
cache calls go through ``guard``: an error is logged at WARNING (once per outage, not
once per request), the caller gets its default, and for SERVING_CACHE_RETRY_SECONDS no
further call is even tried, so an outage costs one failed connection per worker and
period instead of a connect timeout on every request.

On Redis, ``redis_client`` gives the client behind Django's RedisCache directly: one
client object per thread instead of one per call (Django builds a new ``redis.Redis``
for every operation). Keys and values are Django's own (its key prefix and serializer),
so ``django.core.cache.cache`` reads what these helpers write. serving.predict.round_trip builds the
predictions' one round trip a request on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("backoffice.cache")
T = TypeVar("T")


class CacheGuard:
    def __init__(self):
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_since: float | None = None
        self.errors = 0
        self.skipped = 0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def call(self, operation: str, function: Callable[[], T], default: T) -> T:
        if time.monotonic() < self._down_until:
            self.skipped += 1
            return default
        try:
            result = function()
        except Exception as exc:  # any backend error: redis, socket, pickling
            self._failed(operation, exc)
            return default
        if self._down_since is not None:
            with self._lock:
                if self._down_since is not None:
                    logger.info(
                        "shared cache reachable again",
                        extra={"down_seconds": round(time.monotonic() - self._down_since, 1)},
                    )
                    self._down_since = None
        return result

    def _failed(self, operation: str, exc: Exception) -> None:
        retry = float(settings.SERVING_CACHE_RETRY_SECONDS)
        with self._lock:
            self.errors += 1
            self._down_until = time.monotonic() + retry
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
        if first:
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            logger.warning(
                "shared cache unavailable; serving without it",
                extra={
                    "operation": operation,
                    "error": f"{type(exc).__name__}: {detail}",
                    "retry_seconds": retry,
                },
            )

    def reset(self) -> None:
        """Forget an outage (tests)."""
        with self._lock:
            self._down_until = 0.0
            self._down_since = None


guard = CacheGuard()
_local = threading.local()


def default_cache():
    return caches["default"]


def redis_client():
    """(backend, redis client, serializer) for a RedisCache backend, else None.

    One client per thread and backend instance (tests swap CACHES; the backend object
    changes with them).
    """
    backend = default_cache()
    raw = getattr(backend, "_cache", None)
    if not hasattr(raw, "get_client"):
        return None
    cached = getattr(_local, "redis", None)
    if cached is None or cached[0] is not backend:
        cached = (backend, raw.get_client(write=True), raw._serializer)
        _local.redis = cached
    return cached


def cache_get(key: str, operation: str = "get"):
    def read():
        found = redis_client()
        if found is None:
            return default_cache().get(key)
        backend, client, serializer = found
        value = client.get(backend.make_and_validate_key(key))
        return None if value is None else serializer.loads(value)

    return guard.call(operation, read, None)


def cache_get_many(keys: list[str], operation: str = "get_many") -> dict | None:
    """The found keys, or None when the cache cannot be reached (not the same as {})."""
    return guard.call(operation, lambda: default_cache().get_many(keys), None)


def cache_set(key: str, value, timeout: float | None, operation: str = "set") -> bool:
    def write() -> bool:
        found = redis_client()
        if found is None or timeout is None:
            default_cache().set(key, value, timeout)
            return True
        backend, client, serializer = found
        client.set(backend.make_and_validate_key(key), serializer.dumps(value), ex=int(timeout))
        return True

    return guard.call(operation, write, False)


def cache_delete(key: str, operation: str = "delete") -> bool:
    return guard.call(operation, lambda: default_cache().delete(key), False)


def cache_add(key: str, value, timeout: float | None, operation: str = "add") -> bool | None:
    return guard.call(operation, lambda: default_cache().add(key, value, timeout), None)
