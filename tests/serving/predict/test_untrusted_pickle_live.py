"""Drill: a joblib version that no operator trusted, aliased production, under gunicorn.

The finding of issue 15: a crafted pickle aliased ``production`` ran in every worker at
each boot. Here such a version is in the database with its artifact intact (see
tests.serving.predict.untrusted) when gunicorn starts. Each worker's warm-up refuses it, every
prediction of it is a 503, the other model serves, and its code never runs.
"""

import io
import time

import joblib
import pytest
import requests

from tests.live_server import LiveServer, own_cluster
from tests.models_registry import factories


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("untrusted_pickle")


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("untrusted-pickle")
    live = LiveServer(cluster, scratch, SERVING_PREDICT_RATE="off")
    live.manage("migrate", "--noinput")
    trained = factories.xgboost_model()
    (scratch / trained.filename).write_bytes(trained.data)
    live.manage(
        "register_model", str(scratch / trained.filename), "--name", "edge", "--alias", "production"
    )
    live.marker = scratch / "code-ran"
    live.evil = scratch / "evil.joblib"
    live.evil.write_bytes(factories.malicious_pickle(live.marker))
    live.manage(
        "shell",
        "-c",
        "from pathlib import Path; "
        "from tests.serving.predict.untrusted import force_pickle_version; "
        f"force_pickle_version(data=Path({str(live.evil)!r}).read_bytes(), name='edge-evil')",
    )
    live.key = live.create_key("bot", "predict")
    live.start(migrate=False)
    yield live
    live.stop()


def predict(server, model: str, rows) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/models/{model}/predict",
        json={"inputs": rows},
        headers={"Authorization": f"Api-Key {server.key}", "Connection": "close"},
        timeout=30,
    )


def warm_ups(server, count: int = 2, timeout: float = 60) -> list[dict]:
    """The log lines of the workers' boot warm-ups, once ``count`` have finished."""
    deadline = time.monotonic() + timeout
    while True:
        lines = server.log_lines()
        if sum(line.get("message") == "warm-up done" for line in lines) >= count:
            return lines
        assert time.monotonic() < deadline, [line.get("message") for line in lines]
        time.sleep(0.2)


def test_the_untrusted_pickle_never_runs_at_boot_or_on_predict(server):
    # Each worker warms up (post_worker_init) at boot, and refuses it.
    lines = warm_ups(server)
    refusals = [
        line
        for line in lines
        if line.get("message") == "model unavailable" and line.get("model") == "edge-evil@1"
    ]
    assert len(refusals) >= 2, "each worker's warm-up tried and refused it"
    assert all("no operator trusted this one" in line["reason"] for line in refusals)
    assert not server.marker.exists(), "the pickle ran at boot"

    trained = factories.xgboost_model()
    for _ in range(6):  # connections closed: both workers answer some of these
        refused = predict(server, "edge-evil", [[1.0]])
        assert refused.status_code == 503, refused.text
        assert "no operator trusted this one" in refused.json()["detail"]
        served = predict(server, "edge", trained.probe[:3].tolist())
        assert served.status_code == 200
        assert served.json()["predictions"] == pytest.approx(trained.expected[:3], abs=1e-6)
    assert not server.marker.exists(), "the pickle ran on a prediction"

    # Control: the file the server holds is a live payload.
    joblib.load(io.BytesIO(server.evil.read_bytes()))
    assert server.marker.exists()
