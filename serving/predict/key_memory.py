"""The predict path's memory of API keys it verified, which follows revocations.

A key this worker verified against the database is trusted for
SERVING_KEY_CACHE_SECONDS without asking again (serving.predict.auth), but only while the
worker follows revocations: it reads the revocation stamp of the shared cache with the
alias stamps (serving.predict.hotswap, at most every SERVING_ALIAS_CHECK_MS, before a
remembered key is accepted), and forgets every key when the stamp changes
(apikeys.services.publish_revocation changes it), when it cannot be read, and when
it can be read again. While the shared cache is down every key is verified against the
database on every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.conf import settings

MAX_REMEMBERED = 10_000


class KeyMemory:
    def __init__(self):
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[float, object]] = {}
        self._following = False
        # Reads the stamps when they are due (wired in serving.predict.runtime).
        self.check_revocations: Callable[[], None] | None = None

    def remember(self, digest: str, key) -> None:
        """Keep ``key`` (just verified against the database) under its hash."""
        with self._lock:
            if len(self._verified) >= MAX_REMEMBERED:
                self._verified.clear()
            self._verified[digest] = (time.monotonic(), key)

    def get(self, digest: str):
        """The key remembered under ``digest`` within SERVING_KEY_CACHE_SECONDS, if no
        revocation has been announced since; else None (verify it again)."""
        if self.check_revocations is not None:
            self.check_revocations()
        if not self._following:
            return None
        remembered = self._verified.get(digest)
        ttl = float(settings.SERVING_KEY_CACHE_SECONDS)
        if remembered is not None and time.monotonic() - remembered[0] < ttl:
            return remembered[1]
        return None

    def follow(self, *, readable: bool, changed: bool) -> None:
        """The revocation stamp was just read (``readable``), and ``changed`` since the
        last read. Forget every key unless the worker followed revocations without a
        gap: a key remembered before a gap may have been revoked in it."""
        with self._lock:
            if not readable or changed or not self._following:
                self._verified.clear()
            self._following = readable

    def clear(self) -> None:
        """Forget every key (tests)."""
        with self._lock:
            self._verified.clear()

    def reset(self) -> None:
        """Back to a fresh process's state: nothing remembered, and nothing trusted
        until the stamps are read (tests)."""
        with self._lock:
            self._verified.clear()
            self._following = False
