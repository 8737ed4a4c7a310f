"""With Redis down, predictions still succeed (only slower), the throttle fails open,
and alias moves still reach the worker; when Redis returns, the cache is used again."""

import logging
import time

import pytest

from backoffice.core import cache_guard
from models_registry.services import alias_move
from tests.models_registry import factories
from tests.serving.conftest import predict, register

pytestmark = pytest.mark.django_db


def test_predictions_succeed_while_redis_is_down_and_use_it_again_when_back(
    bot, xgb, own_redis, settings, caplog, django_capture_on_commit_callbacks
):
    trained, v1 = xgb
    body = {"inputs": trained.probe.tolist()}
    assert predict(bot, "edge-xgb", body).json()["cached"] is False
    assert predict(bot, "edge-xgb", body).json()["cached"] is True

    own_redis.stop()
    settings.SERVING_PREDICT_RATE = "1000/s"  # the throttle needs the cache: it fails open
    with caplog.at_level(logging.WARNING, logger="backoffice.cache"):
        started = time.monotonic()
        for _ in range(5):
            response = predict(bot, "edge-xgb", body)
            assert response.status_code == 200, response.content
            assert response.json()["cached"] is False
            assert response.json()["predictions"] == pytest.approx(trained.expected, abs=1e-6)
        assert time.monotonic() - started < 5
    warnings = [r for r in caplog.records if r.getMessage().startswith("shared cache unavailable")]
    assert len(warnings) == 1, "one warning per outage, not one per request"

    # An alias move with the stamps unreadable reaches the worker within a second.
    v2 = register(factories.xgboost_model(seed=1), "edge-xgb")
    with django_capture_on_commit_callbacks(execute=True):
        alias_move(model=v1.model, alias="production", version=v2)
    time.sleep(1.1)
    assert predict(bot, "edge-xgb", body).json()["version"] == 2

    own_redis.start()
    time.sleep(0.4)  # past SERVING_CACHE_RETRY_SECONDS
    # The prediction made while Redis was down is written with this request's lookup.
    assert predict(bot, "edge-xgb", body).status_code == 200
    assert predict(bot, "edge-xgb", body).json()["cached"] is True
    assert cache_guard.guard.available


def test_the_cache_endpoint_reports_the_outage(ops, bot, xgb, own_redis):
    trained, _ = xgb
    own_redis.stop()
    predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    stats = ops.get("/api/v1/cache").json()["prediction_cache"]
    assert stats["available"] is False
    assert stats["errors"] >= 1


def test_a_redis_restart_between_requests_costs_no_outage(bot, xgb, own_redis, caplog):
    # Every pooled connection dies with the restart; the pool opens a fresh one as it
    # hands it out, so the next prediction still reads the cache (no outage, no warning).
    from serving.predict.runtime import current

    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    assert predict(bot, "edge-xgb", body).json()["cached"] is False
    assert predict(bot, "edge-xgb", body).json()["cached"] is True
    own_redis.stop()
    own_redis.start()
    current().exchange.queue_set("edge-restart-probe", [1.0], 60)
    with caplog.at_level(logging.WARNING, logger="backoffice.cache"):
        found = current().exchange.run(["edge-restart-probe"])
        answer = predict(bot, "edge-xgb", body)
    assert found == {"edge-restart-probe": [1.0]}, "the queued write rode with the read"
    assert answer.status_code == 200
    assert answer.json()["cached"] is False  # the restarted Redis is empty
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert cache_guard.guard.available
