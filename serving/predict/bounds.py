"""How many values a predict body may hold, checked on its bytes before it is parsed.

orjson and the csv module parse in C, but every value they read becomes a Python
object, and the checks after them (rows, types, shapes) walk those objects: a 29 MB V2
body nested 7 deep held a worker for 10.7 s before the 10,000-row limit refused it,
and a 32 MB CSV takes seconds to split into cells. A request carries at most
SERVING_MAX_ROWS rows of its model's features, so a body that holds many more values
than that is refused first, by counting separators: about 50 ms for 32 MB here, the
same for every body of that size whatever its shape.

The count is an upper bound of the values a body holds. In JSON every value but the
first of an array or object follows a comma, and every array and object opens with a
bracket or a brace: at most commas + brackets + braces + 1 values (and as many
containers). A CSV holds at most commas + line breaks + 1 cells. Separators inside
strings only raise the count; a body within the rows of its model never holds
strings of thousands of them (names, ids). However wide the model, a body holds at
most SERVING_MAX_VALUES values: the fixed budget of every protocol's request. At the
default of 500,000, its slowest form (a CSV, or ``instances`` objects) parses in about
0.25 s here (a million took 0.45 to 0.8 s on the loaded two-core machine), so that no
body within the size limit holds a worker for a second
(tests/serving/predict/test_bounded_bodies.py).

Nesting is bounded while parsing: orjson refuses JSON nested more than 1,024 deep
(its recursion limit) as malformed, and every container counts above.

No Django import here.
"""

from __future__ import annotations

from backoffice.core.errors import PayloadTooLarge

# Values and containers a row may bring in any accepted form: its numbers, a separator
# each, and up to a list per number where a V2 tensor nests them as its shape says.
PER_FEATURE = 2
PER_ROW = 4
# What a body holds besides its rows: names (dataframe_split's columns, a V2 tensor per
# feature with its name, datatype and shape), ids and parameters.
PER_NAME = 16
FIXED = 10_000


def most_values(*, max_rows: int, features: int, max_values: int) -> int:
    """The most values and containers a body of ``max_rows`` rows of ``features``
    features holds in any form a protocol accepts, and never more than ``max_values``
    (SERVING_MAX_VALUES: what bounds the time of a request of a wide model)."""
    features = max(features, 1)
    rows = max_rows * (PER_FEATURE * features + PER_ROW) + PER_NAME * features + FIXED
    return min(rows, max_values)


def json_values(raw: bytes) -> int:
    """At most how many values and containers the JSON ``raw`` holds."""
    return raw.count(b",") + raw.count(b"[") + raw.count(b"{") + 1


def csv_cells(raw: bytes) -> int:
    """At most how many cells the CSV ``raw`` holds."""
    return raw.count(b",") + raw.count(b"\n") + 1


def check_values(count: int, *, max_rows: int, features: int, max_values: int, what: str) -> None:
    """PayloadTooLarge (413) when ``count`` values are more than a request to a model of
    ``features`` features may hold: nothing of the body is parsed."""
    limit = most_values(max_rows=max_rows, features=features, max_values=max_values)
    if count > limit:
        raise PayloadTooLarge(
            f"the body holds up to {count:,} {what} (counted by their separators); a "
            f"request to this model holds at most {limit:,} ({max_rows:,} rows of its "
            f"{features} feature(s), and no more than {max_values:,} values in all): send "
            "fewer rows, of the model's features only"
        )


def check_json(raw: bytes, *, max_rows: int, features: int, max_values: int) -> None:
    """check_values for a JSON body, before it is parsed."""
    check_values(
        json_values(raw),
        max_rows=max_rows,
        features=features,
        max_values=max_values,
        what="JSON values",
    )


def check_csv(raw: bytes, *, max_rows: int, features: int, max_values: int) -> None:
    """check_values for a CSV body, before it is decoded and split."""
    check_values(
        csv_cells(raw),
        max_rows=max_rows,
        features=features,
        max_values=max_values,
        what="CSV cells",
    )
