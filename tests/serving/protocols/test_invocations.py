"""MLflow's scoring bodies on /api/v1/models/{name}/invocations: each form from MLflow's
own documentation gives the predict endpoint's numbers, in MLflow's answer shape."""

import functools

import numpy as np
import pytest
from rest_framework.test import APIClient

from models_registry.services import model_register
from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db

# The documentation's columns and rows ("Deploy MLflow Model as a Local Inference
# Server": its curl examples use columns a, b, c and rows [1, 2, 3], [4, 5, 6]).
ROWS = [[1, 2, 3], [4, 5, 6]]


@functools.cache
def abc_model(seed: int = 5) -> bytes:
    import xgboost

    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 7, (300, 3))
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + rng.normal(0, 1, 300) > 1.5).astype(int)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgboost.DMatrix(x, label=y, feature_names=["a", "b", "c"]),
        num_boost_round=15,
    )
    return bytes(booster.save_raw("json"))


@pytest.fixture
def abc(db):
    return model_register(data=abc_model(), filename="m.json", name="abc", alias="production")


def invoke(client: APIClient, body, content_type="application/json", query=""):
    if content_type == "application/json" and not isinstance(body, bytes | str):
        import json

        body = json.dumps(body)
    return client.generic(
        "POST", f"/api/v1/models/abc/invocations{query}", body, content_type=content_type
    )


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["a", "b", "c"], "data": ROWS}},
        # pandas' to_dict(orient="split") also carries the index; columns in any order.
        {
            "dataframe_split": {
                "index": [0, 1],
                "columns": ["c", "a", "b"],
                "data": [[3, 1, 2], [6, 4, 5]],
            }
        },
        {"dataframe_records": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]},
        {"instances": [{"a": 1, "b": 2, "c": 3}, {"a": 4, "b": 5, "c": 6}]},
        {"instances": ROWS},
        {"inputs": {"a": [1, 4], "b": [2, 5], "c": [3, 6]}},
        {"inputs": ROWS},
        {"dataframe_split": {"columns": ["a", "b", "c"], "data": ROWS}, "params": {}},
    ],
)
def test_each_json_form_gives_the_predict_endpoints_numbers(bot, abc, body):
    own = predict(bot, "abc", {"inputs": ROWS}).json()["predictions"]
    response = invoke(bot, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"predictions": own}
    assert "parse;dur=" in response["Server-Timing"]


def test_a_csv_body_gives_the_same_numbers(bot, abc):
    own = predict(bot, "abc", {"inputs": ROWS}).json()["predictions"]
    response = invoke(bot, "a,b,c\n1,2,3\n4,5,6\n", content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json() == {"predictions": own}
    reordered = invoke(bot, "c,b,a\r\n3,2.0,1e0\r\n6,5,4\r\n", content_type="text/csv")
    assert reordered.json() == {"predictions": own}


def test_alias_and_version_are_chosen_as_on_predict(bot, abc):
    model_register(data=abc_model(seed=6), filename="m.json", name="abc", alias="staging")
    body = {"inputs": ROWS}
    assert invoke(bot, body, query="?version=2").status_code == 200
    assert invoke(bot, body, query="?alias=staging").status_code == 200
    missing = invoke(bot, body, query="?alias=canary")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_credentials_scope_and_throttle_answer_in_mlflows_shape(client, reader, bot, abc, settings):
    assert invoke(client, {"inputs": ROWS}).json()["error_code"] == "UNAUTHENTICATED"
    assert invoke(reader, {"inputs": ROWS}).json()["error_code"] == "PERMISSION_DENIED"
    settings.SERVING_PREDICT_RATE = "1/m"
    invoke(bot, {"inputs": ROWS})
    throttled = invoke(bot, {"inputs": ROWS})
    assert throttled.status_code == 429 and throttled["Retry-After"]
    assert throttled.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (b"{", "application/json", 400, "malformed JSON"),
        (b'{"inputs": [[1, 2, NaN]]}', "application/json", 400, "malformed JSON"),
        (b'{"inputs": [[1, 2, 1e5000]]}', "application/json", 400, "malformed JSON"),
        (b'{"inputs": ["\\ud800"]}', "application/json", 400, "malformed JSON"),
        (b"[" * 3000 + b"]" * 3000, "application/json", 400, "malformed JSON"),
        ([ROWS], "application/json", 400, "must be a JSON object"),
        ({}, "application/json", 400, "give exactly one of"),
        ({"inputs": ROWS, "instances": ROWS}, "application/json", 400, "give exactly one"),
        ({"rows": ROWS}, "application/json", 400, "unknown field 'rows'"),
        ({"inputs": ROWS, "params": {"k": 1}}, "application/json", 400, "takes no parameters"),
        ({"dataframe_split": ROWS}, "application/json", 400, "must be an object"),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}},
            "application/json",
            400,
            "column 'c' is missing",
        ),
        (
            {"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[1, 2, 3, 4]]}},
            "application/json",
            400,
            "unknown column 'd'",
        ),
        (
            {"dataframe_split": {"columns": ["a", "a", "c"], "data": [[1, 2, 3]]}},
            "application/json",
            400,
            "given twice",
        ),
        (
            {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2]]}},
            "application/json",
            400,
            "data[0] must be a list of 3",
        ),
        (
            {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, "2", 3]]}},
            "application/json",
            400,
            "dataframe_split.data[0][1] (feature 'b') is not a number (got a string)",
        ),
        (
            {"dataframe_records": [{"a": 1, "b": 2}]},
            "application/json",
            400,
            "dataframe_records[0] lacks feature 'c'",
        ),
        (
            {"dataframe_records": [{"a": 1, "b": 2, "c": None}]},
            "application/json",
            400,
            "(got null)",
        ),
        ({"instances": [[1, 2, True]]}, "application/json", 400, "(got a boolean)"),
        (
            {"inputs": {"a": [1], "b": [2], "c": [3, 4]}},
            "application/json",
            400,
            "differ in length",
        ),
        (
            {"inputs": {"a": 1, "b": [2], "c": [3]}},
            "application/json",
            400,
            "inputs.a must be a list",
        ),
        ({"inputs": []}, "application/json", 400, "inputs is empty"),
        ("a,b,c\n1,2,x\n", "text/csv", 400, "'x' is not a number"),
        ("a,b,c\n1,2,inf\n", "text/csv", 400, "'inf' is not a number"),
        ("a,b,c\n1,2,NaN\n", "text/csv", 400, "'NaN' is not a number"),
        ("a,b,c\n1,2,1e5000\n", "text/csv", 400, "too large for a float"),
        ("a,b,c\n1,2\n", "text/csv", 400, "line 2 has 2 values"),
        ("a,b\n1,2\n", "text/csv", 400, "column 'c' is missing"),
        ("a,b,c\n", "text/csv", 400, "no row"),
        ("", "text/csv", 400, "empty"),
        (b"a,b,c\n1,2,\x003\n", "text/csv", 400, "NUL"),
        (b"a,b,c\n1,2,\xff\n", "text/csv", 400, "not UTF-8"),
        ("a=1", "application/x-www-form-urlencoded", 415, "not supported"),
    ],
)
def test_a_bad_body_is_a_4xx_in_mlflows_shape_naming_what_is_wrong(
    bot, abc, body, content_type, status, message
):
    response = invoke(bot, body, content_type=content_type)
    assert response.status_code == status, response.content
    error = response.json()
    assert set(error) == {"error_code", "message"}
    assert error["error_code"] == "BAD_REQUEST"
    assert message in error["message"]


def test_a_body_over_the_limit_is_a_413(bot, abc, settings):
    settings.SERVING_MAX_BODY_MB = 1
    response = invoke(bot, "a,b,c\n" + "1,2,3\n" * 200_000, content_type="text/csv")
    assert response.status_code == 413 and "larger than 1 MB" in response.json()["message"]
