"""/healthz and /readyz against the real database and the real Redis."""

import os
import signal
import time

import pytest
from django.db import connection

from backoffice.core.ops import health
from tests.harness.services import RedisServer, free_port


def redis_cache(url: str, *, socket_timeout: float = 0.5) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": socket_timeout},
        }
    }


@pytest.mark.smoke
def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.smoke
@pytest.mark.django_db
def test_readyz_is_ready_when_database_migrations_and_cache_answer(staff_client):
    response = staff_client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert {"database", "cache"} <= set(body["checks"])
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_uses_redis_in_this_tier(staff_client):
    body = staff_client.get("/readyz").json()
    assert body["checks"]["cache"]["backend"] == "RedisCache"


@pytest.mark.django_db
def test_readyz_names_the_cache_when_redis_is_unreachable(staff_client, settings):
    client = staff_client
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["cache"]
    assert "Connection" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert elapsed < 3


@pytest.mark.django_db
def test_readyz_gives_up_on_a_hung_redis_within_its_deadline(staff_client, settings, monkeypatch):
    client = staff_client
    redis = RedisServer().start()
    try:
        os.kill(redis.process.pid, signal.SIGSTOP)  # accepts connections, never answers
        settings.CACHES = redis_cache(redis.url(), socket_timeout=30)
        monkeypatch.setattr(health, "READINESS_TIMEOUT", 1.0)
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)
        redis.destroy()
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["cache"]
    assert "no answer within 1 s" in body["checks"]["cache"]["error"]
    assert elapsed < 2.5


@pytest.mark.django_db(transaction=True)
def test_readyz_names_an_unapplied_migration(staff_client, monkeypatch):
    client = staff_client
    monkeypatch.setattr(health, "_migrations_ok_until", 0.0)
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = 'sessions' AND name = '0001_initial' "
            "RETURNING applied"
        )
        (applied,) = cursor.fetchone()
    try:
        response = client.get("/readyz")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                ["sessions", "0001_initial", applied],
            )
    body = response.json()
    assert response.status_code == 503
    assert body["failed"] == ["database"]
    assert "sessions.0001_initial" in body["checks"]["database"]["error"]
    assert client.get("/readyz").status_code == 200


def test_a_failing_check_registered_by_an_app_turns_readyz_503(staff_client, monkeypatch):
    client = staff_client

    def backlog():
        raise health.CheckFailed("3 trades wait in the spool")

    monkeypatch.setitem(health._checks, "spool", backlog)
    body = client.get("/readyz").json()
    assert body["failed"] == ["spool"]
    assert body["checks"]["spool"]["error"] == "CheckFailed: 3 trades wait in the spool"


@pytest.mark.django_db
def test_the_public_readyz_says_only_ready_or_not_per_check(client, settings):
    """Issue: the public /readyz showed the database's host, port and error text."""
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{free_port()}/0")
    public = client.get("/readyz")
    assert public.status_code == 503
    body = public.json()
    assert body["checks"]["cache"] == "failed" and body["checks"]["database"] == "ok"
    assert body["failed"] == ["cache"]
    assert "127.0.0.1" not in public.content.decode() and "error" not in public.content.decode()
