"""Real protocol clients against a live gunicorn (two workers): Triton's HTTP client
and KServe's REST client speak V2 to it, an MLflow-style client posts its bodies, and
Prometheus' text format comes back from /metrics with the figures of both workers.

KServe's Python SDK (``kserve``) pins its own FastAPI, uvicorn, Kubernetes client and
gRPC tools, so its client runs in a virtualenv of its own (tests.peer_venv,
requirements-kserve.txt) as tests/serving/protocols/kserve_client.py.
"""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from prometheus_client.parser import text_string_to_metric_families
from tritonclient.utils import InferenceServerException

from tests.live_server import LiveServer, own_cluster
from tests.models_registry import factories
from tests.peer_venv import peer_python

SCRAPE_TOKEN = "scrape-token-for-the-test-0123456789"


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("v2_clients")


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("v2-clients")
    live = LiveServer(
        cluster, scratch, SERVING_PREDICT_RATE="off", PROMETHEUS_SCRAPE_TOKEN=SCRAPE_TOKEN
    )
    live.manage("migrate", "--noinput")
    for name, trained in (
        ("edge-xgb", factories.xgboost_model()),
        ("edge-lgbm", factories.lightgbm_model()),
        ("edge-lstm", factories.onnx_lstm_model()),
    ):
        path = scratch / trained.filename
        path.write_bytes(trained.data)
        live.manage("register_model", str(path), "--name", name, "--alias", "production")
    live.key = live.create_key("bot", "predict")
    live.start(migrate=False)
    yield live
    live.stop()


@pytest.fixture
def client(server):
    url = server.url.removeprefix("http://")
    with triton.InferenceServerClient(url, connection_timeout=60, network_timeout=60) as c:
        yield c


def auth(server) -> dict[str, str]:
    return {"Authorization": f"Api-Key {server.key}"}


def own_predictions(server, model: str, rows: np.ndarray) -> list[float]:
    response = requests.post(
        f"{server.url}/api/v1/models/{model}/predict",
        json={"inputs": rows.tolist()},
        headers={**auth(server), "Connection": "close"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_tritons_client_sees_a_live_ready_server_and_the_models_tensors(server, client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata(headers=auth(server))["name"] == "backoffice"
    assert client.is_model_ready("edge-xgb", headers=auth(server))
    meta = client.get_model_metadata("edge-lstm", headers=auth(server))
    assert meta["inputs"] == [{"name": "sequence", "datatype": "FP32", "shape": [-1, 4, 2]}]
    with pytest.raises(InferenceServerException, match=r"401|Api-Key|credentials"):
        client.get_model_metadata("edge-xgb")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("model", ["edge-xgb", "edge-lgbm"])
def test_tritons_client_gets_the_numbers_of_the_projects_own_body(server, client, model, binary):
    rows = factories.xgboost_model().probe.astype(np.float32)
    tensor = triton.InferInput("input__0", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=binary)
    output = triton.InferRequestedOutput("output__0", binary_data=binary)
    result = client.infer(model, [tensor], outputs=[output], headers=auth(server), request_id="r7")
    got = result.as_numpy("output__0")
    assert got.shape == (25, 1)
    assert got.reshape(-1).tolist() == own_predictions(server, model, rows.astype(np.float64))
    assert result.get_response()["id"] == "r7"


def test_tritons_client_runs_the_onnx_lstm_as_onnx_runtime_does(server, client):
    trained = factories.onnx_lstm_model()
    sequence = trained.probe.astype(np.float32).reshape(25, 4, 2)
    tensor = triton.InferInput("sequence", [25, 4, 2], "FP32")
    tensor.set_data_from_numpy(sequence)
    result = client.infer("edge-lstm", [tensor], headers=auth(server))
    assert result.as_numpy("probability").reshape(-1).tolist() == trained.expected


def test_tritons_client_reads_a_bad_request_as_the_servers_error(server, client):
    tensor = triton.InferInput("volume", [1, 5], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 5), dtype=np.float32), binary_data=False)
    with pytest.raises(InferenceServerException, match="input 'volume' is not this model's"):
        client.infer("edge-xgb", [tensor], headers=auth(server))


def test_an_mlflow_style_client_gets_the_same_numbers(server):
    rows = factories.xgboost_model().probe[:3]
    split = {"columns": factories.FEATURES, "data": rows.tolist()}
    response = requests.post(
        f"{server.url}/api/v1/models/edge-xgb/invocations",
        json={"dataframe_split": split},
        headers={**auth(server), "Connection": "close"},
        timeout=60,
    )
    assert response.json() == {"predictions": own_predictions(server, "edge-xgb", rows)}
    assert "predict;dur=" in response.headers["Server-Timing"]


KSERVE_CLIENT = Path(__file__).with_name("kserve_client.py")


@pytest.fixture(scope="module")
def kserve_saw(server) -> dict:
    """What KServe's InferenceRESTClient saw of the live server (kserve_client.py)."""
    rows = factories.xgboost_model().probe.astype(np.float32)
    done = subprocess.run(
        [str(peer_python("kserve")), str(KSERVE_CLIENT)],
        input=json.dumps({"url": server.url, "key": server.key, "rows": rows.tolist()}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_kserves_client_sees_a_live_ready_server_and_a_ready_model(kserve_saw):
    assert kserve_saw["kserve"] == "0.21.0"
    assert kserve_saw["live"] is True and kserve_saw["ready"] is True
    assert kserve_saw["model_ready"] is True
    assert kserve_saw["model_ready_without_key"] is False, "a 401 is not ready"


@pytest.mark.parametrize("model", ["edge-xgb", "edge-lgbm"])
@pytest.mark.parametrize("mode", ["in:json out:json", "in:binary out:json", "in:binary out:binary"])
def test_kserves_client_gets_the_numbers_of_the_projects_own_body(server, kserve_saw, model, mode):
    rows = factories.xgboost_model().probe.astype(np.float32)
    seen = kserve_saw[f"{model} {mode}"]
    assert seen["status"] == 200, seen
    assert (seen["id"], seen["model_name"], seen["name"]) == ("k7", model, "output__0")
    assert (seen["datatype"], seen["shape"]) == ("FP64", [25, 1])
    assert seen["data"] == own_predictions(server, model, rows.astype(np.float64))


def test_kserves_client_reads_the_servers_errors(kserve_saw):
    unknown = kserve_saw["unknown input"]
    assert unknown["status"] == 400
    assert "input 'volume' is not this model's" in unknown["error"]
    assert kserve_saw["without key"]["status"] == 401
    ghost = kserve_saw["unknown model"]
    assert ghost["status"] == 404 and "ghost" in ghost["error"]


def scrape(server, token=SCRAPE_TOKEN) -> requests.Response:
    headers = {"Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{server.url}/metrics", headers=headers, timeout=60)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_prometheus_scrapes_both_workers_figures_with_the_token_only(server):
    assert scrape(server, token=None).status_code == 401
    assert scrape(server, token="wrong").status_code == 401
    before = samples(scrape(server).text)
    body = {"inputs": factories.xgboost_model().probe[:1].tolist()}

    def ask(_):
        return requests.post(
            f"{server.url}/api/v1/models/edge-xgb/predict",
            json=body,
            headers={**auth(server), "Connection": "close"},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(ask, range(40))) == {200}
    response = scrape(server)
    assert response.headers["Content-Type"].startswith("text/plain")
    after = samples(response.text)
    hits = (
        "serving_predictions_total",
        (("cache", "hit"), ("model", "edge-xgb"), ("version", "1")),
    )
    misses = (hits[0], (("cache", "miss"), ("model", "edge-xgb"), ("version", "1")))
    counted = sum(after.get(k, 0) - before.get(k, 0) for k in (hits, misses))
    assert counted == 40, "every prediction of either worker is counted once"
    route = "api/v1/models/<slug:name>/predict"
    latency = (
        "backoffice_http_request_duration_seconds_count",
        (("method", "POST"), ("route", route), ("status", "200")),
    )
    assert after[latency] - before.get(latency, 0) == 40
    loads = [
        k for k in after if k[0] == "serving_model_loads_total" and ("outcome", "loaded") in k[1]
    ]
    assert loads, "model loads are counted"
    for gauge in (
        "journal_spool_backlog_trades",
        "journal_spool_replay_lag_seconds",
        "desk_approval_queue_ideas",
    ):
        assert after[(gauge, ())] == 0 and after[(f"{gauge}_up", ())] == 1
