"""A revoked key stops predicting at the worker's next read of the stamps, whatever its
key memory (SERVING_KEY_CACHE_SECONDS) says (issue 26, item 3).

The revocation is made the way another process makes it: it changes the database and
the shared cache, never this worker's memory. With the old memory, a key remembered
for an hour predicted for an hour after its revocation.
"""

import time

import pytest

from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from backoffice.core import cache_guard
from serving.predict.auth import remembered_key
from serving.predict.runtime import current
from tests.serving.conftest import key_client, predict

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_memory(settings):
    settings.SERVING_KEY_CACHE_SECONDS = 3600


def header_of(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"]


def test_a_revoked_key_is_refused_at_the_next_stamp_read(xgb, settings, long_memory):
    settings.SERVING_ALIAS_CHECK_MS = 0  # the stamps are read before every remembered key
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    bot = key_client("predict", name="soon-revoked")
    assert predict(bot, "edge-xgb", body).status_code == 200
    assert predict(bot, "edge-xgb", body).status_code == 200
    assert remembered_key(header_of(bot)) is not None  # the short path would take it
    api_key_revoke(key=ApiKey.objects.get(name="soon-revoked"))
    assert remembered_key(header_of(bot)) is None
    assert predict(bot, "edge-xgb", body).status_code == 401


def test_between_stamp_reads_the_revocation_waits_at_most_the_check_interval(
    xgb, settings, long_memory
):
    settings.SERVING_ALIAS_CHECK_MS = 200
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    bot = key_client("predict", name="soon-revoked")
    assert predict(bot, "edge-xgb", body).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(name="soon-revoked"))
    time.sleep(0.25)
    assert predict(bot, "edge-xgb", body).status_code == 401


def test_while_the_stamps_cannot_be_read_every_key_is_verified_again(xgb, settings, long_memory):
    """Redis down: a revocation could not be announced, so no memory is trusted and the
    database decides on every request."""
    settings.SERVING_ALIAS_CHECK_MS = 0
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    bot = key_client("predict", name="soon-revoked")
    assert predict(bot, "edge-xgb", body).status_code == 200
    cache_guard.guard._failed("test", ConnectionError("Redis is down"))  # an outage
    try:
        assert remembered_key(header_of(bot)) is None
        ApiKey.objects.filter(name="soon-revoked").update(revoked_at="2026-03-02T09:00:00Z")
        assert predict(bot, "edge-xgb", body).status_code == 401
    finally:
        cache_guard.guard.reset()


def test_a_key_stays_remembered_when_no_revocation_was_announced(xgb, settings, long_memory):
    settings.SERVING_ALIAS_CHECK_MS = 0
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    bot = key_client("predict", name="kept")
    assert predict(bot, "edge-xgb", body).status_code == 200
    for _ in range(3):
        current().resolver.check_stamps(force=True)
        assert remembered_key(header_of(bot)) is not None
