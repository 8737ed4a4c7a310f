"""Drill: one model's artifact is corrupted on disk while gunicorn serves two models.

Both models are loaded in both workers and answering under load; the xgboost
artifact is then damaged on disk and an operator evicts it (DELETE /api/v1/cache), so
the workers read it again. From then on that model answers 503 with a reason, in both
workers, while the other model goes on answering 200 with its own predictions.
"""

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.live_server import LiveServer, own_cluster
from tests.models_registry import factories


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("broken_artifact")


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("broken-artifact")
    # No prediction cache: every answer is computed by the model the worker holds.
    live = LiveServer(
        cluster,
        scratch,
        SERVING_PREDICTION_CACHE_TTL="0",
        SERVING_PREDICT_RATE="off",
        SERVING_ALIAS_CHECK_MS="100",
    )
    live.manage("migrate", "--noinput")
    live.models = {"edge-xgb": factories.xgboost_model(), "edge-lgbm": factories.lightgbm_model()}
    for name, trained in live.models.items():
        path = scratch / trained.filename
        path.write_bytes(trained.data)
        live.manage("register_model", str(path), "--name", name, "--alias", "production")
    for persona, scopes in (("bot", "predict"), ("ops", "cache:admin")):
        setattr(live, persona, live.create_key(persona, scopes))
    live.start(migrate=False)
    yield live
    live.stop()


def predict(server, model: str, rows=None) -> requests.Response:
    trained = server.models[model]
    return requests.post(
        f"{server.url}/api/v1/models/{model}/predict",
        json={"inputs": (trained.probe if rows is None else rows).tolist()},
        headers={"Authorization": f"Api-Key {server.bot}", "Connection": "close"},
        timeout=30,
    )


class Hammer(threading.Thread):
    """Ask one model again and again until stopped; keep every status and wrong answer."""

    def __init__(self, server, model: str):
        super().__init__(daemon=True)
        self.server, self.model = server, model
        self.statuses: Counter[int] = Counter()
        self.wrong: list[str] = []
        self.stop = threading.Event()

    def run(self):
        expected = self.server.models[self.model].expected
        while not self.stop.is_set():
            response = predict(self.server, self.model)
            self.statuses[response.status_code] += 1
            if response.status_code == 200:
                got = response.json()["predictions"]
                if got != pytest.approx(expected, abs=1e-6):
                    self.wrong.append(f"{self.model}: {got[:3]}...")


def artifact_of(server, model: str):
    data = server.models[model].data
    store = Path(server.env["MODEL_STORAGE_DIR"])
    (path,) = [p for p in store.rglob("*") if p.is_file() and p.read_bytes() == data]
    return path


def test_a_corrupted_artifact_is_503_for_its_model_only_while_the_other_keeps_serving(server):
    for model in server.models:
        assert predict(server, model).status_code == 200
    healthy, broken = Hammer(server, "edge-lgbm"), Hammer(server, "edge-xgb")
    healthy.start()
    broken.start()
    try:
        time.sleep(1)
        path = artifact_of(server, "edge-xgb")
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01  # the same size, another hash
        path.write_bytes(bytes(data))
        # Loaded and verified before the damage: still served until a reload.
        assert predict(server, "edge-xgb").status_code == 200
        before = healthy.statuses[200]

        evict = requests.delete(
            f"{server.url}/api/v1/cache?model=edge-xgb",
            headers={"Authorization": f"Api-Key {server.ops}", "Connection": "close"},
            timeout=30,
        )
        assert evict.status_code == 200, evict.text

        # Within the alias-check delay every worker has dropped it: 20 answers in a row
        # are 503 with the reason.
        deadline, streak = time.monotonic() + 20, 0
        while streak < 20:
            assert time.monotonic() < deadline, "edge-xgb is still served from memory"
            response = predict(server, "edge-xgb")
            streak = streak + 1 if response.status_code == 503 else 0
        error = response.json()
        assert error["code"] == "model_unavailable"
        assert "edge-xgb@1 cannot be served" in error["detail"]
        assert "SHA-256" in error["detail"]
        time.sleep(1)
    finally:
        healthy.stop.set()
        broken.stop.set()
        healthy.join(30)
        broken.join(30)

    assert set(healthy.statuses) == {200}, healthy.statuses
    assert healthy.statuses[200] > before, "the other model answered during the outage"
    assert not healthy.wrong and not broken.wrong
    assert set(broken.statuses) == {200, 503}, broken.statuses  # never a 500
    lgbm = server.models["edge-lgbm"]
    response = predict(server, "edge-lgbm", lgbm.probe[:3])
    assert response.json()["predictions"] == pytest.approx(lgbm.expected[:3], abs=1e-6)
