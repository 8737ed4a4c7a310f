"""Bodies built to hold a worker (issue 26, items 5 and 6): each is refused in its
protocol's error body within about a second, before work proportional to its size.

The reproductions: a CSV or ``dataframe_split`` header of 40,000 and 80,000 columns
with the last one repeated (a quadratic column check took 19.4 s, then the worker was
killed); a V2 ``data`` array of 29 MB nested 7 deep (10.7 s before the row limit
refused it); huge flat arrays. The timings allow for a loaded two-core machine: each
refusal takes some tens of milliseconds here, the bound is a second.
"""

import time

import orjson
import pytest
from rest_framework.test import APIClient

from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db

# No body within the size limit may hold a worker longer than this (issue 26).
BUDGET_SECONDS = 1.0
FEATURES = ["rsi_14", "macd_hist", "atr_pct", "trend_strength", "spread_bps"]


def timed(send):
    started = time.perf_counter()
    response = send()
    return response, time.perf_counter() - started


def invoke(client: APIClient, body: bytes, content_type="application/json"):
    return client.generic(
        "POST", "/api/v1/models/edge-xgb/invocations", body, content_type=content_type
    )


def infer(client: APIClient, body: bytes):
    return client.generic(
        "POST", "/v2/models/edge-xgb/infer", body, content_type="application/json"
    )


def many_columns(count: int) -> list[str]:
    """``count`` column names, the last one given twice (the issue's header)."""
    names = [*FEATURES, *(f"c{i}" for i in range(count - len(FEATURES) - 1))]
    return [*names, names[-1]]


@pytest.mark.parametrize("count", [40_000, 80_000])
def test_a_dataframe_split_header_with_the_last_column_repeated_is_refused_at_once(bot, xgb, count):
    columns = many_columns(count)
    body = orjson.dumps({"dataframe_split": {"columns": columns, "data": [[0.5] * count]}})
    response, seconds = timed(lambda: invoke(bot, body))
    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    assert answer["error_code"] == "BAD_REQUEST"
    assert f"'c{count - 7}' is given twice" in answer["message"]
    assert seconds < BUDGET_SECONDS, f"{count:,} columns took {seconds:.2f} s"


@pytest.mark.parametrize("count", [40_000, 80_000])
def test_a_csv_header_with_the_last_column_repeated_is_refused_at_once(bot, xgb, count):
    columns = many_columns(count)
    body = (",".join(columns) + "\n" + ",".join(["0.5"] * count) + "\n").encode()
    response, seconds = timed(lambda: invoke(bot, body, content_type="text/csv"))
    assert response.status_code == 400, response.content[:300]
    assert f"'c{count - 7}' is given twice" in response.json()["message"]
    assert seconds < BUDGET_SECONDS, f"{count:,} columns took {seconds:.2f} s"


def test_v2_inputs_with_the_last_tensor_repeated_are_refused_at_once(bot, xgb):
    tensors = [
        {"name": f"t{i}", "datatype": "FP32", "shape": [1], "data": [0.5]} for i in range(4095)
    ]
    tensors.append(dict(tensors[-1]))
    response, seconds = timed(lambda: infer(bot, orjson.dumps({"inputs": tensors})))
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == "input 't4094' is given twice"
    assert seconds < BUDGET_SECONDS, f"4,096 tensors took {seconds:.2f} s"


def test_the_predict_endpoint_still_answers_rows_of_the_models_features(bot, xgb):
    trained, _ = xgb
    response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.status_code == 200
