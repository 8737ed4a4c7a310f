"""Bodies built to hold a worker (issue 26, items 5 and 6): each is refused in its
protocol's error body within about a second, before work proportional to its size.

The reproductions: a CSV or ``dataframe_split`` header of 40,000 and 80,000 columns
with the last one repeated (a quadratic column check took 19.4 s, then the worker was
killed); a V2 ``data`` array of 29 MB nested 7 deep (10.7 s before the row limit
refused it); huge flat arrays. The timings allow for a loaded two-core machine: each
refusal takes some tens of milliseconds here, the bound is a second.
"""

import time

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.models_registry import factories
from tests.serving.conftest import predict, register

pytestmark = pytest.mark.django_db

# No body within the size limit may hold a worker longer than this (issue 26).
BUDGET_SECONDS = 1.0
FEATURES = ["rsi_14", "macd_hist", "atr_pct", "trend_strength", "spread_bps"]


def timed(send, *, tries: int = 1):
    """The response and the fastest of ``tries`` sends (the scheduler's noise on a busy
    two-core machine only ever adds time)."""
    best = None
    for _ in range(tries):
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return response, best


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
    body = orjson.dumps({"dataframe_split": {"columns": columns, "data": []}})
    response, seconds = timed(lambda: invoke(bot, body))
    assert seconds < BUDGET_SECONDS, f"{count:,} columns took {seconds:.2f} s"
    assert response.status_code == 400, response.content[:300]
    answer = response.json()
    assert answer["error_code"] == "BAD_REQUEST"
    assert f"'c{count - 7}' is given twice" in answer["message"]


@pytest.mark.parametrize("count", [40_000, 80_000])
def test_a_csv_header_with_the_last_column_repeated_is_refused_at_once(bot, xgb, count):
    columns = many_columns(count)
    body = (",".join(columns) + "\n").encode()
    response, seconds = timed(lambda: invoke(bot, body, content_type="text/csv"))
    assert seconds < BUDGET_SECONDS, f"{count:,} columns took {seconds:.2f} s"
    assert response.status_code == 400, response.content[:300]
    assert f"'c{count - 7}' is given twice" in response.json()["message"]


def test_v2_inputs_with_the_last_tensor_repeated_are_refused_at_once(bot, xgb):
    tensors = [
        {"name": f"t{i}", "datatype": "FP32", "shape": [1], "data": [0.5]} for i in range(4095)
    ]
    tensors.append(dict(tensors[-1]))
    response, seconds = timed(lambda: infer(bot, orjson.dumps({"inputs": tensors})))
    assert seconds < BUDGET_SECONDS, f"4,096 tensors took {seconds:.2f} s"
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"] == "input 't4094' is given twice"


def test_the_predict_endpoint_still_answers_rows_of_the_models_features(bot, xgb):
    trained, _ = xgb
    response = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert response.status_code == 200


# -- item 6: bodies that hold a worker before a limit refuses them ----------------------


def nested(depth: int, width: int, leaf: list) -> list:
    for _ in range(depth):
        leaf = [leaf] * width
    return leaf


def test_a_29_mb_v2_body_nested_7_deep_is_refused_within_a_second(bot, xgb):
    """The issue's body: 10.7 s before the 10,000-row limit refused it."""
    data = nested(6, 8, [0] * 54)  # 8**6 * 54 = 14.2 million values, nested 7 deep
    tensor = {"name": "input__0", "datatype": "FP32", "shape": [8] * 6 + [54], "data": data}
    body = orjson.dumps({"inputs": [tensor]})
    assert 28e6 < len(body) < 32 * 1024 * 1024
    response, seconds = timed(lambda: infer(bot, body))
    assert seconds < BUDGET_SECONDS, f"the nested body took {seconds:.2f} s"
    assert response.status_code == 413, response.content[:300]
    message = response.json()["error"]
    assert "send fewer rows" in message and "10,000 rows" in message


def flat_values(count: int) -> list[int]:
    return [1] * count


def huge_bodies() -> dict[str, tuple]:
    """About 30 MB each, of the smallest values: (path, content type, body, error key)."""
    count = 7_000_000
    rows = [[1, 2, 3, 4, 5]] * (count // 5)
    record = dict(zip(FEATURES, [1, 2, 3, 4, 5], strict=True))
    return {
        "predict inputs": (
            "/api/v1/models/edge-xgb/predict",
            "application/json",
            orjson.dumps({"inputs": rows}),
            "detail",
        ),
        "predict instances": (
            "/api/v1/models/edge-xgb/predict",
            "application/json",
            orjson.dumps({"instances": [record] * 400_000}),
            "detail",
        ),
        "v2 flat data": (
            "/v2/models/edge-xgb/infer",
            "application/json",
            orjson.dumps(
                {
                    "inputs": [
                        {
                            "name": "input__0",
                            "datatype": "FP64",
                            "shape": [1, 5],
                            "data": flat_values(count * 2),
                        }
                    ]
                }
            ),
            "error",
        ),
        "invocations dataframe_split": (
            "/api/v1/models/edge-xgb/invocations",
            "application/json",
            orjson.dumps({"dataframe_split": {"columns": FEATURES, "data": rows}}),
            "message",
        ),
        "invocations csv": (
            "/api/v1/models/edge-xgb/invocations",
            "text/csv",
            (",".join(FEATURES) + "\n" + "1,2,3,4,5\n" * (count // 5)).encode(),
            "message",
        ),
    }


@pytest.mark.parametrize("form", list(huge_bodies()))
def test_a_huge_flat_body_of_any_protocol_is_refused_within_a_second(bot, xgb, form):
    path, content_type, body, key = huge_bodies()[form]
    assert 13e6 < len(body) < 32 * 1024 * 1024, len(body)
    response, seconds = timed(lambda: bot.generic("POST", path, body, content_type=content_type))
    assert seconds < BUDGET_SECONDS, f"{form}: {seconds:.2f} s"
    assert response.status_code == 413, response.content[:300]
    assert "send fewer rows" in response.json()[key]


def test_v2_data_nested_deeper_than_its_shape_is_refused(bot, xgb):
    tensor = {"name": "input__0", "datatype": "FP32", "shape": [1, 5], "data": [[[1, 2, 3, 4, 5]]]}
    response = infer(bot, orjson.dumps({"inputs": [tensor]}))
    assert response.status_code == 400
    assert "nested as the shape (2 dimension(s))" in response.json()["error"]


def test_a_v2_batch_over_the_row_limit_is_refused_from_its_shape(bot, xgb, settings):
    settings.SERVING_MAX_ROWS = 100
    rows = np.zeros((101, 5), dtype=np.float32)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "input__0",
                    "datatype": "FP32",
                    "shape": [101, 5],
                    "parameters": {"binary_data_size": rows.nbytes},
                }
            ]
        }
    )
    response = bot.generic(
        "POST",
        "/v2/models/edge-xgb/infer",
        header + rows.tobytes(),
        content_type="application/octet-stream",
        HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(header)),
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "inputs.input__0 has a batch of 101 rows; at most 100 per request"
    )


def full_requests(rows: np.ndarray) -> dict[str, tuple]:
    """The largest request each form may send: SERVING_MAX_ROWS rows."""
    listed = rows.tolist()
    records = [dict(zip(FEATURES, row, strict=True)) for row in listed]
    per_feature = [
        {"name": name, "datatype": "FP64", "shape": [len(rows), 1], "data": [[v] for v in col]}
        for name, col in zip(FEATURES, rows.T.tolist(), strict=True)
    ]
    csv = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in listed)
    predict_path = "/api/v1/models/edge-xgb/predict"
    mlflow = "/api/v1/models/edge-xgb/invocations"
    v2 = "/v2/models/edge-xgb/infer"
    matrix = {"name": "input__0", "datatype": "FP64", "shape": list(rows.shape), "data": listed}
    return {
        "predict inputs": (predict_path, "application/json", {"inputs": listed}),
        "predict instances": (predict_path, "application/json", {"instances": records}),
        "v2 matrix": (v2, "application/json", {"inputs": [matrix]}),
        "v2 per feature": (v2, "application/json", {"inputs": per_feature}),
        "dataframe_split": (
            mlflow,
            "application/json",
            {
                "dataframe_split": {
                    "columns": FEATURES,
                    "data": listed,
                    "index": list(range(len(rows))),
                }
            },
        ),
        "dataframe_records": (mlflow, "application/json", {"dataframe_records": records}),
        "mlflow inputs columns": (
            mlflow,
            "application/json",
            {"inputs": dict(zip(FEATURES, rows.T.tolist(), strict=True))},
        ),
        "csv": (mlflow, "text/csv", csv),
    }


def test_the_largest_request_of_every_form_is_still_answered(bot, xgb, settings):
    rows = np.random.default_rng(3).uniform(-1, 1, (settings.SERVING_MAX_ROWS, 5)).round(6)
    for form, (path, content_type, body) in full_requests(rows).items():
        raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
        response = bot.generic("POST", path, raw, content_type=content_type)
        assert response.status_code == 200, (form, response.content[:300])


# -- the property: parsing time is linear in the body's size, up to the limit ---------

LIMIT = 32 * 1024 * 1024  # SERVING_MAX_BODY_MB's default
# Generous for a loaded two-core machine (a collection of the previous example's 32 MB
# can land in any request): a 32 MB body is refused in about 0.15 s here.
FIXED_SECONDS = 0.5
SECONDS_PER_MB = 0.015

# Fragments a body repeats: numbers flat, nested lists, objects, strings, long floats.
UNITS = {
    "flat": b"1,",
    "floats": b"-0.12345678901234567,",
    "nested 2": b"[1,2],",
    "nested 7": b"[[[[[[1]]]]]],",
    "nested 40": b"[" * 40 + b"1" + b"]" * 40 + b",",
    "rows": b"[1,2,3,4,5],",
    "objects": b'{"rsi_14":1,"macd_hist":2,"atr_pct":3,"trend_strength":4,"spread_bps":5},',
    "strings": b'"abcdefghijklmnop",',
    "spaces": b"1" + b" " * 60 + b",",
}
# Each protocol's body around the repeated fragments: (path, content type, head, tail).
WRAPPERS = {
    "predict": ("/api/v1/models/{}/predict", "application/json", b'{"inputs":[', b"1]}"),
    "v2": (
        "/v2/models/{}/infer",
        "application/json",
        b'{"inputs":[{"name":"input__0","datatype":"FP64","shape":[1,5],"data":[',
        b"1]}]}",
    ),
    "dataframe_split": (
        "/api/v1/models/edge-xgb/invocations",
        "application/json",
        b'{"dataframe_split":{"columns":["rsi_14","macd_hist","atr_pct","trend_strength",'
        b'"spread_bps"],"data":[',
        b"1]}}",
    ),
    "instances": (
        "/api/v1/models/{}/invocations",
        "application/json",
        b'{"instances":[',
        b"1]}",
    ),
}
CSV_LINES = {
    "rows": b"1,2,3,4,5\n",
    "wide": b"1," * 500 + b"1\n",
    "blank": b"\n",
    "floats": b"0.123456789,-1e-300,3.5,4,5\n",
}


def body_of(model: str, wrapper: str, unit: str, size: int) -> tuple[str, str, bytes]:
    path, content_type, head, tail = WRAPPERS[wrapper]
    fragment = UNITS[unit]
    count = max(0, (size - len(head) - len(tail)) // len(fragment))
    return path.format(model), content_type, head + fragment * count + tail


def csv_of(model: str, line: str, size: int) -> tuple[str, str, bytes]:
    head = b"rsi_14,macd_hist,atr_pct,trend_strength,spread_bps\n"
    fragment = CSV_LINES[line]
    body = head + fragment * max(0, (size - len(head)) // len(fragment))
    return f"/api/v1/models/{model}/invocations", "text/csv", body


# Any size up to the limit, the limit itself and its halves drawn as often as the rest.
sizes = st.one_of(st.integers(0, 14).map(lambda k: LIMIT >> k), st.integers(1_000, LIMIT))
# The narrow model's bodies are bounded by its rows, the wide one's by SERVING_MAX_VALUES.
models = st.sampled_from(["edge-xgb", "wide-xgb"])
bodies = st.one_of(
    st.builds(
        body_of, models, st.sampled_from(sorted(WRAPPERS)), st.sampled_from(sorted(UNITS)), sizes
    ),
    st.builds(csv_of, models, st.sampled_from(sorted(CSV_LINES)), sizes),
)


WIDE_FEATURES = tuple(f"w{i}" for i in range(120))


@pytest.fixture
def wide(db):
    """A model of 120 features: its largest request is bounded by SERVING_MAX_VALUES."""
    trained = factories.xgboost_on(WIDE_FEATURES, rounds=5)
    return trained, register(trained, "wide-xgb", alias="production")


@pytest.fixture
def one_row(xgb, wide) -> list[list[float]]:
    trained, _ = xgb
    return trained.probe[:1].tolist()


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=bodies)
def test_parsing_time_stays_linear_in_the_body_size_up_to_the_limit(bot, one_row, request):
    path, content_type, body = request
    assert predict(bot, "edge-xgb", {"inputs": one_row}).status_code == 200  # loaded, warm
    response, seconds = timed(
        lambda: bot.generic("POST", path, body, content_type=content_type), tries=3
    )
    megabytes = len(body) / 1024 / 1024
    assert seconds <= FIXED_SECONDS + SECONDS_PER_MB * megabytes, (
        f"{megabytes:.1f} MB to {path} ({content_type}) took {seconds:.2f} s"
    )
    assert seconds < BUDGET_SECONDS
    assert response.status_code in (200, 400, 413), response.content[:300]


def test_a_wide_models_request_is_bounded_by_the_values_not_only_the_rows(bot, wide, settings):
    """120 features: 4,000 rows (484,000 values) are answered, 10,000 rows refused before
    they are parsed; each within the budget."""
    assert settings.SERVING_MAX_VALUES == 500_000
    rng = np.random.default_rng(5)
    for rows, status in ((4_000, 200), (settings.SERVING_MAX_ROWS, 413)):
        table = rng.uniform(-1, 1, (rows, len(WIDE_FEATURES))).round(4)
        csv = ",".join(WIDE_FEATURES) + "\n" + "\n".join(",".join(map(str, r)) for r in table)
        for path, content_type, body in (
            ("/api/v1/models/wide-xgb/predict", "application/json", {"inputs": table.tolist()}),
            ("/api/v1/models/wide-xgb/invocations", "text/csv", csv),
        ):
            raw = body.encode() if isinstance(body, str) else orjson.dumps(body)
            response, seconds = timed(
                lambda path=path, raw=raw, content_type=content_type: bot.generic(
                    "POST", path, raw, content_type=content_type
                )
            )
            assert seconds < BUDGET_SECONDS, (rows, path, seconds)
            assert response.status_code == status, (rows, path, response.content[:300])
            if status == 413:
                assert "no more than 500,000 values in all" in response.content.decode()
