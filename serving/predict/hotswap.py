"""Which version an alias names, per worker, kept fresh by stamps in the shared cache.

Each worker keeps the versions it has resolved in memory, so a prediction needs no
database query. Three stamps in the shared cache tell it when that memory is stale:

  alias stamp   bumped on the commit of every alias move: the worker forgets its
                resolutions and asks the database again
  evict stamp   bumped by DELETE /cache: the worker drops loaded predictors (of one
                model or all) and starts a new prediction-cache generation
  warm stamp    bumped by POST /cache and `manage.py warm_cache`: the worker loads the
                named versions in a background thread

A fourth, the revocation stamp (apikeys.services.REVOCATION_STAMP), changes with
every API-key revocation: the worker forgets the keys it remembers (apikeys.key_memory).

A worker reads the stamps at most every SERVING_ALIAS_CHECK_MS (100 ms by default), in
the same round trip as the prediction it is serving (serving.predict.round_trip.Exchange): every
worker serves a moved alias within that interval plus one query.
While the cache is down the stamps cannot be read: resolutions then expire after
``FALLBACK_MAX_AGE`` seconds, so a move still reaches every worker within a second or so.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import DatabaseError

from apikeys.services import REVOCATION_STAMP
from backoffice.core import cache_guard
from backoffice.core.db.outages import is_database_outage
from models_registry import selectors
from serving.live.challenger_routing import Route
from serving.served import ServedVersion

logger = logging.getLogger(__name__)

ALIAS_STAMP = "serving:stamp:alias"
EVICT_STAMP = "serving:stamp:evict"
WARM_STAMP = "serving:stamp:warm"
STAMP_KEYS = [ALIAS_STAMP, EVICT_STAMP, WARM_STAMP, REVOCATION_STAMP]
# How long a resolution is trusted without a readable stamp, and at most with one.
FALLBACK_MAX_AGE = 1.0
MAX_AGE = 60.0


class Resolver:
    """Per-process resolutions of (model, alias | version) to a ServedVersion."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, tuple[ServedVersion, float]] = {}
        self._checked_at = 0.0
        self._stamps: dict[str, object] = {}
        self._stamps_readable = False
        self.generation = "0"
        # Wired by serving.predict.runtime.build():
        self.on_evict = None  # callable(model | None)
        self.on_warm = None  # callable(stamp dict)
        self.on_revocations = None  # callable(readable=bool, changed=bool), on every read

    def resolve(
        self, *, model: str, alias: str | None, version: int | None, check: bool = True
    ) -> ServedVersion:
        """The version to serve; models_registry.errors.NotFound when there is none.

        ``check=False``: the caller reads the stamps itself (serving.predict.services does, in
        the same round trip as the cached prediction).
        """
        if check:
            self.check_stamps()
        key = (
            (model, None, version) if version is not None else (model, alias or "production", None)
        )
        now = time.monotonic()
        max_age = MAX_AGE if self._stamps_readable else FALLBACK_MAX_AGE
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] < max_age:
            return entry[0]
        try:
            found = selectors.version_get(model_name=model, alias=key[1], version=version)
        except DatabaseError as exc:
            return self._stale(key, entry, now - max_age, exc)
        served = ServedVersion.of(found)
        with self._lock:
            self._entries[key] = (served, now)
        return served

    def route(self, *, model: str, alias: str):
        """The alias's challenger as serving.live.challenger_routing.Route, or None; kept as long as
        a resolution (the alias stamp forgets both). NotFound as resolve()."""
        key = ("route", model, alias)
        now = time.monotonic()
        max_age = MAX_AGE if self._stamps_readable else FALLBACK_MAX_AGE
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] < max_age:
            return entry[0]

        try:
            found = selectors.alias_with_challenger(model_name=model, alias=alias)
        except DatabaseError as exc:
            return self._stale(key, entry, now - max_age, exc)
        route = None
        if found is not None and found.challenger is not None:
            route = Route(
                champion=ServedVersion.of(found.version),
                challenger=ServedVersion.of(found.challenger),
                mode=found.challenger_mode,
                share=found.challenger_share,
            )
            reason = route.unusable()
            if reason:
                # The alias moved since the challenger was set (a plain alias move):
                # serve without it rather than fail requests or shadows.
                logger.warning(
                    "challenger ignored",
                    extra={"model": model, "alias": alias, "reason": reason},
                )
                route = None
        with self._lock:
            self._entries[key] = (route, now)
        return route

    def _stale(self, key, entry, expired_at: float, exc: DatabaseError):
        """The database is unreachable: keep serving what it last said (a prediction
        never fails for it), asking again after the fallback age; re-raise when there
        is nothing to serve, or when the error is not an outage."""
        if entry is None or not is_database_outage(exc):
            raise exc
        logger.warning(
            "resolution kept: the database is unreachable",
            extra={"key": "/".join(str(part) for part in key if part is not None)},
            exc_info=True,
        )
        with self._lock:
            # Asked again after FALLBACK_MAX_AGE, not on every request meanwhile.
            self._entries[key] = (entry[0], expired_at + FALLBACK_MAX_AGE)
        return entry[0]

    def check_stamps(self, *, force: bool = False) -> None:
        """Read the stamps if the interval has passed; act on the ones that changed."""
        if force or self.stamps_due():
            self.apply_stamps(cache_guard.cache_get_many(STAMP_KEYS, "stamps"))

    def stamps_due(self) -> bool:
        return time.monotonic() - self._checked_at >= settings.SERVING_ALIAS_CHECK_MS / 1000

    def apply_stamps(self, found: dict | None) -> None:
        """Act on stamps just read (here, or by the throttle in the same round trip)."""
        self._checked_at = time.monotonic()
        if found is None:
            self._stamps_readable = False
            if self.on_revocations is not None:
                self.on_revocations(readable=False, changed=False)
            return
        self._stamps_readable = True
        if self.on_revocations is not None:
            # An absent stamp (no revocation yet, or Redis lost its keys) is a value too.
            revoked = found.get(REVOCATION_STAMP) != self._stamps.get(REVOCATION_STAMP)
            self.on_revocations(readable=True, changed=revoked and bool(self._stamps))
        if ALIAS_STAMP not in found:
            # First start, or Redis lost its keys: a stamp every worker can agree on.
            token = uuid.uuid4().hex
            cache_guard.cache_add(ALIAS_STAMP, token, None, "stamps")
            found = {**found, ALIAS_STAMP: token}
        first = not self._stamps
        changed = {k for k, v in found.items() if self._stamps.get(k) != v}
        self._stamps = dict(found)
        if ALIAS_STAMP in changed and not first:
            self.forget()
        evict = found.get(EVICT_STAMP)
        if isinstance(evict, dict):
            self.generation = str(evict.get("token", "0"))
            if EVICT_STAMP in changed and not first and self.on_evict is not None:
                self.on_evict(evict.get("model"))
        warm = found.get(WARM_STAMP)
        if WARM_STAMP in changed and not first and isinstance(warm, dict) and self.on_warm:
            self.on_warm(warm)

    def forget(self) -> None:
        """Ask the database again before the next use of every resolution; each is kept,
        expired, for the database being unreachable at that moment (_stale)."""
        with self._lock:
            self._entries = {key: (kept, float("-inf")) for key, (kept, _) in self._entries.items()}

    def reset(self) -> None:
        """Back to a fresh process's state (tests)."""
        with self._lock:
            self._entries.clear()
            self._stamps = {}
            self._checked_at = 0.0
            self._stamps_readable = False
            self.generation = uuid.uuid4().hex[:8]

    def announce_alias_change(self, **kwargs) -> None:
        """Receiver of models_registry.signals.aliases_changed (connected by the serving
        app's ready()): forget here, and a new alias stamp for every other worker."""
        self.forget()
        if not cache_guard.cache_set(ALIAS_STAMP, uuid.uuid4().hex, None, "stamps"):
            logger.warning(
                "alias moved while the shared cache is down: workers see it within "
                f"{FALLBACK_MAX_AGE:g} s of their next resolution instead",
                extra={"model": kwargs.get("model")},
            )

    def announce_evict(self, *, model: str | None) -> bool:
        """Every worker drops its predictors (of ``model`` or all) and cached predictions.

        False when the shared cache is down: only this worker has evicted then.
        """
        token = uuid.uuid4().hex[:12]
        self.generation = token
        return cache_guard.cache_set(EVICT_STAMP, {"token": token, "model": model}, None, "stamps")

    def state(self) -> dict:
        return {
            "resolutions": len(self._entries),
            "stamps_readable": self._stamps_readable,
            "alias_stamp": self._stamps.get(ALIAS_STAMP),
            "generation": self.generation,
        }


def announce_warm(
    *,
    model: str | None,
    alias: str | None,
    version: int | None,
    aliases: list[str] | None = None,
) -> bool:
    """Every worker loads the named version (or every ``aliases`` one) in the background."""
    stamp = {
        "token": uuid.uuid4().hex,
        "model": model,
        "alias": alias,
        "version": version,
        "aliases": aliases,
    }
    return cache_guard.cache_set(WARM_STAMP, stamp, None, "stamps")
