"""The project under gunicorn, on a PostgreSQL cluster of its own that the test stops.

Every log line is JSON, the request id comes back in the response and in the log,
and /readyz turns 503 when PostgreSQL stops and 200 when it returns, without a restart.
"""

import json
import os
import time

import pytest
import requests

from tests.live_server import own_cluster
from tests.support import GunicornServer, clean_environment


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


@pytest.fixture(scope="module")
def cluster():
    yield from own_cluster("gunicorn_drill")


def server_environment(cluster, **overrides: str) -> dict[str, str]:
    return clean_environment(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "x" * 60),
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=cluster.url(with_password=False),
        POSTGRES_PASSWORD=cluster.password,
        REDIS_URL=os.environ["REDIS_URL"],
        REDIS_PASSWORD=os.environ.get("REDIS_PASSWORD", ""),
        **overrides,
    )


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    env = server_environment(cluster, DB_CONNECT_TIMEOUT="2")
    gunicorn = GunicornServer(env, tmp_path_factory.mktemp("gunicorn"))
    gunicorn.prepare()
    gunicorn.start()
    try:
        yield {
            "url": gunicorn.url,
            "process": gunicorn.process,
            "logs": gunicorn.logs,
            "env": gunicorn.env,
        }
    finally:
        gunicorn.stop()


def get(server, path, **headers):
    # Connection: close on every request (keep-alive stalls on this machine's loopback).
    return requests.get(
        server["url"] + path, headers={"Connection": "close", **headers}, timeout=15
    )


def log_lines(server) -> list[dict]:
    text = server["logs"].read_text()
    parsed = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"log line {number} is not JSON: {line!r}")
    return parsed


def test_the_request_id_comes_back_in_the_response_and_the_log(server):
    response = get(
        server, "/api/v1/trades", **{"X-Request-ID": "drill-7f3a", "User-Agent": "drill-bot/1"}
    )
    assert response.status_code == 401, response.text
    assert response.headers["X-Request-ID"] == "drill-7f3a"
    time.sleep(0.3)
    lines = [line for line in log_lines(server) if line.get("request_id") == "drill-7f3a"]
    # One line for the request, Django's; gunicorn's access line is off by default.
    assert [line["logger"] for line in lines] == ["backoffice.request"], lines
    (line,) = lines
    assert line["message"] == "request finished"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/trades", 401)
    assert line["remote_addr"] == "127.0.0.1"
    assert line["user_agent"] == "drill-bot/1"
    assert line["response_bytes"] == len(response.content)
    assert line["user"] == "anonymous" and line["duration_ms"] > 0


def test_gunicorn_adds_its_access_line_when_asked(cluster, tmp_path_factory):
    env = server_environment(cluster, GUNICORN_ACCESS_LOG="1")
    gunicorn = GunicornServer(env, tmp_path_factory.mktemp("gunicorn-access"), workers=1)
    gunicorn.start()  # the module's server has migrated this cluster
    try:
        server = {"url": gunicorn.url, "logs": gunicorn.logs}
        sent_key = "leaked-key-material-789"
        headers = {"X-Request-ID": "drill-8b4c", "Authorization": f"Api-Key {sent_key}"}
        assert get(server, "/readyz", **headers).status_code == 200
        time.sleep(0.3)
        access = [line for line in log_lines(server) if line.get("request_id") == "drill-8b4c"]
        assert [line["logger"] for line in access] == ["gunicorn.access"]
        assert (access[0]["path"], access[0]["status"]) == ("/readyz", "200")
        assert sent_key not in gunicorn.logs.read_text()
    finally:
        gunicorn.stop()


def test_every_log_line_is_json_and_carries_no_secret(server, cluster):
    get(server, "/healthz", Authorization="Api-Key leaked-key-material-123")
    assert get(server, "/admin/login/").status_code == 200
    time.sleep(0.3)
    lines = log_lines(server)
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    assert all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    text = server["logs"].read_text()
    for secret in (
        cluster.password,
        server["env"]["DJANGO_SECRET_KEY"],
        server["env"]["REDIS_PASSWORD"] or "no-redis-password",
        "leaked-key-material-123",
    ):
        assert secret not in text


def test_error_bodies_and_the_schema_carry_no_secret(server, cluster):
    sent_key = "leaked-key-material-456"
    bad_key = {"Authorization": f"Api-Key {sent_key}"}
    answers = [
        get(server, "/api/v1/trades", **bad_key),  # 401
        get(server, "/api/v1/metrics?since=not-a-time", **bad_key),
        get(server, "/api/v1/models/no-such-model"),  # 401 before 404
        get(server, "/api/v1/no/such/route"),  # the API's JSON 404
        get(server, "/admin/does-not-exist/"),
        get(server, "/api/schema/", **bad_key),
        requests.post(
            server["url"] + "/api/v1/trades",
            data=b"{not json",
            headers={"Content-Type": "application/json", "Connection": "close", **bad_key},
            timeout=15,
        ),
    ]
    assert {answer.status_code for answer in answers} >= {401, 404}
    for answer in answers:
        body = answer.text
        for secret in (
            cluster.password,
            server["env"]["DJANGO_SECRET_KEY"],
            server["env"]["REDIS_PASSWORD"] or "no-redis-password",
            sent_key,
        ):
            assert secret not in body, answer.request.url
    schema = get(server, "/api/schema/?format=json")
    assert schema.status_code == 200 and "ApiKeyAuth" in schema.text
    for secret in (cluster.password, server["env"]["DJANGO_SECRET_KEY"]):
        assert secret not in schema.text


def test_readyz_follows_postgres_down_and_back_without_a_restart(server, cluster):
    master_pid = server["process"].pid
    assert get(server, "/readyz").status_code == 200
    cluster.stop("fast")
    try:
        started = time.monotonic()
        down = get(server, "/readyz")
        elapsed = time.monotonic() - started
        assert down.status_code == 503
        assert down.json()["failed"] == ["database"]
        assert elapsed < 6, f"readyz took {elapsed:.1f} s with the database down"
        assert get(server, "/healthz").status_code == 200
    finally:
        cluster.start()
    assert wait_for(lambda: get(server, "/readyz").status_code == 200, 20)
    assert server["process"].pid == master_pid and server["process"].poll() is None
    assert "readiness check failed" in [line["message"] for line in log_lines(server)]

    # Each worker logs its own transitions: a worker that saw the outage says it
    # recovered at its next probe, whichever worker answered the first 200.
    def recovered_logged():
        get(server, "/readyz")
        return "readiness check recovered" in [line["message"] for line in log_lines(server)]

    assert wait_for(recovered_logged, 20)
