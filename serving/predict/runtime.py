"""The serving app's per-process objects: built and wired by ``build()``, once, from the
serving app's ``ready()`` (serving/apps.py); never at import.

Each gunicorn worker holds one of each:

    exchange          one round trip to the shared cache a prediction (serving.predict.round_trip)
    key_memory        the API keys this worker verified lately (apikeys.key_memory: the
                      process's one memory, which apikeys.services also reads)
    resolver          alias or version -> the version to serve, and the stamps that tell
                      the workers of a move, an evict or a warm-up (serving.predict.hotswap)
    predictors        the LRU of loaded models (serving.predict.predictors)
    prediction_cache  predictions in the shared cache, by version and rows (serving.predict.cache)
    counters          the predict throttle's window counts (serving.predict.window_counts)
    recorder          the prediction records waiting for its writer thread (serving.live.recorder)
    shadows           the recorded answers waiting for a challenger's shadow score
                      (serving.live.challenger_routing)

and the wiring between them (``build()``, and nowhere else):

    resolver.on_evict   -> predictors.evict      an evict stamp from another worker
    resolver.on_warm    -> warmup.warm_from_stamp a warm-up asked of every worker
    exchange.on_counts  -> counters.synced       the shared totals came back
    resolver.on_revocations -> key_memory.follow the revocation stamp was read
    key_memory.check_revocations -> resolver.check_stamps
                                                 read the stamps (when due) before a
                                                 remembered key is accepted
    shadows -> predictors, recorder              a challenger scored and recorded

The modules of those objects never import this one: the objects they need are handed to
them (import-linter's contracts, .importlinter). The entry points (the views, the short
path, the throttle, gunicorn's hooks, the demo) ask ``current()``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from apikeys import key_memory
from apikeys.key_memory import KeyMemory
from serving.live.challenger_routing import ShadowScorer
from serving.live.recorder import PredictionRecorder
from serving.predict import warmup
from serving.predict.cache import PredictionCache
from serving.predict.hotswap import Resolver
from serving.predict.predictors import PredictorCache
from serving.predict.round_trip import Exchange
from serving.predict.window_counts import WindowCounters

logger = logging.getLogger("serving.predict.predictors")


@dataclass(eq=False)
class Runtime:
    exchange: Exchange
    resolver: Resolver
    key_memory: KeyMemory
    predictors: PredictorCache
    prediction_cache: PredictionCache
    counters: WindowCounters
    recorder: PredictionRecorder
    shadows: ShadowScorer
    warmed: bool = False
    _warm_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def warm(self, aliases: list[str] | None = None) -> list[dict]:
        """Load the versions behind the warm aliases now (gunicorn's post_worker_init);
        the first prediction then finds this process warm."""
        with self._warm_lock:
            self.warmed = True
            return warmup.warm_production_aliases(self, aliases)

    def ensure_warm(self) -> None:
        """Warm this process once, on its first prediction (when no hook did it before)."""
        if self.warmed:
            return
        with self._warm_lock:
            if self.warmed:
                return
            self.warmed = True
            warmup.warm_production_aliases(self)

    def readiness(self) -> dict:
        """/readyz's details: the recorder and the challengers' shadow scorer (they never
        fail readiness: a record or shadow that cannot be made is dropped and counted,
        and predictions go on)."""
        return {**self.recorder.stats(), "shadows": self.shadows.stats()}

    def reset(self, *, warmed: bool = False) -> None:
        """Forget everything this process learnt: resolutions, loaded models, statistics,
        counts, remembered keys, the cache guard's outage, queued writes and records.
        ``warmed``: as a worker whose warm-up is done (tests that ask for it warm it)."""
        from backoffice.core import cache_guard

        self.resolver.reset()
        self.predictors.clear()
        self.prediction_cache.reset_stats()
        self.counters.clear()
        cache_guard.guard.reset()
        cache_guard.guard.errors = cache_guard.guard.skipped = 0
        self.key_memory.reset()
        self.exchange.run([])  # nothing queued rides along with the next request
        self.recorder.reset()
        self.shadows.reset()
        self.warmed = warmed


def build() -> Runtime:
    """A process's serving objects, wired."""
    exchange = Exchange()
    resolver = Resolver()
    predictors = PredictorCache()
    recorder = PredictionRecorder()
    built = Runtime(
        exchange=exchange,
        resolver=resolver,
        key_memory=key_memory.memory,
        predictors=predictors,
        prediction_cache=PredictionCache(resolver=resolver, exchange=exchange),
        counters=WindowCounters(exchange=exchange),
        recorder=recorder,
        shadows=ShadowScorer(predictors=predictors, recorder=recorder),
    )

    def evict_from_stamp(model: str | None) -> None:
        dropped = predictors.evict(model=model)
        logger.info(
            "predictors evicted on request",
            extra={"model": model, "evicted": [e.served.label for e in dropped]},
        )

    resolver.on_evict = evict_from_stamp
    resolver.on_warm = lambda stamp: warmup.warm_from_stamp(built, stamp)
    exchange.on_counts = built.counters.synced
    resolver.on_revocations = built.key_memory.follow
    built.key_memory.check_revocations = resolver.check_stamps
    return built


_current: Runtime | None = None


def install(built: Runtime) -> None:
    """Make ``built`` this process's runtime (the serving app's ready())."""
    global _current
    _current = built


def current() -> Runtime:
    """This process's runtime; the serving app's ready() built it."""
    if _current is None:
        raise RuntimeError("the serving runtime is not built: Django's apps are not ready")
    return _current
