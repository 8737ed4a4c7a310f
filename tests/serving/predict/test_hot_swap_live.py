"""Alias hot swap across two real gunicorn workers, without a restart.

The workers share the tier's Redis; an operator moves `production` with manage.py, and
both workers serve the new version within a second.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.live_server import LiveServer, own_cluster
from tests.models_registry import factories


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("hot_swap")


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    scratch = tmp_path_factory.mktemp("hot-swap")
    live = LiveServer(cluster, scratch, SERVING_ALIAS_CHECK_MS="100", SERVING_PREDICT_RATE="off")
    live.manage("migrate", "--noinput")
    for seed, alias in ((0, ["--alias", "production"]), (1, [])):
        path = scratch / f"v{seed}.json"
        path.write_bytes(factories.xgboost_model(seed=seed).data)
        live.manage("register_model", str(path), "--name", "edge", *alias)
    live.key = live.create_key("bot", "predict")
    live.start(migrate=False)
    # Each worker warms up on its first request (imports, loads): not part of the drill.
    body = {"inputs": factories.xgboost_model().probe[:1].tolist()}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: ask(live, body, timeout=120), range(8)))
    yield live
    live.stop()


def ask(server, body, timeout: float = 10) -> tuple[float, str, int]:
    request_id = uuid.uuid4().hex
    sent = time.monotonic()
    response = requests.post(
        f"{server.url}/api/v1/models/edge/predict",
        json=body,
        headers={
            "Authorization": f"Api-Key {server.key}",
            "X-Request-ID": request_id,
            "Connection": "close",  # keep-alive stalls on this machine's loopback
        },
        timeout=timeout,
    )
    assert response.status_code == 200, response.text
    return sent, request_id, response.json()["version"]


def workers_of(server, request_ids) -> dict[str, int]:
    """request id -> the pid of the worker that answered it (from its prediction line)."""
    wanted = set(request_ids)

    def answered(lines):
        return {
            line["request_id"]: line["worker_pid"]
            for line in lines
            if line.get("message") == "prediction" and line.get("request_id") in wanted
        }

    # Lines are written just after their answers: wait until each request has its own.
    return answered(server.log_lines_once(lambda lines: len(answered(lines)) == len(wanted)))


def poll(server, body, seconds: float, pool) -> list[tuple[float, str, int]]:
    answers = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answers += pool.map(lambda _: ask(server, body), range(4))
        time.sleep(0.02)
    return answers


def test_both_workers_serve_the_moved_alias_within_a_second(server):
    body = {"inputs": factories.xgboost_model().probe[:3].tolist()}
    with ThreadPoolExecutor(4) as pool:
        before = poll(server, body, 1.5, pool)
        time.sleep(0.3)  # the log lines of the last answers
        pids_before = set(workers_of(server, [r for _, r, _ in before]).values())
        assert {v for _, _, v in before} == {1}
        assert len(pids_before) == 2, f"both workers answer: {pids_before}"

        server.manage("move_alias", "edge", "production", "2", "--reason", "hot swap drill")
        moved = time.monotonic()
        after = poll(server, body, 1.5, pool)

    time.sleep(0.3)
    pids = workers_of(server, [r for _, r, _ in after])
    late = [(sent, rid, v) for sent, rid, v in after if sent - moved >= 1.0]
    assert late and all(v == 2 for _, _, v in late), "every answer a second after the move is v2"
    assert {pids[rid] for _, rid, _ in late if rid in pids} == pids_before
    first_new = {}
    for sent, rid, version in after:
        if version == 2 and rid in pids:
            first_new.setdefault(pids[rid], sent - moved)
    assert set(first_new) == pids_before
    assert max(first_new.values()) < 1.0, first_new
    assert server.process.poll() is None, "no restart"
