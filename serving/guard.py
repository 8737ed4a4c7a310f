"""The shared cache (Redis in production) as an optional helper, never a dependency.

Predictions must succeed while Redis is down, only slower. Every cache call of the
serving app goes through ``guard``: an error is logged at WARNING (once per outage, not
once per request), the caller gets its default, and for SERVING_CACHE_RETRY_SECONDS no
further call is even tried, so an outage costs one failed connection per worker and
period instead of a connect timeout on every request.

Round trips are the price of a prediction here (each one is a context switch on a busy
two-core machine), so on Redis this module talks to the client behind Django's
RedisCache directly: one client object per thread instead of one per call (Django
builds a new ``redis.Redis`` for every operation), and a prediction's read, the alias
stamps, the previous prediction's write and the throttle's counter travel in one
pipeline (``Exchange``). Keys and values are Django's own (its key prefix and
serializer), so ``django.core.cache.cache`` reads what this writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import caches

logger = logging.getLogger("serving.cache")
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


def _backend():
    return caches["default"]


def _redis():
    """(backend, redis client, serializer) for a RedisCache backend, else None.

    One client per thread and backend instance (tests swap CACHES; the backend object
    changes with them).
    """
    backend = _backend()
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
        found = _redis()
        if found is None:
            return _backend().get(key)
        backend, client, serializer = found
        value = client.get(backend.make_and_validate_key(key))
        return None if value is None else serializer.loads(value)

    return guard.call(operation, read, None)


def cache_get_many(keys: list[str], operation: str = "get_many") -> dict | None:
    """The found keys, or None when the cache cannot be reached (not the same as {})."""
    return guard.call(operation, lambda: _backend().get_many(keys), None)


def cache_set(key: str, value, timeout: float | None, operation: str = "set") -> bool:
    def write() -> bool:
        found = _redis()
        if found is None or timeout is None:
            _backend().set(key, value, timeout)
            return True
        backend, client, serializer = found
        client.set(backend.make_and_validate_key(key), serializer.dumps(value), ex=int(timeout))
        return True

    return guard.call(operation, write, False)


def cache_add(key: str, value, timeout: float | None, operation: str = "add") -> bool | None:
    return guard.call(operation, lambda: _backend().add(key, value, timeout), None)


class Exchange:
    """Writes and counters that ride along with the next read: one round trip a request.

    A prediction needs one read (the cached prediction); what it writes (a new
    prediction, the throttle's counter, read back as the shared total) waits for the
    next request's read and travels in the same pipeline. A write still queued when the
    worker stops is lost, which a cache and a rate limit can afford.
    """

    MAX_QUEUED = 256

    def __init__(self):
        self._lock = threading.Lock()
        self._sets: list[tuple[str, object, int]] = []
        self._counts: dict[str, list[int]] = {}  # key -> [delta, ttl]
        self.on_counts: Callable[[dict[str, tuple[int, int]]], None] | None = None

    def queue_set(self, key: str, value, ttl: int) -> None:
        with self._lock:
            if len(self._sets) < self.MAX_QUEUED:
                self._sets.append((key, value, ttl))

    def queue_count(self, key: str, ttl: int) -> None:
        with self._lock:
            entry = self._counts.setdefault(key, [0, ttl])
            entry[0] += 1

    def pending(self) -> bool:
        return bool(self._sets or self._counts)

    def run(self, keys: list[str]) -> dict | None:
        """Send what is queued and read ``keys``; the found keys, or None if unreachable."""
        with self._lock:
            sets, self._sets = self._sets, []
            counts, self._counts = self._counts, {}
        if not sets and not counts and not keys:
            return {}
        found = guard.call("exchange", lambda: self._send(sets, counts, keys), None)
        if found is None:
            return None
        found, totals = found
        if totals and self.on_counts is not None:
            self.on_counts({k: (totals[k], counts[k][0]) for k in totals})
        return found

    @staticmethod
    def _send(sets, counts, keys) -> tuple[dict, dict[str, int]]:
        redis = _redis()
        if redis is None:  # local memory (the embedded default): plain calls, no network
            backend = _backend()
            for key, value, ttl in sets:
                backend.set(key, value, ttl)
            totals = {}
            for key, (delta, ttl) in counts.items():
                backend.add(key, 0, ttl)
                totals[key] = backend.incr(key, delta)
            return (backend.get_many(keys) if keys else {}), totals
        backend, client, serializer = redis
        pipe = client.pipeline(transaction=False)
        for key, value, ttl in sets:
            pipe.set(backend.make_and_validate_key(key), serializer.dumps(value), ex=ttl)
        for key, (delta, ttl) in counts.items():
            full = backend.make_and_validate_key(key)
            pipe.set(full, 0, ex=ttl, nx=True)
            pipe.incrby(full, delta)
        if keys:
            pipe.mget([backend.make_and_validate_key(k) for k in keys])
        replies = pipe.execute()
        totals = {}
        position = len(sets)
        for key in counts:
            totals[key] = int(replies[position + 1])
            position += 2
        found = {}
        if keys:
            values = replies[-1]
            found = {
                k: serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None
            }
        return found, totals


exchange = Exchange()
