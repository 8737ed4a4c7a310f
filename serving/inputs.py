"""The predict body into a float64 matrix in schema order, or InvalidInput naming the cell.

Two forms are accepted, never both: ``{"instances": [{feature: value, ...}, ...]}`` and
``{"inputs": [[value, ...], ...]}`` with values in schema order. Values must be JSON
numbers (not strings, booleans or null) and finite. The common, valid case takes a fast
path of whole-list operations; only a bad body pays for the search that names the row
and feature at fault.

No Django import here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from itertools import chain

import numpy as np

from serving.errors import InvalidInput

_NUMBER_TYPES = frozenset({int, float})


def parse_rows(body: object, feature_names: Sequence[str], *, max_rows: int) -> np.ndarray:
    """A (rows, features) float64 array from a parsed JSON body."""
    if not isinstance(body, dict):
        raise InvalidInput(
            'the body must be a JSON object: {"instances": [...]} or {"inputs": [...]}'
        )
    unknown = sorted(set(body) - {"instances", "inputs"})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}: the body holds 'instances' or 'inputs'",
            field=unknown[0],
        )
    if "instances" in body and "inputs" in body:
        raise InvalidInput("give 'instances' or 'inputs', not both", field="inputs")
    if "instances" not in body and "inputs" not in body:
        raise InvalidInput(
            'the body needs "instances" (a list of objects) or "inputs" (a list of lists)',
            field="instances",
        )
    form = "instances" if "instances" in body else "inputs"
    rows = body[form]
    if not isinstance(rows, list):
        raise InvalidInput(f"{form} must be a list of rows", field=form)
    if not rows:
        raise InvalidInput(f"{form} is empty: send at least one row", field=form)
    if len(rows) > max_rows:
        raise InvalidInput(
            f"{form} has {len(rows)} rows; at most {max_rows} per request", field=form
        )
    names = list(feature_names)
    if form == "instances":
        table = _instances_table(rows, names)
    else:
        table = _inputs_table(rows, names)
    return _to_array(table, form, names)


def _instances_table(rows: list, names: list[str]) -> list:
    """Rows of objects into value tuples in schema order."""
    n = len(names)
    try:
        if n == 1:
            only = names[0]
            table = [(row[only],) for row in rows]
        else:
            getter = operator.itemgetter(*names)
            table = [getter(row) for row in rows]
        sizes_ok = all(len(row) == n for row in rows)
    except (KeyError, TypeError, IndexError):
        sizes_ok = False
    if not sizes_ok:
        _explain_instances(rows, names)
    return table


# A bad body names every problem at once, up to this many (a client fixes them all in
# one round trip; a body of 10,000 broken rows does not get 50,000 errors back).
MAX_REPORTED = 100


def _refuse(problems: list[dict]) -> None:
    """InvalidInput naming every problem found (the first ones, up to MAX_REPORTED)."""
    rows = sorted({p["row"] for p in problems if "row" in p})
    first = problems[0]["message"]
    more = (
        f" (and {len(problems) - 1} more problem(s) in {len(rows)} row(s))"
        if len(problems) > 1
        else ""
    )
    raise InvalidInput(f"{first}{more}", errors=problems[:MAX_REPORTED])


def _explain_instances(rows: list, names: list[str]) -> None:
    """Name every bad row of an instances body: missing and unknown features (slow path)."""
    allowed = set(names)
    problems: list[dict] = []
    for index, row in enumerate(rows):
        where = f"instances[{index}]"
        if not isinstance(row, dict):
            problems.append(
                {
                    "field": where,
                    "row": index,
                    "message": f"{where} must be an object of feature values",
                }
            )
        else:
            for name in names:
                if name not in row:
                    problems.append(
                        {
                            "field": f"{where}.{name}",
                            "row": index,
                            "message": f"{where} lacks feature {name!r}",
                        }
                    )
            for key in row:
                if key not in allowed:
                    problems.append(
                        {
                            "field": f"{where}.{key}",
                            "row": index,
                            "message": f"{where} has unknown feature {key!r}; the model takes "
                            f"{', '.join(names)}",
                        }
                    )
        if len(problems) >= MAX_REPORTED:
            break
    if problems:
        _refuse(problems)
    raise InvalidInput("instances do not match the model's features", field="instances")


def _inputs_table(rows: list, names: list[str]) -> list:
    n = len(names)
    if all(type(row) is list and len(row) == n for row in rows):
        return rows
    problems: list[dict] = []
    for index, row in enumerate(rows):
        where = f"inputs[{index}]"
        if not isinstance(row, list):
            message = f"{where} must be a list of {n} numbers in schema order"
        elif len(row) != n:
            message = f"{where} has {len(row)} values; the model takes {n} ({', '.join(names)})"
        else:
            continue
        problems.append({"field": where, "row": index, "message": message})
        if len(problems) >= MAX_REPORTED:
            break
    _refuse(problems)
    raise AssertionError("unreachable")


def _to_array(table: list, form: str, names: list[str]) -> np.ndarray:
    kinds = set(map(type, chain.from_iterable(table)))
    if kinds <= _NUMBER_TYPES:
        try:
            array = np.array(table, dtype=np.float64)
        except OverflowError:  # an integer beyond float range
            array = None
        if array is not None and np.isfinite(array).all():
            return array
    _explain_values(table, form, names)
    raise AssertionError("unreachable")


def _explain_values(table: list, form: str, names: list[str]) -> None:
    """Name every value that is not a finite JSON number (slow path)."""
    problems: list[dict] = []
    for index, row in enumerate(table):
        for position, value in enumerate(row):
            name = names[position]
            field = (
                f"{form}[{index}].{name}" if form == "instances" else f"{form}[{index}][{position}]"
            )
            if type(value) not in _NUMBER_TYPES:
                message = f"{field} (feature {name!r}) is not a number (got {json_type(value)})"
            else:
                try:
                    finite = math.isfinite(float(value))
                except OverflowError:
                    finite = False
                if finite:
                    continue
                message = f"{field} (feature {name!r}) is not a finite number"
            problems.append({"field": field, "row": index, "message": message})
        if len(problems) >= MAX_REPORTED:
            break
    if problems:
        _refuse(problems)
    raise InvalidInput(f"{form} holds a value that is not a number", field=form)


def json_type(value: object) -> str:
    """What a JSON value is, in an error's words ("a string", "null", "an object")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
