"""Serving an alias's challenger (models_registry.challengers): routing and shadows.

Routing (canary): a request that names an alias with a canary challenger and carries a
routing key (the ``X-Routing-Key`` header; at most 200 characters) is answered by the
challenger when ``sha256("<model>:<alias>:<key>")``'s first 8 bytes, as a fraction of
2^64, fall below the canary's share. The same key always lands on the same side (as long
as the share stays), and over many keys the challenger's part is the share. A request
without a key, or naming a version, is the champion's.

Shadows: when a request of such an alias is recorded (serving.live.recorder's sampling), the
version that did not answer (the challenger in shadow mode; in canary mode the other
side) scores the same rows later, in this worker's shadow thread: the request has been
answered by then, with the answer it would have had without a challenger. Its scores
are recorded with role "shadow" and ``shadow_of`` the answer's record (and the same
millisecond, so both sit in one chunk). A shadow that takes fewer features than the
champion (a shadow challenger may) scores the champion's rows projected on its columns.

The shadow queue holds at most SERVING_SHADOW_QUEUE_MAX requests; beyond that, and
when scoring fails, shadows are dropped and counted (``stats()``), never waited for.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings

from serving.live.recorder import Entry, new_record_id, record_time
from serving.served import ServedVersion

logger = logging.getLogger(__name__)

ROUTING_HEADER = "X-Routing-Key"
ROUTING_KEY_MAX = 200
OUTCOMES = ("scored", "dropped_full", "failed")


@dataclass(frozen=True)
class Route:
    """An alias's challenger as a worker serves it."""

    champion: ServedVersion
    challenger: ServedVersion
    mode: str  # shadow | canary
    share: float

    def unusable(self) -> str:
        """Why the challenger cannot serve beside the champion now ("" if it can): it is
        the champion, or the champion's features no longer fit it (models_registry.
        challengers checks them when it is set; a later alias move may change them)."""
        ours, theirs = self.champion.feature_names, self.challenger.feature_names
        if self.challenger.id == self.champion.id:
            return "the challenger is the alias's version"
        if self.mode == "canary" and ours != theirs:
            return "a canary takes other features than the alias's version"
        if not set(theirs) <= set(ours):
            return "the challenger needs features the alias's version is not sent"
        return ""


def bucket(*, model: str, alias: str, key: str) -> float:
    """Where ``key`` falls in [0, 1): the same for the same model, alias and key."""
    digest = hashlib.sha256(f"{model}:{alias}:{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def answers(route: Route, *, model: str, alias: str, key: str | None) -> str:
    """ "challenger" when the challenger answers this request, else "champion"."""
    if route.mode != "canary" or not key:
        return "champion"
    return "challenger" if bucket(model=model, alias=alias, key=key) < route.share else "champion"


class Shadow(NamedTuple):
    """A recorded answer, for the version that did not answer to score."""

    answer: Entry  # the answer's record entry (rows, or the body to parse them from)
    source: ServedVersion  # whose feature order the rows are in
    target: ServedVersion  # the version that scores them


def _columns(source: ServedVersion, target: ServedVersion) -> list[int] | None:
    """The source columns the target takes, in its order (None: the same)."""
    if source.feature_names == target.feature_names:
        return None
    index = {name: i for i, name in enumerate(source.feature_names)}
    return [index[name] for name in target.feature_names]


class ShadowScorer:
    """This worker's queue of shadows and the thread that scores them: the challenger's
    predictor from ``predictors``, its answer recorded by ``recorder``."""

    def __init__(self, *, predictors, recorder):
        self._predictors = predictors
        self._recorder = recorder
        self._lock = threading.Lock()
        self._queue: deque[Shadow] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        # False: nothing starts a thread; whoever holds the scorer calls drain() (tests).
        self.background = True
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.last_error = ""

    def submit(self, shadow: Shadow) -> None:
        """Queue ``shadow``; never blocks (a full queue drops it, counted)."""
        with self._lock:
            if len(self._queue) >= settings.SERVING_SHADOW_QUEUE_MAX:
                self.counts["dropped_full"] += 1
                return
            self._queue.append(shadow)
        if self.background:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(1.0)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the thread outlives anything one shadow does
                logger.exception("shadow scorer: a drain failed")

    def drain(self) -> int:
        """Score what is queued now and hand the scores to the recorder; how many."""
        done = 0
        while True:
            with self._lock:
                if not self._queue:
                    return done
                shadow = self._queue.popleft()
            if self._score(shadow):
                done += 1

    def _score(self, shadow: Shadow) -> bool:
        from serving.live.recorder import _parse_again

        answer = shadow.answer
        try:
            rows = answer.rows
            if rows is None and answer.body is not None:
                rows = _parse_again(answer.body, shadow.source)
            if rows is None:
                raise ValueError("the answer's rows could not be read again")
            columns = _columns(shadow.source, shadow.target)
            matrix = np.asarray(rows, dtype=np.float64)
            if columns is not None:
                matrix = np.ascontiguousarray(matrix[:, columns])
            started = time.perf_counter()
            loaded = self._predictors.get(shadow.target, count_hit=False)
            values = loaded.predictor.predict(matrix)
            latency = round((time.perf_counter() - started) * 1000, 3)
        except Exception as exc:
            self.counts["failed"] += 1
            self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            logger.warning(
                "shadow not scored",
                extra={
                    "model": shadow.target.model,
                    "version": shadow.target.version,
                    "error": self.last_error,
                },
            )
            return False
        values = [float(v) if np.isfinite(v) else None for v in values]
        self._recorder.submit(
            answer._replace(
                id=new_record_id(record_time(answer.id)),
                served=shadow.target,
                rows=matrix,
                body=None,
                outputs=values,
                cached=False,
                latency_ms=latency,
                role="shadow",
                shadow_of=answer.id,
            )
        )
        self.counts["scored"] += 1
        return True

    def stats(self) -> dict:
        return {
            "queued": len(self._queue),
            "thread": "running" if self._thread is not None and self._thread.is_alive() else "idle",
            **self.counts,
            "last_error": self.last_error or None,
        }

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.counts = dict.fromkeys(OUTCOMES, 0)
            self.last_error = ""


def routing_key(value: Any) -> str | None:
    """The routing key of a request's header value; None for none. A key longer than
    ROUTING_KEY_MAX is refused (serving.errors.InvalidInput), as are control characters."""
    from serving.errors import InvalidInput

    if value is None or value == "":
        return None
    if len(value) > ROUTING_KEY_MAX or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput(
            f"{ROUTING_HEADER} must be at most {ROUTING_KEY_MAX} printable characters",
            field=ROUTING_HEADER,
        )
    return value
