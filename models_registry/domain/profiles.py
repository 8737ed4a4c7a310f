"""A version's feature profile (the training distribution) and the drift against it.

No Django import: plain numpy, with plain unit tests (tests/models_registry/test_profiles.py).

A profile keeps, per feature, the deciles of the reference rows as nine cut points and
the share of the reference rows in each of the ten bins they make (not exactly 10 %
each where values repeat: a feature with few distinct values keeps fewer bins, each
with its true share). A live value falls in bin ``i`` when ``cut[i-1] < value <=
cut[i]`` (the first bin takes everything up to the first cut, the last everything
above the last). Missing values (NaN) have a bin of their own.

The population stability index of a feature compares the live shares ``a`` with the
reference shares ``e`` over the same bins:

    PSI = sum over bins of (a - e) * ln(a / e)

with an empty bin's share taken as EMPTY_SHARE (the log of 0 has no value). Read by the
usual rule: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

QUANTILES = tuple(q / 10 for q in range(1, 10))
EMPTY_SHARE = 1e-4
MIN_ROWS = 20  # fewer reference rows make no profile


class ProfileError(ValueError):
    """The reference rows cannot make a profile; the message says why."""


def feature_profile(
    rows: np.ndarray, feature_names: Sequence[str], *, source: str
) -> dict[str, object]:
    """The profile of ``rows`` (a matrix in schema order): JSON-ready.

    ``source`` says where the rows came from ("training", "reference file", ...).
    """
    matrix = np.asarray(rows, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(feature_names):
        raise ProfileError(
            f"the reference has {matrix.shape[-1] if matrix.ndim else 0} columns; the model "
            f"takes {len(feature_names)} features"
        )
    if len(matrix) < MIN_ROWS:
        raise ProfileError(f"the reference has {len(matrix)} rows; at least {MIN_ROWS} needed")
    features = {}
    for index, name in enumerate(feature_names):
        column = matrix[:, index]
        present = column[~np.isnan(column)]
        if present.size == 0:
            cuts: list[float] = []
            shares = []
        else:
            cuts = sorted({float(c) for c in np.quantile(present, QUANTILES)})
            counts = np.bincount(
                np.searchsorted(cuts, present, side="left"), minlength=len(cuts) + 1
            )
            shares = [round(float(c) / len(column), 6) for c in counts]
        missing = float(np.isnan(column).sum()) / len(column)
        features[name] = {"cuts": cuts, "shares": shares, "missing": round(missing, 6)}
    return {"source": source, "rows": len(matrix), "features": features}


def bin_counts(values: np.ndarray, cuts: Sequence[float]) -> tuple[np.ndarray, int]:
    """(counts per bin, missing count) of live ``values`` over a profile's cuts."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    present = values[~missing]
    counts = np.bincount(np.searchsorted(cuts, present, side="left"), minlength=len(cuts) + 1)
    return counts, int(missing.sum())


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """The population stability index of two lists of shares over the same bins."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(float(e), EMPTY_SHARE), max(float(a), EMPTY_SHARE)
        total += (a - e) * math.log(a / e)
    return total


def feature_psi(profile_feature: dict, values: np.ndarray) -> float | None:
    """The PSI of live ``values`` against one feature of a profile; None without values."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None
    cuts = profile_feature["cuts"]
    counts, missing = bin_counts(values, cuts)
    actual = [c / values.size for c in counts]
    expected = list(profile_feature["shares"]) or [0.0] * len(actual)
    if profile_feature.get("missing", 0) > 0 or missing:
        expected.append(profile_feature.get("missing", 0.0))
        actual.append(missing / values.size)
    return psi(expected, actual)


def read_reference_csv(path: Path, feature_names: Sequence[str], *, max_rows: int = 1_000_000):
    """A reference sample from a CSV file with a header row: the columns named as the
    model's features (any order; other columns are left out), numbers or empty cells
    (missing). Returns the matrix in schema order; ProfileError names the problem."""
    try:
        handle = Path(path).open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise ProfileError(f"{path} is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ProfileError(f"{path}: not a CSV text file ({exc})") from None
        missing = [name for name in feature_names if name not in header]
        if missing:
            raise ProfileError(f"{path} has no column {', '.join(missing)}")
        positions = [header.index(name) for name in feature_names]
        rows = []
        try:
            for line, cells in enumerate(reader, start=2):
                if len(rows) >= max_rows:
                    break
                if not cells:
                    continue
                try:
                    rows.append([_cell(cells[i]) for i in positions])
                except (IndexError, ValueError):
                    raise ProfileError(f"{path} line {line}: not a row of numbers") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ProfileError(f"{path}: not a CSV text file ({exc})") from None
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(feature_names))


def _cell(text: str) -> float:
    text = text.strip()
    if not text:
        return math.nan
    value = float(text)
    if math.isinf(value):
        raise ValueError(text)
    return value
