# Hand code for speed: Redis round trip 164 -> 104 us of ~800 (bench/README.md, "What changed")
"""One round trip to the shared cache a prediction (``Exchange``).

Round trips are the price of a prediction here (each one is a context switch on a busy
two-core machine), so a prediction's read, the alias stamps, the previous prediction's
write and the throttle's counter travel in one pipeline. Every call goes through
backoffice.core.cache_guard: while Redis is down the exchange is skipped and the prediction
is computed, only slower.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from backoffice.core.cache_guard import default_cache, guard, redis_client


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
        redis = redis_client()
        if redis is None:  # local memory (the embedded default): plain calls, no network
            cache = default_cache()
            for key, value, ttl in sets:
                cache.set(key, value, ttl)
            totals = {}
            for key, (delta, ttl) in counts.items():
                cache.add(key, 0, ttl)
                totals[key] = cache.incr(key, delta)
            return (cache.get_many(keys) if keys else {}), totals
        cache, client, serializer = redis
        commands: list[tuple] = []
        for key, value, ttl in sets:
            commands.append(
                ("SET", cache.make_and_validate_key(key), serializer.dumps(value), "EX", ttl)
            )
        for key, (delta, ttl) in counts.items():
            full = cache.make_and_validate_key(key)
            commands.append(("SET", full, 0, "EX", ttl, "NX"))
            commands.append(("INCRBY", full, delta))
        if keys:
            commands.append(("MGET", *(cache.make_and_validate_key(k) for k in keys)))
        replies = round_trip(client, commands)
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


def round_trip(client, commands: list[tuple]) -> list:
    """Every command's reply, in one write and one read on a pooled connection.

    What a redis-py pipeline does, without its per-command machinery (about 60 us of a
    single-row prediction's budget, bench/README "Serving race"). The pool checks a
    connection as it hands it out (one a Redis restart closed is opened again); one that
    fails here is dropped, so that replies left unread never reach the next caller, and
    the error reaches the guard.
    """
    pool = client.connection_pool
    connection = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands(commands))
        return [connection.read_response() for _ in commands]
    except BaseException:
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
