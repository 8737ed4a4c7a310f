"""The per-process LRU of loaded predictors, bounded by count and by bytes.

A version is loaded on first use (or at warm-up), checked against its recorded hash and
size, and kept until the LRU needs room. A version that fails to load is remembered for
``FAILURE_RETRY`` seconds, so a broken artifact costs one read per few seconds rather
than one per request, and answers 503 while every other model keeps serving.

Memory is estimated by the artifact's size: the serialized model is a fair, cheap
stand-in for the trees it holds in memory.

A version an operator compiled (models_registry.compiling) is served by its compiled
tree predictor when SERVING_COMPILED is on. Its library is loaded only when its size and
SHA-256 match the record and it was built for this platform; otherwise the booster
serves, and the refusal is an ERROR log line and a count in
``serving_compiled_fallbacks_total``, once per load: never silent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from backoffice.core.ops.prometheus import observe_compiled_fallback, observe_model_load
from models_registry.artifacts.loaders import LoadError, Predictor
from models_registry.artifacts.native import BuiltElsewhere, CompileError
from models_registry.artifacts.storage import ArtifactError
from models_registry.compiling import compiled_predictor_load
from models_registry.services import predictor_load
from serving.errors import ModelUnavailable
from serving.served import ServedVersion

logger = logging.getLogger(__name__)

FAILURE_RETRY = 2.0


@dataclass
class LoadedModel:
    served: ServedVersion
    predictor: Predictor
    memory_bytes: int
    loaded_at: datetime
    load_ms: float
    hits: int = 0
    last_used: float = field(default_factory=time.monotonic)
    # Why the version's compiled predictor was refused (the booster serves instead).
    compiled_refused: str | None = None

    @property
    def compiled(self) -> bool:
        return getattr(self.predictor, "compiled", False)

    def as_dict(self) -> dict:
        return {
            "model": self.served.model,
            "version": self.served.version,
            "framework": self.served.framework,
            "sha256": self.served.sha256,
            "loaded_at": self.loaded_at.isoformat(),
            "load_ms": self.load_ms,
            "hits": self.hits,
            "memory_bytes": self.memory_bytes,
            "predictor": "compiled" if self.compiled else "booster",
            "compiled_refused": self.compiled_refused,
        }


class PredictorCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, LoadedModel] = OrderedDict()
        self._loading: dict[int, threading.Lock] = {}
        self._failures: dict[int, tuple[float, str]] = {}
        self.loads = 0
        self.evictions = 0

    @property
    def max_models(self) -> int:
        return settings.SERVING_PREDICTOR_CACHE_MODELS

    @property
    def max_bytes(self) -> int:
        return int(settings.SERVING_PREDICTOR_CACHE_MB * 1024 * 1024)

    def get(self, served: ServedVersion, *, count_hit: bool = True) -> LoadedModel:
        """The loaded predictor of ``served``; ModelUnavailable if it cannot be loaded."""
        with self._lock:
            entry = self._entries.get(served.id)
            if entry is not None and entry.served != served:
                # The version's record changed (compiled, or no longer): load it again.
                self._entries.pop(served.id)
                entry = None
            if entry is not None:
                self._entries.move_to_end(served.id)
                if count_hit:
                    entry.hits += 1
                entry.last_used = time.monotonic()
                return entry
            failure = self._failures.get(served.id)
            if failure is not None and time.monotonic() < failure[0]:
                raise ModelUnavailable(failure[1])
            load_lock = self._loading.setdefault(served.id, threading.Lock())
        # One thread loads a version; others asking for it meanwhile wait for that load.
        with load_lock:
            with self._lock:
                entry = self._entries.get(served.id)
            if entry is None or entry.served != served:
                entry = self._load(served)
            if count_hit:
                entry.hits += 1
        with self._lock:
            self._loading.pop(served.id, None)
        return entry

    def _load(self, served: ServedVersion) -> LoadedModel:
        started = time.perf_counter()
        predictor, refused = self._load_compiled(served)
        if predictor is None:
            predictor = self._load_booster(served)
        load_ms = round((time.perf_counter() - started) * 1000, 2)
        compiled = getattr(predictor, "compiled", False)
        memory = served.size + (served.compiled.size if compiled and served.compiled else 0)
        entry = LoadedModel(
            served=served,
            predictor=predictor,
            memory_bytes=memory,
            loaded_at=datetime.now(UTC),
            load_ms=load_ms,
            hits=0,
            compiled_refused=refused,
        )
        with self._lock:
            self._failures.pop(served.id, None)
            self._entries[served.id] = entry
            self.loads += 1
            evicted = self._shrink(keep=served.id)
        observe_model_load(served, ok=True)
        logger.info(
            "model loaded",
            extra={
                "model": served.model,
                "version": served.version,
                "framework": served.framework,
                "predictor": "compiled" if entry.compiled else "booster",
                "load_ms": load_ms,
                "memory_bytes": memory,
                "evicted": [e.served.label for e in evicted],
            },
        )
        return entry

    def _load_compiled(self, served: ServedVersion) -> tuple[Predictor | None, str | None]:
        """The compiled predictor, or (None, why it was refused); (None, None) when the
        version has none or SERVING_COMPILED is off."""
        if served.compiled is None or not settings.SERVING_COMPILED:
            return None, None
        try:
            predictor = compiled_predictor_load(
                framework=served.framework,
                record=served.compiled,
                n_features=len(served.feature_names),
                output_kind=served.output_kind,
                threads=settings.SERVING_PREDICT_THREADS,
            )
        except ArtifactError as exc:
            return None, self._compiled_refused(served, "artifact", str(exc))
        except BuiltElsewhere as exc:
            return None, self._compiled_refused(served, "platform", str(exc))
        except CompileError as exc:
            return None, self._compiled_refused(served, "load", str(exc))
        except Exception as exc:  # a bug in the loader must still fall back, loudly
            logger.exception(
                "compiled predictor failed unexpectedly", extra={"model": served.label}
            )
            return None, self._compiled_refused(served, "load", type(exc).__name__)
        return predictor, None

    @staticmethod
    def _compiled_refused(served: ServedVersion, reason: str, detail: str) -> str:
        message = f"compiled predictor of {served.label} refused: {detail}; serving its booster"
        logger.error(
            "compiled predictor refused; serving the booster",
            extra={
                "model": served.model,
                "version": served.version,
                "reason": reason,
                "detail": detail[:500],
                "compiled_sha256": served.compiled.sha256 if served.compiled else None,
            },
        )
        observe_compiled_fallback(served, reason=reason)
        return message

    def _load_booster(self, served: ServedVersion) -> Predictor:
        try:
            predictor = predictor_load(
                framework=served.framework,
                artifact_path=served.artifact_path,
                sha256=served.sha256,
                size=served.size,
                pickle_trusted=served.pickle_trusted,
                threads=settings.SERVING_PREDICT_THREADS,
            )
        except (ArtifactError, LoadError) as exc:
            message = f"model {served.label} cannot be served: {exc}"
            self._remember_failure(served, message)
            raise ModelUnavailable(message) from None
        except Exception as exc:  # a loader bug must not become a 500 either
            logger.exception("model load failed unexpectedly", extra={"model": served.label})
            message = (
                f"model {served.label} cannot be served: it fails to load ({type(exc).__name__})"
            )
            self._remember_failure(served, message)
            raise ModelUnavailable(message) from None
        return predictor

    def _remember_failure(self, served: ServedVersion, message: str) -> None:
        logger.warning("model unavailable", extra={"model": served.label, "reason": message})
        observe_model_load(served, ok=False)
        with self._lock:
            self._failures[served.id] = (time.monotonic() + FAILURE_RETRY, message)

    def _shrink(self, *, keep: int) -> list[LoadedModel]:
        """Evict least recently used entries until within both bounds (lock held).

        The entry just loaded stays even if it alone exceeds the byte bound: serving a
        large model beats refusing it.
        """
        evicted = []
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_models or self.total_bytes() > self.max_bytes
        ):
            oldest = next(iter(self._entries))
            if oldest == keep:
                self._entries.move_to_end(oldest)
                oldest = next(iter(self._entries))
            evicted.append(self._entries.pop(oldest))
            self.evictions += 1
        return evicted

    def total_bytes(self) -> int:
        return sum(entry.memory_bytes for entry in self._entries.values())

    def evict(self, *, model: str | None = None) -> list[LoadedModel]:
        """Drop the loaded predictors of ``model`` (or all) from this process."""
        with self._lock:
            ids = [i for i, e in self._entries.items() if model is None or e.served.model == model]
            dropped = [self._entries.pop(i) for i in ids]
            self._failures.clear()
        return dropped

    def snapshot(self) -> list[LoadedModel]:
        with self._lock:
            return list(reversed(self._entries.values()))  # most recently used first

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._failures.clear()
            self._loading.clear()
            self.loads = self.evictions = 0
