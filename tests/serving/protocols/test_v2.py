"""The Open Inference Protocol (V2): metadata, infer, the same numbers as /predict.

In-process (Django's client); tests/serving/protocols/test_v2_clients.py calls a live gunicorn
with Triton's own client.
"""

import json

import numpy as np
import pytest

from tests.models_registry import factories
from tests.serving.conftest import predict, register

pytestmark = pytest.mark.django_db


def infer(client, path, body, **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body)
    return client.generic(
        "POST", f"/v2/models/{path}/infer", raw, content_type="application/json", **headers
    )


def matrix(rows: np.ndarray, name: str = "input__0", datatype: str = "FP32") -> dict:
    return {
        "name": name,
        "datatype": datatype,
        "shape": list(rows.shape),
        "data": rows.reshape(-1).tolist(),
    }


def fp32(rows: np.ndarray) -> np.ndarray:
    """Rows as a V2 client sending FP32 holds them (float32 values, as float64)."""
    return rows.astype(np.float32).astype(np.float64)


def test_the_health_paths_answer_without_credentials(client, xgb):
    assert client.get("/v2/health/live").json() == {"live": True}
    ready = client.get("/v2/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"ready": True})


def test_server_and_model_metadata_name_the_tensors(bot, xgb):
    assert bot.get("/v2").json() == {
        "name": "backoffice",
        "version": "1.0.0",
        "extensions": ["binary_tensor_data"],
    }
    meta = bot.get("/v2/models/edge-xgb").json()
    assert meta["name"] == "edge-xgb" and meta["versions"] == ["1"]
    assert meta["platform"] == "xgboost_json"
    assert meta["inputs"] == [{"name": "input__0", "datatype": "FP32", "shape": [-1, 5]}]
    assert meta["outputs"] == [{"name": "output__0", "datatype": "FP64", "shape": [-1, 1]}]
    assert meta["parameters"]["features"] == factories.FEATURES
    assert bot.get("/v2/models/edge-xgb/versions/1").json() == meta
    assert bot.get("/v2/models/edge-xgb/versions/production").json() == meta
    assert bot.get("/v2/models/edge-xgb/ready").json() == {"name": "edge-xgb", "ready": True}


def test_infer_with_one_matrix_gives_the_predict_endpoints_numbers(bot, xgb):
    trained, _ = xgb
    rows = fp32(trained.probe)
    own = predict(bot, "edge-xgb", {"inputs": rows.tolist()}).json()["predictions"]
    response = infer(bot, "edge-xgb", {"id": "r-1", "inputs": [matrix(trained.probe)]})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["model_name"], answer["model_version"], answer["id"]) == ("edge-xgb", "1", "r-1")
    (output,) = answer["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("output__0", "FP64", [25, 1])
    assert output["data"] == own
    assert "predict;dur=" in response["Server-Timing"]


def test_infer_with_one_tensor_per_feature_and_nested_data_gives_the_same_numbers(bot, lgbm):
    trained, _ = lgbm
    rows = fp32(trained.probe[:4])
    own = predict(bot, "edge-lgbm", {"inputs": rows.tolist()}).json()["predictions"]
    columns = [  # any order: the tensors are put in schema order by name
        {"name": name, "datatype": "FP64", "shape": [4, 1], "data": [[v] for v in column]}
        for name, column in reversed(list(zip(trained.features, rows.T, strict=True)))
    ]
    answer = infer(bot, "edge-lgbm/versions/1", {"inputs": columns}).json()
    assert answer["outputs"][0]["data"] == own


def test_integer_and_fp64_tensors_are_taken_as_numbers(bot, xgb):
    ints = np.array([[50, 0, 1, 0, 2], [60, 1, 2, 1, 3]])
    own = predict(bot, "edge-xgb", {"inputs": ints.tolist()}).json()["predictions"]
    for datatype in ("INT32", "INT64", "UINT8", "FP64", "FP16"):
        body = {"inputs": [matrix(ints, datatype=datatype)]}
        assert infer(bot, "edge-xgb", body).json()["outputs"][0]["data"] == own, datatype


def test_binary_tensor_data_in_and_out(bot, xgb):
    trained, _ = xgb
    rows = trained.probe[:3].astype(np.float32)
    own = predict(bot, "edge-xgb", {"inputs": rows.astype(float).tolist()}).json()["predictions"]
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input__0",
                    "datatype": "FP32",
                    "shape": [3, 5],
                    "parameters": {"binary_data_size": rows.nbytes},
                }
            ],
            "outputs": [{"name": "output__0", "parameters": {"binary_data": True}}],
        }
    ).encode()
    response = infer(
        bot,
        "edge-xgb",
        header + rows.tobytes(),
        HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(header)),
    )
    assert response.status_code == 200, response.content
    length = int(response["Inference-Header-Content-Length"])
    answer = json.loads(response.content[:length])
    (output,) = answer["outputs"]
    assert output["parameters"] == {"binary_data_size": 3 * 8}
    values = np.frombuffer(response.content[length:], dtype="<f8")
    assert values.tolist() == own


def test_an_onnx_lstm_shows_its_own_tensors_and_answers_what_onnx_runtime_computes(bot):
    trained = factories.onnx_lstm_model()
    register(trained, "edge-lstm", alias="production")
    meta = bot.get("/v2/models/edge-lstm").json()
    assert meta["platform"] == "onnxruntime_onnx"
    assert meta["inputs"] == [{"name": "sequence", "datatype": "FP32", "shape": [-1, 4, 2]}]
    assert meta["outputs"] == [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]}]
    native = trained.probe.astype(np.float32).reshape(25, 4, 2)
    answer = infer(bot, "edge-lstm", {"inputs": [matrix(native, name="sequence")]}).json()
    assert answer["outputs"][0]["data"] == trained.expected
    own = predict(bot, "edge-lstm", {"inputs": trained.probe.tolist()}).json()
    assert own["predictions"] == trained.expected


def test_credentials_and_scope_are_those_of_the_predict_endpoint(client, reader, xgb):
    body = {"inputs": [matrix(np.zeros((1, 5)))]}
    for response in (infer(client, "edge-xgb", body), client.get("/v2/models/edge-xgb")):
        assert response.status_code == 401
        assert "error" in response.json()
    denied = infer(reader, "edge-xgb", body)
    assert denied.status_code == 403 and "predict" in denied.json()["error"]


def test_an_unknown_model_version_or_alias_is_a_404_in_the_protocols_shape(bot, xgb):
    for path in ("ghost", "edge-xgb/versions/9", "edge-xgb/versions/staging", "bad%20name"):
        response = bot.get(f"/v2/models/{path}")
        assert response.status_code == 404, path
        assert set(response.json()) == {"error"}, path
    body = {"inputs": [matrix(np.zeros((1, 5)))]}
    assert infer(bot, "ghost", body).status_code == 404


def test_a_throttled_infer_is_a_429_with_retry_after(bot, xgb, settings):
    settings.SERVING_PREDICT_RATE = "2/m"
    body = {"inputs": [matrix(np.zeros((1, 5)))]}
    statuses = [infer(bot, "edge-xgb", body) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert int(statuses[-1]["Retry-After"]) > 0 and "error" in statuses[-1].json()


ROW = {"name": "input__0", "datatype": "FP32", "shape": [1, 5], "data": [1, 2, 3, 4, 5]}


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{", "malformed JSON"),
        (b'{"inputs": [{"name": "\\ud800"}]}', "malformed JSON"),
        (b'{"inputs": [' + b"[" * 5000 + b"]" * 5000 + b"]}", "malformed JSON"),
        (b"\x00\xff", "malformed JSON"),
        ([ROW], "must be a JSON object"),
        ({}, "inputs must be a non-empty list"),
        ({"inputs": []}, "inputs must be a non-empty list"),
        ({"inputs": [ROW], "extra": 1}, "unknown field 'extra'"),
        ({"inputs": [ROW], "id": 7}, "id must be a string"),
        ({"inputs": ["x"]}, "inputs[0] must be an object"),
        ({"inputs": [{**ROW, "name": ""}]}, "name must be a non-empty string"),
        ({"inputs": [{**ROW, "datatype": "BYTES"}]}, "datatype 'BYTES'"),
        ({"inputs": [{**ROW, "datatype": None}]}, "datatype 'NoneType'"),
        ({"inputs": [{**ROW, "shape": [1, -5]}]}, "shape must be a list"),
        ({"inputs": [{**ROW, "shape": [1, 5.0]}]}, "shape must be a list"),
        ({"inputs": [{**ROW, "shape": [2**40, 2**40]}]}, "shape must be a list"),
        ({"inputs": [{**ROW, "shape": [1] * 9}]}, "shape must be a list"),
        ({"inputs": [{**ROW, "shape": [2, 5]}]}, "holds 5 values; shape [2, 5] needs 10"),
        ({"inputs": [{**ROW, "shape": [1, 4], "data": [1, 2, 3, 4]}]}, "has shape [1, 4]"),
        ({"inputs": [{**ROW, "shape": [5]}]}, "has shape [5]"),
        ({"inputs": [{**ROW, "data": [1, 2, "3", 4, 5]}]}, "found a string"),
        ({"inputs": [{**ROW, "data": [1, 2, None, 4, 5]}]}, "found null"),
        ({"inputs": [{**ROW, "data": [1, 2, True, 4, 5]}]}, "found a boolean"),
        ({"inputs": [{**ROW, "data": [1, 2, {}, 4, 5]}]}, "found an object"),
        ({"inputs": [{**ROW, "data": [[1, 2], 3, 4, 5]}]}, "nested as the shape"),
        ({"inputs": [{**ROW, "data": "12345"}]}, "data must be a list"),
        ({"inputs": [{**ROW, "data": [1, 2, 1e39, 4, 5]}]}, "out of FP32's range"),
        ({"inputs": [{**ROW, "datatype": "INT8", "data": [1, 2, 300, 4, 5]}]}, "INT8's range"),
        ({"inputs": [{**ROW, "datatype": "INT64", "data": [1, 2, 2**70, 4, 5]}]}, "whole numbers"),
        ({"inputs": [{**ROW, "datatype": "UINT8", "data": [1, 2, -1, 4, 5]}]}, "UINT8's range"),
        ({"inputs": [{**ROW, "datatype": "INT64", "data": [1, 2, 3.5, 4, 5]}]}, "whole numbers"),
        ({"inputs": [{**ROW, "datatype": "FP64", "data": [1, 2, 2**1100, 4, 5]}]}, "infinity"),
        ({"inputs": [{k: v for k, v in ROW.items() if k != "data"}]}, "has no data"),
        ({"inputs": [ROW, ROW]}, "is given twice"),
        ({"inputs": [{**ROW, "name": "volume"}]}, "input 'volume' is not this model's"),
        ({"inputs": [{**ROW, "name": "rsi_14", "shape": [5]}]}, "feature 'macd_hist' has no"),
        ({"inputs": [{**ROW, "shape": [0, 5], "data": []}]}, "the batch is empty"),
        ({"inputs": [ROW], "outputs": [{"name": "proba"}]}, "output 'proba' is not this"),
        ({"inputs": [ROW], "outputs": "all"}, "outputs must be a list"),
        ({"inputs": [ROW], "parameters": {"binary_data_output": "yes"}}, "true or false"),
        ({"inputs": [{**ROW, "parameters": {"binary_data_size": 20}}]}, "binary_data_size"),
        ({"inputs": [ROW], "model_name": "edge-lgbm"}, "model_name 'edge-lgbm' is not the model"),
        ({"inputs": [ROW], "model_name": "edge-xgb\x00"}, "is not the model of the URL"),
        ({"inputs": [ROW], "model_name": "\ud800"}, "malformed JSON: no low surrogate"),
        ({"inputs": [ROW], "model_name": 7}, "model_name must be a string"),
        ({"inputs": [ROW], "model_name": "x" * 300}, "model_name must be a string"),
        ({"inputs": [ROW], "model_version": 1}, "model_version must be a string"),
        ({"inputs": [ROW], "model_version": "2"}, "model_version '2' is not the version served"),
    ],
)
def test_a_bad_infer_request_is_a_400_naming_what_is_wrong(bot, xgb, body, message):
    response = infer(bot, "edge-xgb", body)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]


def test_a_body_naming_its_model_and_version_as_kserves_client_does_is_served(bot, xgb):
    """KServe's InferRequest puts model_name in the body; it must be the URL's model."""
    trained, _ = xgb
    rows = trained.probe[:2]
    plain = infer(bot, "edge-xgb", {"inputs": [matrix(rows)]}).json()
    for path, named in (
        ("edge-xgb", {"model_name": "edge-xgb"}),
        ("edge-xgb", {"model_name": "edge-xgb", "model_version": "1"}),
        ("edge-xgb/versions/production", {"model_version": "production"}),
        ("edge-xgb/versions/1", {"model_name": "edge-xgb", "model_version": "1"}),
        ("edge-xgb", {"model_name": None, "model_version": None}),
    ):
        response = infer(bot, path, {"inputs": [matrix(rows)], **named})
        assert response.status_code == 200, (path, named, response.content)
        assert response.json()["outputs"] == plain["outputs"]
    wrong = infer(bot, "edge-xgb/versions/1", {"inputs": [matrix(rows)], "model_version": "9"})
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "model_version '9' is not the version served (1)"}


def test_non_finite_and_mismatched_binary_data_are_400s(bot, xgb):
    values = np.array([[1, 2, np.inf, 4, 5]], dtype=np.float32)
    header = json.dumps(
        {"inputs": [{**ROW, "data": None, "parameters": {"binary_data_size": 20}}]}
    ).replace('"data": null, ', "")
    response = infer(
        bot,
        "edge-xgb",
        header.encode() + values.tobytes(),
        HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(header)),
    )
    assert response.status_code == 400 and "not a finite number" in response.json()["error"]
    for length in ("x", "0", "99999"):
        bad = infer(bot, "edge-xgb", b"{}", HTTP_INFERENCE_HEADER_CONTENT_LENGTH=length)
        assert bad.status_code == 400 and "Inference-Header-Content-Length" in bad.json()["error"]
    extra = json.dumps({"inputs": [ROW]}).encode()
    trailing = infer(
        bot, "edge-xgb", extra + b"abc", HTTP_INFERENCE_HEADER_CONTENT_LENGTH=str(len(extra))
    )
    assert trailing.status_code == 400 and "3 bytes after" in trailing.json()["error"]


def test_a_body_over_the_limit_is_a_413_and_a_compressed_one_a_400(bot, xgb, settings):
    settings.SERVING_MAX_BODY_MB = 1
    huge = infer(bot, "edge-xgb", b"[" + b"1," * 600_000 + b"1]")
    assert huge.status_code == 413 and "larger than 1 MB" in huge.json()["error"]
    gz = infer(bot, "edge-xgb", {"inputs": [ROW]}, HTTP_CONTENT_ENCODING="gzip")
    assert gz.status_code == 400 and "Content-Encoding" in gz.json()["error"]
