"""serving.inputs on its own: both body forms into one matrix, and the cell at
fault named."""

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
    assert [(e["field"], e["row"]) for e in caught.value.errors] == [("inputs[1][2]", 1)]


def test_the_row_limit_is_checked_before_any_row_is_read():
    with pytest.raises(InvalidInput, match="3 rows; at most 2"):
        parse_rows({"inputs": [None, None, None]}, NAMES, max_rows=2)
