"""This process's memory of the API keys it verified against the database, by hash.

One memory, read two ways:

- ``fresh(digest, seconds)``: the predict path's shortcut (serving.predict.auth) trusts a
  key verified within SERVING_KEY_CACHE_SECONDS without asking the database again, but
  only while the process follows revocations: it reads the revocation stamp of the
  shared cache with the alias stamps (serving.predict.hotswap, at most every
  SERVING_ALIAS_CHECK_MS, before a remembered key is accepted), and trusts nothing
  verified before the stamp changed, before it could not be read, or before it could
  be read again (apikeys.services.publish_revocation changes it). While the shared cache
  is down every key is verified against the database on every request.
- ``within(digest, seconds)``: while the database is unreachable, a key verified within
  API_KEY_OUTAGE_GRACE_SECONDS, which the caller (apikeys.services) has first checked
  against the shared cache's list of revoked keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_REMEMBERED = 10_000


class KeyMemory:
    def __init__(self):
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[float, object]] = {}
        self._following = False
        # Keys verified before this moment are not fresh: a revocation may have come
        # between (the stamp changed, or could not be read).
        self._trusted_after = float("-inf")
        # Reads the stamps when they are due (wired by serving.predict.runtime.build()).
        self.check_revocations: Callable[[], None] | None = None

    def remember(self, digest: str, key) -> None:
        """Keep ``key`` (just verified against the database) under its hash."""
        with self._lock:
            if len(self._verified) >= MAX_REMEMBERED:
                self._verified.clear()
            self._verified[digest] = (time.monotonic(), key)

    def forget(self, digest: str) -> None:
        with self._lock:
            self._verified.pop(digest, None)

    def fresh(self, digest: str, seconds: float):
        """The key remembered under ``digest`` within ``seconds``, if verified after
        the last revocation this process heard of; else None (verify it again)."""
        if seconds <= 0:
            return None
        if self.check_revocations is not None:
            self.check_revocations()
        if not self._following:
            return None
        remembered = self._verified.get(digest)
        if remembered is None or remembered[0] <= self._trusted_after:
            return None
        return remembered[1] if time.monotonic() - remembered[0] < seconds else None

    def within(self, digest: str, seconds: float):
        """The key remembered under ``digest`` within ``seconds``, whatever the stamps
        said (the database is down: the caller asked the revoked list)."""
        remembered = self._verified.get(digest)
        if remembered is not None and time.monotonic() - remembered[0] <= seconds:
            return remembered[1]
        return None

    def follow(self, *, readable: bool, changed: bool) -> None:
        """The revocation stamp was just read (``readable``), and ``changed`` since the
        last read. Trust nothing verified before now unless the process followed
        revocations without a gap: a key remembered before a gap may have been revoked
        in it."""
        with self._lock:
            if not readable or changed or not self._following:
                self._trusted_after = time.monotonic()
            self._following = readable

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._verified.clear()

    def reset(self) -> None:
        """Back to a fresh process's state: nothing remembered, and nothing trusted
        until the stamps are read (tests)."""
        with self._lock:
            self._verified.clear()
            self._following = False
            self._trusted_after = float("-inf")


# The process's memory: apikeys.services writes it on every verification; the serving
# runtime wires it to the revocation stamp (serving.predict.runtime).
memory = KeyMemory()
