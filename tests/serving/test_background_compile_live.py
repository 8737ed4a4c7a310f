"""A registered booster gets its compiled predictor without a manual step (issue 30).

Two real gunicorn workers serve a freshly registered XGBoost version through its
booster; a real Celery worker and beat (the job engine) compile it in the background;
every worker then serves the compiled library, and every answer on the way, before,
during and after, is the booster's own number.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pytest
import requests

from tests.live_server import JobEngine, LiveServer, own_cluster
from tests.models_registry import factories
from tests.models_registry.factories import needs_gcc

pytestmark = needs_gcc


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("background_compile")


def predict(live, rows) -> list[float]:
    response = requests.post(
        f"{live.url}/api/v1/models/edge/predict",
        json={"inputs": rows.tolist()},
        headers={"Authorization": f"Api-Key {live.key}", "Connection": "close"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def predictors_by_worker(live, seconds: float = 20) -> dict[int, str]:
    """worker pid -> the predictor serving edge@1 there, from GET /api/v1/cache, once
    both workers have answered."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    while len(seen) < 2 and time.monotonic() < deadline:
        state = requests.get(
            f"{live.url}/api/v1/cache",
            headers={"Authorization": f"Api-Key {live.key}", "Connection": "close"},
            timeout=30,
        ).json()
        for entry in state["loaded"]:
            if entry["model"] == "edge" and entry["version"] == 1:
                seen[state["worker"]] = entry["predictor"]
    assert len(seen) == 2, f"both workers answer GET /cache: {seen}"
    return seen


def test_a_registered_booster_is_compiled_by_the_job_engine_and_every_worker_serves_it(
    cluster, tmp_path
):
    trained = factories.xgboost_model()
    artifact = tmp_path / "edge.json"
    artifact.write_bytes(trained.data)
    live = LiveServer(
        cluster,
        tmp_path,
        SERVING_ALIAS_CHECK_MS="100",
        SERVING_PREDICT_RATE="off",
        SERVING_PREDICTION_CACHE_TTL="0",  # every answer computed by the predictor
        MODEL_COMPILE_EVERY_SECONDS="1",
    )
    engine = None
    try:
        live.manage("migrate", "--noinput")
        live.manage("register_model", str(artifact), "--name", "edge", "--alias", "production")
        live.key = live.create_key("bot", "predict,cache:admin")
        live.start(migrate=False)
        expected = np.array(trained.expected)
        with ThreadPoolExecutor(4) as pool:
            for answer in pool.map(lambda _: predict(live, trained.probe), range(8)):
                assert np.abs(np.array(answer) - expected).max() <= 1e-6
        assert set(predictors_by_worker(live).values()) == {"booster"}

        engine = JobEngine(live, tmp_path).start()
        deadline = time.monotonic() + 120
        served: dict[int, str] = {}
        answers = 0
        while time.monotonic() < deadline:
            # Requests keep arriving while the job compiles: each is the booster's number.
            with ThreadPoolExecutor(4) as pool:
                for answer in pool.map(lambda _: predict(live, trained.probe), range(8)):
                    assert np.abs(np.array(answer) - expected).max() <= 1e-6
                    answers += 1
            served = predictors_by_worker(live)
            if set(served.values()) == {"compiled"}:
                break
            time.sleep(0.5)
        assert set(served.values()) == {"compiled"}, (served, engine.log_text()[-3000:])
        assert answers >= 8
        for answer in (predict(live, trained.probe) for _ in range(6)):
            assert np.abs(np.array(answer) - expected).max() <= 1e-6
        with psycopg.connect(cluster.url()) as conn:
            compiled_by, hold, error = conn.execute(
                "SELECT compiled_by, compile_hold, compiled_max_error "
                "FROM models_registry_modelversion"
            ).fetchone()
        assert compiled_by.startswith("job-engine@") and hold == "" and error <= 1e-6
        assert "models_registry.compile_models" in engine.log_text()
    finally:
        if engine is not None:
            engine.stop()
        live.stop()
