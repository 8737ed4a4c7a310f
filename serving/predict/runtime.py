"""The serving app's per-process objects, built and wired in one place.

Each gunicorn worker holds one of each:

    exchange          one round trip to the shared cache a prediction (serving.predict.round_trip)
    key_memory        the API keys this worker verified lately (serving.predict.key_memory)
    resolver          alias or version -> the version to serve, and the stamps that tell
                      the workers of a move, an evict or a warm-up (serving.predict.hotswap)
    predictors        the LRU of loaded models (serving.predict.predictors)
    prediction_cache  predictions in the shared cache, by version and rows
    counters          the predict throttle's window counts (serving.predict.throttles)
    recorder          the prediction records waiting for its writer thread (serving.live.recorder)
    shadows           the recorded answers waiting for a challenger's shadow score
                      (serving.live.challengers)

and the wiring between them (below, and nowhere else):

    resolver.on_evict   -> predictors.evict      an evict stamp from another worker
    resolver.on_warm    -> warmup.warm_from_stamp a warm-up asked of every worker
    exchange.on_counts  -> counters.synced       the shared totals came back
    resolver.on_revocations -> key_memory.follow the revocation stamp was read
    key_memory.check_revocations -> resolver.check_stamps
                                                 read the stamps (when due) before a
                                                 remembered key is accepted

``reset()`` puts the process back as it started (tests; the next request warms it).
"""

from __future__ import annotations

import logging

from serving.live.challengers import ShadowScorer
from serving.live.recorder import PredictionRecorder
from serving.predict.cache import PredictionCache
from serving.predict.hotswap import Resolver
from serving.predict.key_memory import KeyMemory
from serving.predict.predictors import PredictorCache
from serving.predict.round_trip import Exchange
from serving.predict.throttles import WindowCounters

logger = logging.getLogger("serving.predict.predictors")

exchange = Exchange()
resolver = Resolver()
key_memory = KeyMemory()
predictors = PredictorCache()
prediction_cache = PredictionCache(resolver=resolver, exchange=exchange)
counters = WindowCounters(exchange=exchange)
recorder = PredictionRecorder()
shadows = ShadowScorer()


def _evict_from_stamp(model: str | None) -> None:
    dropped = predictors.evict(model=model)
    logger.info(
        "predictors evicted on request",
        extra={"model": model, "evicted": [e.served.label for e in dropped]},
    )


def _warm_from_stamp(stamp: dict) -> None:
    from serving.predict import warmup  # it uses this module's objects

    warmup.warm_from_stamp(stamp)


resolver.on_evict = _evict_from_stamp
resolver.on_warm = _warm_from_stamp
exchange.on_counts = counters.synced
resolver.on_revocations = key_memory.follow
key_memory.check_revocations = resolver.check_stamps


def reset() -> None:
    """Forget everything this process learnt: resolutions, loaded models, statistics,
    counts, remembered keys, the cache guard's outage, queued writes and records, the
    warm-up."""
    from backoffice.core import cache_guard
    from serving.predict import warmup

    resolver.reset()
    predictors.clear()
    prediction_cache.reset_stats()
    counters.clear()
    cache_guard.guard.reset()
    cache_guard.guard.errors = cache_guard.guard.skipped = 0
    key_memory.reset()
    exchange.run([])  # nothing queued rides along with the next request
    recorder.reset()
    shadows.reset()
    warmup.mark_cold()
