"""Recording stays off the request path: a real database outage (the connection cut by
a TCP proxy) and a real slow database (the records table locked by another session)
never hold a prediction; what cannot be written is dropped and counted.

The recorder's writer thread runs here as in a gunicorn worker, on its own connection.
"""

import time

import psycopg
import pytest
from django.db import connection, connections

from backoffice.core.ops.prometheus import exposition
from serving.models import PredictionRecord
from serving.predict.runtime import current
from tests.journal.test_capture_machine import proxied_database  # noqa: F401 - fixture
from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db(transaction=True)

# A prediction takes milliseconds; one that waited for the database would take the
# connect timeout or the lock's duration (seconds).
FAST = 0.25


@pytest.fixture
def writer(settings):
    settings.SERVING_RECORD_FLUSH_MS = 20
    settings.SERVING_RECORD_RETRY_SECONDS = 0.5
    settings.SERVING_KEY_CACHE_SECONDS = 3600  # the key check needs no database meanwhile
    settings.SERVING_PREDICTION_CACHE_TTL = 0
    current().recorder.background = True
    yield current().recorder
    current().recorder.background = False
    current().recorder.stop(timeout=10)  # and its connection closed


def timed_predictions(bot, count: int, start: int) -> list[float]:
    took = []
    for n in range(start, start + count):
        began = time.perf_counter()
        response = predict(bot, "edge-xgb", {"inputs": [[n, 0.1, 1.0, 0.5, 2.0]]})
        took.append(time.perf_counter() - began)
        assert response.status_code == 200, response.content
    return took


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def stored() -> int:
    connection.close()  # a fresh connection of the test's own (it may have been cut)
    return PredictionRecord.objects.count()


def test_a_database_outage_drops_and_counts_records_and_never_holds_a_prediction(
    proxied_database,  # noqa: F811
    writer,
    bot,
    xgb,
):
    proxy = proxied_database
    timed_predictions(bot, 20, 0)
    assert wait_for(lambda: writer.stats()["written"] == 20)
    assert stored() == 20

    proxy.cut()
    took = timed_predictions(bot, 50, 100)
    assert max(took) < FAST, f"a prediction waited {max(took):.3f} s during the outage"
    assert wait_for(lambda: writer.stats()["dropped_unavailable"] == 50)
    stats = writer.stats()
    assert stats["last_error"] and stats["written"] == 20

    proxy.restore()
    time.sleep(0.6)  # past SERVING_RECORD_RETRY_SECONDS
    timed_predictions(bot, 20, 200)
    assert wait_for(lambda: writer.stats()["written"] == 40)
    assert stored() == 40
    assert writer.stats()["last_error"] is None
    metrics = exposition().decode()
    dropped = [
        line
        for line in metrics.splitlines()
        if line.startswith('serving_prediction_records_total{outcome="dropped_unavailable"}')
    ]
    assert dropped and float(dropped[0].split()[-1]) >= 50, dropped


def test_a_slow_database_fills_the_queue_and_the_rest_are_dropped_not_waited_for(
    writer, bot, xgb, settings
):
    settings.SERVING_RECORD_QUEUE_MAX = 20
    timed_predictions(bot, 1, 0)
    assert wait_for(lambda: writer.stats()["written"] == 1)
    s = connections["default"].settings_dict
    with psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"]
    ) as locker:
        locker.execute("LOCK TABLE serving_predictionrecord IN ACCESS EXCLUSIVE MODE")
        took = timed_predictions(bot, 100, 1)
        held = writer.stats()
        locker.rollback()  # the lock goes: the writer's COPY goes through
    assert max(took) < FAST, f"a prediction waited {max(took):.3f} s for the locked table"
    assert held["dropped_full"] > 0 and held["queued"] <= 20
    assert wait_for(lambda: writer.stats()["queued"] == 0 and stored() == writer.stats()["written"])
    stats = writer.stats()
    assert stats["written"] + stats["dropped_full"] == 101
    assert stats["dropped_unavailable"] == 0


def test_an_alias_resolution_past_its_age_is_kept_while_the_database_is_down(
    proxied_database,  # noqa: F811
    writer,
    bot,
    xgb,
    monkeypatch,
    caplog,
):
    """A worker asks the database again which version an alias names once its memory of
    it is older than MAX_AGE (FALLBACK_MAX_AGE while the shared cache cannot be read).
    With the database down at that moment, predictions answered 503 (seen under load in
    make test); now the worker keeps serving what the database last said, says so in
    the log, and asks again a second later."""
    from serving.predict import hotswap

    timed_predictions(bot, 3, 0)
    monkeypatch.setattr(hotswap, "MAX_AGE", 0.2)
    proxied_database.cut()
    time.sleep(0.3)
    timed_predictions(bot, 10, 200)
    assert any("resolution kept" in r.getMessage() for r in caplog.records)
    proxied_database.restore()
