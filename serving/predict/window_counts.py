"""The predict endpoint's rate limit: fixed windows counted per worker, summed in Redis.

DRF's own throttles keep every request's timestamp in one cache entry, read and
rewritten on each request (a list of thousands at a bot's rates), and raise when the
cache is down. This one decides locally from the last shared total it saw plus its own
requests since; its count rides to Redis with the next round trip (serving.predict.round_trip.
Exchange): a prediction's cache read, or, for predictions too cheap to look up
(SERVING_PREDICTION_CACHE_MIN_MS), the alias stamps' read at the latest every
SERVING_ALIAS_CHECK_MS; the round trip brings the new shared total back. So it costs no
round trip of its own. A worker counts its own requests at once; the other workers'
reach it with that delay, so several workers together may let through a few more than
the rate for as long as one round trip interval (100 ms by default). It fails open:
with the cache unreachable, requests pass and backoffice.core.cache_guard logs the outage.
"""

from __future__ import annotations

import re
import threading
import time
from functools import lru_cache

from django.conf import settings

from backoffice.core import cache_guard

_PERIODS = {"s": 1, "m": 60, "h": 3600}
RATE_FORMAT = re.compile(r"^(\d+)/([smh])$")


@lru_cache(maxsize=8)  # read on every prediction; the setting rarely changes
def parse_rate(rate: str) -> tuple[int, int] | None:
    """``"100/s"`` into (100, 1); ``"off"`` or ``"0/s"`` into None (no limit)."""
    if rate in {"", "off"}:
        return None
    match = RATE_FORMAT.match(rate)
    if match is None:
        raise ValueError(f"rate {rate!r} is not N/s, N/m, N/h or off")
    count, period = int(match.group(1)), _PERIODS[match.group(2)]
    return None if count == 0 else (count, period)


class WindowCounters:
    """Per window key: [the last shared total seen, this worker's requests not yet sent]."""

    MAX_KEYS = 10_000

    def __init__(self, *, exchange):
        self.exchange = exchange  # counts ride along with the next round trip
        self._lock = threading.Lock()
        self._state: dict[str, list[int]] = {}

    def allow(self, key: str, limit: int, ttl: int) -> bool:
        with self._lock:
            state = self._state.get(key)
            if state is None:
                if len(self._state) >= self.MAX_KEYS:
                    self._state.clear()  # old windows; the shared totals are in Redis
                state = self._state[key] = [0, 0]
            if state[0] + state[1] >= limit:
                return False
            state[1] += 1
        self.exchange.queue_count(key, ttl)
        return True

    def synced(self, totals: dict[str, tuple[int, int]]) -> None:
        """Shared totals came back: (total, how many of ours it includes) per key."""
        with self._lock:
            for key, (total, sent) in totals.items():
                state = self._state.setdefault(key, [0, 0])
                state[0] = total
                state[1] = max(0, state[1] - sent)

    def clear(self) -> None:
        with self._lock:
            self._state.clear()

    def wait(self, client: str) -> float | None:
        """None when ``client`` (``key<pk>``, ``user<pk>`` or ``ip<address>``) may
        predict now, counting the request; else the seconds until its window ends (not
        counted)."""
        rate = parse_rate(settings.SERVING_PREDICT_RATE)
        if rate is None or not cache_guard.guard.available:
            return None  # off, or failing open while the shared cache is down
        limit, period = rate
        now = time.time()
        key = f"throttle:predict:{client}:{int(now // period)}"
        if self.allow(key, limit, period + 1):
            return None
        return period - (now % period)
