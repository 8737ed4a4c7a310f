"""Prediction results in the shared cache, keyed by version and a canonical input hash.

The key is the version's id and artifact hash plus a BLAKE2 digest of the input as a
float64 matrix in schema order: the same rows hit the same entry whichever body form,
key order, spacing or number spelling (1 or 1.0) the client used. A large body is also
stored under the hash of its exact bytes, looked up before it is parsed. Entries live
SERVING_PREDICTION_CACHE_TTL seconds; 0 turns the cache off. The lookup shares its
round trip with the alias stamps, and a new entry is written with the next request's
(serving.predict.round_trip.Exchange). A cache that cannot be reached is skipped
(backoffice.core.cache_guard): the prediction is computed, only slower.

The cache is read only where it pays: a request whose prediction is expected to take
less than SERVING_PREDICTION_CACHE_MIN_MS (this worker's recent predict times of the
same version for requests of about as many rows) is computed again instead of fetched.
A single row of a compiled tree model takes about 0.03 ms; the round trip that would
fetch it about 0.1-0.25 ms, plus the write of its answer (bench/README "Serving race").
Until a version has predicted requests of that size, the cache is read.

The statistics are this worker's own counters since it started.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np
from django.conf import settings
from django.core.cache import caches

from backoffice.core import cache_guard
from serving.served import ServedVersion

# Bodies at least this large are also looked up by the hash of their bytes.
RAW_KEY_MIN_BYTES = 4096
# The predict-time estimates: weight of the newest prediction, and how many are kept.
SMOOTHING = 0.2
MAX_ESTIMATES = 10_000


def _size_class(rows: int) -> int:
    """Requests of 1, 2-3, 4-7, 8-15... rows share an estimate."""
    return rows.bit_length()


class PredictionCache:
    """``resolver`` gives the generation every key carries (an evict moves it on),
    ``exchange`` carries the writes (serving.predict.runtime builds it with both)."""

    def __init__(self, *, resolver, exchange):
        self.resolver = resolver
        self.exchange = exchange
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self.not_worth_it = 0
        # (version id, size class of the row count) -> moving average of predict ms
        self._predict_ms: dict[tuple[int, int], float] = {}

    @property
    def ttl(self) -> int:
        return settings.SERVING_PREDICTION_CACHE_TTL

    def key(self, served: ServedVersion, rows: np.ndarray) -> str | None:
        """The entry's key; None while the cache is off (TTL 0)."""
        if self.ttl <= 0:
            return None
        digest = hashlib.blake2b(rows.tobytes(), digest_size=16)
        digest.update(np.asarray(rows.shape, dtype=np.int64).tobytes())
        generation = self.resolver.generation
        return f"pred:{generation}:{served.id}:{served.sha256[:12]}:{digest.hexdigest()}"

    def raw_key(self, served: ServedVersion, raw: bytes) -> str | None:
        """A second key for a large body: the hash of its exact bytes.

        A client that repeats a request sends the same bytes; looking them up before
        parsing saves the parse and the validation, which for a thousand rows cost more
        than the model. Small bodies parse in microseconds and skip this.
        """
        if self.ttl <= 0 or len(raw) < RAW_KEY_MIN_BYTES:
            return None
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        return f"pred:raw:{self.resolver.generation}:{served.id}:{served.sha256[:12]}:{digest}"

    def worth_reading(self, served: ServedVersion, rows: int) -> bool:
        """Whether a request of ``rows`` rows is worth a round trip to the cache: its
        prediction is expected to take at least SERVING_PREDICTION_CACHE_MIN_MS (0:
        always), or this worker has not predicted a request of its size yet."""
        floor = settings.SERVING_PREDICTION_CACHE_MIN_MS
        if self.ttl <= 0:
            return False  # the cache is off: nothing to read, nothing to count
        if floor <= 0:
            return True
        expected = self._predict_ms.get((served.id, _size_class(rows)))
        if expected is None or expected >= floor:
            return True
        with self._lock:
            self.not_worth_it += 1
        return False

    def observe(self, served: ServedVersion, rows: int, predict_ms: float) -> None:
        """A prediction of ``rows`` rows took ``predict_ms``: the estimate worth_reading
        goes by (a moving average, so that a version that slows down is read again)."""
        key = (served.id, _size_class(rows))
        with self._lock:
            before = self._predict_ms.get(key)
            if before is None and len(self._predict_ms) >= MAX_ESTIMATES:
                self._predict_ms.clear()
            self._predict_ms[key] = (
                predict_ms if before is None else before * (1 - SMOOTHING) + predict_ms * SMOOTHING
            )

    def record(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def put(self, key: str, predictions: list) -> None:
        """Store with the next request's round trip (serving.predict.round_trip.Exchange)."""
        if self.ttl > 0:
            self.exchange.queue_set(key, predictions, self.ttl)
            with self._lock:
                self.stores += 1

    def stats(self) -> dict:
        lookups = self.hits + self.misses
        return {
            "backend": type(caches["default"]).__name__,
            "available": cache_guard.guard.available,
            "ttl_seconds": self.ttl,
            "hits": self.hits,
            "misses": self.misses,
            "stores": self.stores,  # queued for the shared cache
            "hit_ratio": round(self.hits / lookups, 4) if lookups else None,
            # Requests computed without a lookup: cheaper than the round trip.
            "not_worth_a_lookup": self.not_worth_it,
            "min_predict_ms": settings.SERVING_PREDICTION_CACHE_MIN_MS,
            "errors": cache_guard.guard.errors,
            "skipped_while_down": cache_guard.guard.skipped,
        }

    def reset_stats(self) -> None:
        with self._lock:
            self.hits = self.misses = self.stores = self.not_worth_it = 0
            self._predict_ms.clear()
