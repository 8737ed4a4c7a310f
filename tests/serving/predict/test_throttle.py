"""The predict endpoint is throttled per API key, in the shared cache."""

import uuid

import pytest

from tests.serving.conftest import key_client, predict

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_keys(settings):
    """A key prefix of this test's own, so counters of earlier runs never count."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}"}
    }


def test_a_key_over_its_rate_gets_429_with_retry_after_and_others_do_not(
    bot, xgb, settings, fresh_keys
):
    settings.SERVING_PREDICT_RATE = "3/h"
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    assert [predict(bot, "edge-xgb", body).status_code for _ in range(4)] == [200, 200, 200, 429]
    throttled = predict(bot, "edge-xgb", body)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["code"] == "throttled"
    other = key_client("predict", name="other-bot")
    assert predict(other, "edge-xgb", body).status_code == 200


def test_the_rate_can_be_turned_off(bot, xgb, settings, fresh_keys):
    settings.SERVING_PREDICT_RATE = "off"
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    assert {predict(bot, "edge-xgb", body).status_code for _ in range(5)} == {200}
