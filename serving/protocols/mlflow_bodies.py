"""MLflow's scoring bodies into rows: what `mlflow models serve`'s /invocations takes.

JSON (``application/json``), one of:

  {"dataframe_split": {"columns": [...], "data": [[...], ...], "index": [...]}}
  {"dataframe_records": [{column: value}, ...]}
  {"instances": [{column: value}, ...] | [[...], ...]}         TF serving's row format
  {"inputs": {column: [values]} | [[...], ...] | [{...}, ...]}  TF serving's columns

each optionally with ``"params": {}`` (these models take none), or CSV (``text/csv``)
with a header row of column names. Columns are matched to the version's features by
name; a missing or unknown one is refused by name, as the project's own bodies are.
Values go through serving.inputs.parse_rows (finite JSON numbers only), so both paths
validate alike; a fault raises InvalidInput naming the body's own field. A body that
holds more values than the rows a request may carry is refused before it is parsed
(serving.predict.bounds).

No Django import here.
"""

from __future__ import annotations

import csv
import io
import operator
import re
from collections.abc import Sequence

import numpy as np
import orjson

from serving.errors import InvalidInput
from serving.inputs import parse_rows
from serving.predict import bounds

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def rows_from_json(
    raw: bytes, feature_names: Sequence[str], *, max_rows: int, max_values: int
) -> np.ndarray:
    """The rows of a JSON body in any of MLflow's forms, in schema order; refused
    before it is parsed when it holds more values than a request may (serving.predict.bounds)."""
    bounds.check_json(raw, max_rows=max_rows, features=len(feature_names), max_values=max_values)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidInput(f"the body must be a JSON object with one of {', '.join(FORMATS)}")
    params = body.get("params")
    if params is not None and (not isinstance(params, dict) or params):
        raise InvalidInput("params: this model takes no parameters", field="params")
    unknown = sorted(set(body) - {*FORMATS, "params"})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}: give one of {', '.join(FORMATS)}", field=unknown[0]
        )
    given = [name for name in FORMATS if name in body]
    if len(given) != 1:
        raise InvalidInput(
            f"give exactly one of {', '.join(FORMATS)} (got {len(given)})",
            field=given[1] if given else None,
        )
    form = given[0]
    names = list(feature_names)
    value = body[form]
    if form == "dataframe_split":
        return _split(value, names, max_rows)
    if form == "dataframe_records":
        return _records(value, names, max_rows, form)
    if form == "inputs" and isinstance(value, dict):
        return _columns(value, names, max_rows)
    if not isinstance(value, list):
        raise InvalidInput(f"{form} must be a list of rows", field=form)
    if value and all(isinstance(row, dict) for row in value):
        return _records(value, names, max_rows, form)
    if len(names) == 1 and value and not any(isinstance(v, list | dict) for v in value):
        value = [[v] for v in value]  # one column given as a flat list
    return _renamed(lambda: parse_rows({"inputs": value}, names, max_rows=max_rows), form)


def _split(value, names: list[str], max_rows: int) -> np.ndarray:
    form = "dataframe_split"
    if not isinstance(value, dict):
        raise InvalidInput(f"{form} must be an object of columns and data", field=form)
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise InvalidInput(f"{form} has unknown field {unknown[0]!r}", field=f"{form}.{unknown[0]}")
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput(f"{form}.columns must be a list of names", field=f"{form}.columns")
    if not isinstance(data, list):
        raise InvalidInput(f"{form}.data must be a list of rows", field=f"{form}.data")
    order = _order(columns, names, f"{form}.columns")
    width = len(columns)
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise InvalidInput(
                f"{form}.data[{index}] must be a list of {width} values (one per column)",
                field=f"{form}.data[{index}]",
                row=index,
            )
    table = [[row[i] for i in order] for row in data]
    return _renamed(lambda: parse_rows({"inputs": table}, names, max_rows=max_rows), f"{form}.data")


def _records(value, names: list[str], max_rows: int, form: str) -> np.ndarray:
    if not isinstance(value, list):
        raise InvalidInput(f"{form} must be a list of objects", field=form)
    return _renamed(lambda: parse_rows({"instances": value}, names, max_rows=max_rows), form)


def _columns(value: dict, names: list[str], max_rows: int) -> np.ndarray:
    """``{"inputs": {column: [values]}}``: columns of equal length."""
    order = _order(list(value), names, "inputs")
    del order  # only the check: every feature given, nothing unknown
    lengths = {name: len(v) if isinstance(v, list) else -1 for name, v in value.items()}
    for name, length in lengths.items():
        if length < 0:
            raise InvalidInput(f"inputs.{name} must be a list of values", field=f"inputs.{name}")
    if len(set(lengths.values())) > 1:
        raise InvalidInput("the columns of inputs differ in length", field="inputs")
    table = [list(row) for row in zip(*(value[name] for name in names), strict=True)]
    return _renamed(lambda: parse_rows({"inputs": table}, names, max_rows=max_rows), "inputs")


def _order(columns: list[str], names: list[str], field: str) -> list[int]:
    """Positions of the features in ``columns``; refuses duplicates, gaps and strangers.

    Linear in the number of columns (sets and dicts only): a header of 40,000 columns
    with the last one repeated took 19.4 s when each column was counted in the list.
    """
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise InvalidInput(f"column {column[:60]!r} is given twice", field=field)
        seen.add(column)
    known = set(names)
    for column in columns:
        if column not in known:
            raise InvalidInput(
                f"unknown column {column[:60]!r}; the model takes {', '.join(names)}",
                field=f"{field}.{column[:60]}",
            )
    position = {column: i for i, column in enumerate(columns)}
    missing = [name for name in names if name not in position]
    if missing:
        raise InvalidInput(f"column {missing[0]!r} is missing", field=f"{field}.{missing[0]}")
    return [position[name] for name in names]


def _renamed(parse, form: str) -> np.ndarray:
    """parse_rows' errors, with its field names put in this body's terms."""
    try:
        return parse()
    except InvalidInput as exc:
        message = str(exc)
        field = exc.field
        for own in ("instances", "inputs"):
            message = message.replace(own, form, 1) if message.startswith(own) else message
            if field and field.startswith(own):
                field = form + field[len(own) :]
        raise InvalidInput(message, field=field, row=exc.row) from None


def rows_from_csv(
    raw: bytes, feature_names: Sequence[str], *, max_rows: int, max_values: int
) -> np.ndarray:
    """A CSV body with a header row (pandas' ``to_csv(index=False)``); refused before it
    is decoded when it holds more cells than a request may (serving.predict.bounds)."""
    bounds.check_csv(raw, max_rows=max_rows, features=len(feature_names), max_values=max_values)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV body is not UTF-8 text") from None
    if "\x00" in text:
        raise InvalidInput("the CSV body holds a NUL character")
    reader = csv.reader(io.StringIO(text))
    try:
        lines = [line for line in reader if line]
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}") from None
    if not lines:
        raise InvalidInput("the CSV body is empty: send a header row and rows")
    header = [name.strip() for name in lines[0]]
    names = list(feature_names)
    order = _order(header, names, "header")
    if len(lines) - 1 > max_rows:
        raise InvalidInput(f"the CSV has {len(lines) - 1} rows; at most {max_rows} per request")
    if len(lines) == 1:
        raise InvalidInput("the CSV has a header but no row")
    array = _plain_csv_rows(text, lines, order)
    if array is None:
        array = _csv_rows_one_by_one(lines, header, order)
    if not np.isfinite(array).all():
        raise InvalidInput("the CSV holds a number too large for a float")
    return array


# What the rows of a CSV of plain numbers consist of: no letters (nan, inf), no quotes,
# no underscores (which float() would take).
_PLAIN_ROWS = re.compile(r"[0-9eE+\-. \t\r\n,]*")


def _plain_csv_rows(text: str, lines: list[list[str]], order: list[int]) -> np.ndarray | None:
    """The rows at C speed when every line has the header's width and the rows hold
    only plain numbers; None otherwise (_csv_rows_one_by_one names the fault). A
    million cells took 1.2 s one by one (a regex and a float() each), 0.3 s here."""
    width = len(lines[0])
    if any(len(line) != width for line in lines):
        return None
    _, _, rows_text = text.partition("\n")
    if not _PLAIN_ROWS.fullmatch(rows_text):
        return None
    pick = operator.itemgetter(*order) if len(order) > 1 else (lambda line: (line[order[0]],))
    try:
        return np.array([pick(line) for line in lines[1:]], dtype=np.float64)
    except ValueError:  # an empty cell, "1e", "1.2.3": named one by one
        return None


def _csv_rows_one_by_one(lines: list[list[str]], header: list[str], order: list[int]):
    """The rows cell by cell, or InvalidInput naming the first line or cell at fault."""
    table = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise InvalidInput(
                f"CSV line {number} has {len(line)} values; the header names {len(header)}",
                field=f"line {number}",
                row=number - 2,
            )
        row = []
        for i in order:
            cell = line[i]
            if not _NUMBER.match(cell):
                raise InvalidInput(
                    f"CSV line {number}, column {header[i]!r}: {cell[:40]!r} is not a number",
                    field=f"line {number}.{header[i]}",
                    row=number - 2,
                )
            row.append(float(cell))
        table.append(row)
    return np.array(table, dtype=np.float64)
