"""The prediction cache is read only where it pays (SERVING_PREDICTION_CACHE_MIN_MS).

A request whose prediction this worker has seen take less than the floor is computed
again rather than fetched: no round trip to Redis on its path. The throttle's counts then
ride with the next round trip (the alias stamps'), and still reach the shared total.
"""

import time
import uuid

import pytest
from django.core.cache import cache

from apikeys.models import ApiKey
from serving.predict.runtime import current
from tests.serving.conftest import key_client, predict

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_keys(settings):
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"w{uuid.uuid4().hex[:8]}"}
    }


def test_a_cheap_prediction_is_computed_again_and_an_expensive_one_fetched(bot, ops, xgb, settings):
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    settings.SERVING_PREDICTION_CACHE_MIN_MS = 1000  # every prediction here is cheaper
    first = predict(bot, "edge-xgb", body).json()
    second = predict(bot, "edge-xgb", body).json()
    # The first, of a size not predicted yet, was looked up and stored; the second was
    # computed without asking.
    assert (first["cached"], second["cached"]) == (False, False)
    assert first["predictions"] == second["predictions"]
    stats = ops.get("/api/v1/cache").json()["prediction_cache"]
    assert (stats["misses"], stats["hits"], stats["not_worth_a_lookup"]) == (1, 0, 1)
    assert stats["min_predict_ms"] == 1000

    settings.SERVING_PREDICTION_CACHE_MIN_MS = 0.000001  # now every prediction pays
    third = predict(bot, "edge-xgb", body).json()
    assert third["cached"] is True  # the first one's stored answer
    assert third["predictions"] == first["predictions"]


def test_each_size_has_its_own_estimate(bot, xgb, settings):
    trained, _ = xgb
    settings.SERVING_PREDICTION_CACHE_MIN_MS = 1000
    one = {"inputs": trained.probe[:1].tolist()}
    many = {"inputs": trained.probe.tolist()}  # 25 rows: another size class
    predict(bot, "edge-xgb", one)
    predict(bot, "edge-xgb", one)  # known cheap: no lookup
    before = current().prediction_cache.misses
    assert predict(bot, "edge-xgb", many).json()["cached"] is False
    assert current().prediction_cache.misses == before + 1, "a size not seen yet is looked up"


def test_the_throttles_counts_reach_the_shared_total_without_lookups(
    bot, xgb, settings, fresh_keys
):
    trained, _ = xgb
    body = {"inputs": trained.probe[:1].tolist()}
    settings.SERVING_PREDICTION_CACHE_MIN_MS = 1000
    settings.SERVING_PREDICT_RATE = "5/h"
    settings.SERVING_ALIAS_CHECK_MS = 1000  # no stamps due during the first requests
    current().resolver.check_stamps(force=True)
    statuses = [predict(bot, "edge-xgb", body).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    key = ApiKey.objects.get(name="bot")
    window = f"throttle:predict:key{key.pk}:{int(time.time() // 3600)}"
    shared_before = cache.get(window) or 0
    assert shared_before < 3, "the counts of requests without a lookup wait"
    settings.SERVING_ALIAS_CHECK_MS = 0  # the stamps are due: a round trip carries them
    assert [predict(bot, "edge-xgb", body).status_code for _ in range(4)] == [200, 200, 429, 429]
    assert cache.get(window) == 5
    other = key_client("predict", name="other-bot")
    assert predict(other, "edge-xgb", body).status_code == 200
