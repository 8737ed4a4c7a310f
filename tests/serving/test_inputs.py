"""serving.inputs on its own: both body forms into one matrix, and the cell at fault named."""

import math

import numpy as np
import pytest

from serving.errors import InvalidInput
from serving.inputs import parse_rows

pytestmark = pytest.mark.smoke

NAMES = ["a", "b", "c"]


def test_both_forms_give_the_same_float64_matrix_in_schema_order():
    by_name = parse_rows({"instances": [{"c": 3, "a": 1, "b": 2.5}]}, NAMES, max_rows=10)
    in_order = parse_rows({"inputs": [[1, 2.5, 3]]}, NAMES, max_rows=10)
    assert by_name.dtype == np.float64
    np.testing.assert_array_equal(by_name, in_order)
    np.testing.assert_array_equal(by_name, [[1.0, 2.5, 3.0]])


def test_a_single_feature_model_takes_instances_too():
    rows = parse_rows({"instances": [{"a": 1}, {"a": 2}]}, ["a"], max_rows=10)
    np.testing.assert_array_equal(rows, [[1.0], [2.0]])


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400])
def test_a_value_that_is_not_a_finite_float_is_named(value):
    with pytest.raises(InvalidInput, match="inputs\\[1\\]\\[2\\] \\(feature 'c'\\)") as caught:
        parse_rows({"inputs": [[1, 2, 3], [1, 2, value]]}, NAMES, max_rows=10)
    assert (caught.value.field, caught.value.row) == ("inputs[1][2]", 1)


def test_the_row_limit_is_checked_before_any_row_is_read():
    with pytest.raises(InvalidInput, match="3 rows; at most 2"):
        parse_rows({"inputs": [None, None, None]}, NAMES, max_rows=2)


# Bodies as a client sends them: the raw bytes let an all-numbers "inputs" body skip the
# per-value checks; the answer, or the error and the cell it names, must not change.
RAW_BODIES = [
    b'{"inputs":[[1,2.5,3],[-0.0,1e-300,1.7976931348623157e308]]}',
    b'{"inputs": [ [1, 2, 3] ,\n [4, 5, 6] ]}',
    b'{"\\u0069nputs":[[1,2,3]]}',  # the key spelled with an escape
    b'{"inputs":[[9007199254740993,2,3]]}',  # an integer float64 rounds
    b'{"inputs":[[1,2,true]]}',
    b'{"inputs":[[1,false,3]]}',
    b'{"inputs":[[1,null,3]]}',
    b'{"inputs":[[1,"2",3]]}',
    b'{"inputs":[[1,2],[1,2,3]]}',  # ragged
    b'{"inputs":[[1,2,3,4]]}',  # a value too many
    b'{"inputs":[[[1],[2],[3]]]}',  # nested a level too deep, yet rectangular
    b'{"inputs":[1,2,3]}',  # no rows
    b'{"inputs":[[1,2,3],[4,5,{}]]}',
    b'{"inputs":[[1,2,3],[4,5,[]]]}',
    b'{"inputs":[[1,2,100000000000000000000000000000]]}',
]


@pytest.mark.parametrize("raw", RAW_BODIES, ids=lambda raw: raw.decode()[:40])
def test_the_raw_fast_path_answers_as_the_checked_path(raw):
    import orjson

    body = orjson.loads(raw)

    def outcome(**extra):
        try:
            rows = parse_rows(body, NAMES, max_rows=10, **extra)
        except InvalidInput as exc:
            return ("error", str(exc), exc.field, exc.row)
        assert rows.dtype == np.float64 and rows.flags.c_contiguous
        return ("rows", rows.tolist())

    assert outcome(raw=raw) == outcome()


def test_the_raw_fast_path_takes_only_bodies_of_numbers():
    from serving.inputs import _numbers_only

    assert _numbers_only(b'{"inputs":[[1,2.5e3,-3]]}')
    assert not _numbers_only(b'{"inputs":[[1,2,"3"]]}')
    assert not _numbers_only(b'{"inputs":[[1,2,3]],"x":1}')
    assert not _numbers_only(b'{"inputs":[[1,2,{}]]}')
    for word in (b"true", b"false", b"null"):
        assert not _numbers_only(b'{"inputs":[[1,2,' + word + b"]]}")
