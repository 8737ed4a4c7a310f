"""What an alias move changes for clients: the feature-schema diff and the metric changes.

Pure functions, no Django import. A schema is the registry's ordered list of
``{"name", "type"}``; metrics are a version's JSON object. ``breaks_clients`` says which
changes make a request that the old version accepted fail, or mean something else, on
the new one. What the predict endpoint accepts (serving.inputs) decides that:

- ``instances`` rows must carry every feature of the schema and no other, so a
  removed feature (clients still send it) and an added one (clients do not send it)
  both refuse the request. The schema has no optional features.
- ``inputs`` rows (and V2 tensors, MLflow bodies) are positional: features that change
  places are accepted silently and feed values to the wrong features, which is worse.
- a feature whose type changes is still sent in its old kind (a float where a category
  code is expected now).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

HIGHER = "higher"
LOWER = "lower"
# Which way each known metric improves. A metric missing here is shown without a verdict.
METRIC_DIRECTION = {
    "accuracy": HIGHER,
    "auc": HIGHER,
    "average_precision": HIGHER,
    "f1": HIGHER,
    "precision": HIGHER,
    "r2": HIGHER,
    "recall": HIGHER,
    "roc_auc": HIGHER,
    "brier": LOWER,
    "log_loss": LOWER,
    "logloss": LOWER,
    "loss": LOWER,
    "mae": LOWER,
    "mse": LOWER,
    "rmse": LOWER,
}
BETTER = "better"
WORSE = "worse"
UNCHANGED = "unchanged"
# Deltas smaller than this are float noise, not a change.
METRIC_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Retyped:
    name: str
    old_type: str
    new_type: str


@dataclass(frozen=True)
class Moved:
    """A feature kept by both versions, out of its order and in another column."""

    name: str
    old_position: int  # its column in the old schema, from 0 (as in ``inputs`` rows)
    new_position: int


@dataclass(frozen=True)
class SchemaDiff:
    added: tuple[dict, ...] = ()  # {"name", "type"} of the new version, in its order
    removed: tuple[dict, ...] = ()  # {"name", "type"} of the old version, in its order
    retyped: tuple[Retyped, ...] = ()
    reordered: tuple[Moved, ...] = ()
    unchanged: int = 0  # features at the same relative place with the same type

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.reordered)

    def as_json(self) -> dict:
        return {
            "added": [dict(f) for f in self.added],
            "removed": [dict(f) for f in self.removed],
            "retyped": [asdict(r) for r in self.retyped],
            "reordered": [asdict(m) for m in self.reordered],
            "unchanged": self.unchanged,
        }


def schema_diff(old: list[dict] | None, new: list[dict]) -> SchemaDiff:
    """What changes between the ``old`` schema and the ``new`` one.

    ``old`` None (an alias created by the move) has no clients yet: nothing changes.
    Reordered features are those kept by both that leave their order among the kept
    ones and their column.
    """
    if old is None:
        return SchemaDiff(unchanged=len(new))
    old_types = {f["name"]: f["type"] for f in old}
    new_types = {f["name"]: f["type"] for f in new}
    added = tuple(dict(f) for f in new if f["name"] not in old_types)
    removed = tuple(dict(f) for f in old if f["name"] not in new_types)
    retyped = tuple(
        Retyped(f["name"], old_types[f["name"]], f["type"])
        for f in new
        if f["name"] in old_types and old_types[f["name"]] != f["type"]
    )
    kept_old = [f["name"] for f in old if f["name"] in new_types]
    kept_new = [f["name"] for f in new if f["name"] in old_types]
    old_position = {f["name"]: i for i, f in enumerate(old)}
    new_position = {f["name"]: i for i, f in enumerate(new)}
    # Kept features out of their order among the kept ones; one that keeps its column
    # (the others moved around it) is still read right by positional clients.
    reordered = tuple(
        Moved(name, old_position[name], new_position[name])
        for rank, name in enumerate(kept_new)
        if kept_old[rank] != name and old_position[name] != new_position[name]
    )
    moved_or_retyped = {m.name for m in reordered} | {r.name for r in retyped}
    unchanged = sum(1 for name in kept_new if name not in moved_or_retyped)
    return SchemaDiff(added, removed, retyped, reordered, unchanged)


def breaks_clients(diff: SchemaDiff) -> list[str]:
    """Why a request the old version accepted fails, or is misread, on the new one;
    empty when every such request still works the same."""
    reasons = [
        f"feature {f['name']!r} is removed: requests that send it are refused (unknown feature)"
        for f in diff.removed
    ]
    reasons += [
        f"feature {f['name']!r} ({f['type']}) is new and required: requests without it are refused"
        for f in diff.added
    ]
    reasons += [
        f"feature {r.name!r} changes type from {r.old_type} to {r.new_type}: clients "
        f"still send {r.old_type} values"
        for r in diff.retyped
    ]
    if diff.reordered:
        names = ", ".join(repr(m.name) for m in diff.reordered)
        reasons.append(
            f"features {names} change places: rows sent in schema order (inputs, V2 "
            "tensors) are accepted and feed values to the wrong features"
        )
    return reasons


@dataclass(frozen=True)
class MetricChange:
    name: str
    old: object = None  # None: the version does not have this metric
    new: object = None
    delta: float | None = None  # new - old, when both are finite numbers
    direction: str | None = None  # HIGHER, LOWER or None (unknown metric)
    verdict: str | None = None  # BETTER, WORSE, UNCHANGED or None (no judgement)

    @property
    def dropped(self) -> bool:
        return self.verdict == WORSE


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits (JSON allows it)
        return None
    return number if math.isfinite(number) else None


def metric_direction(name: str) -> str | None:
    return METRIC_DIRECTION.get(str(name).strip().lower())


def metric_changes(old: dict | None, new: dict | None) -> list[MetricChange]:
    """Every metric of either version, by name: old, new, delta and a verdict.

    The verdict is only given for metrics of METRIC_DIRECTION with a number on both
    sides; a worse one is ``dropped``.
    """
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = []
    for name in sorted(set(old) | set(new), key=str):
        before, after = old.get(name), new.get(name)
        a, b = _number(before), _number(after)
        delta = b - a if a is not None and b is not None else None
        if delta is not None and not math.isfinite(delta):
            delta = None  # 1e308 - -1e308
        direction = metric_direction(name)
        verdict = None
        if delta is not None and direction is not None:
            if abs(delta) <= METRIC_TOLERANCE:
                verdict = UNCHANGED
            elif (delta > 0) == (direction == HIGHER):
                verdict = BETTER
            else:
                verdict = WORSE
        changes.append(MetricChange(str(name), before, after, delta, direction, verdict))
    return changes
