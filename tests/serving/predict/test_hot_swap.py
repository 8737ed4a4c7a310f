"""A moved alias reaches another worker through the stamp in the shared cache.

Each worker keeps its own resolutions; here a second Resolver stands for the other
worker (tests/serving/predict/test_hot_swap_live.py does it with two real gunicorn workers).
"""

import time

import pytest

from models_registry.services import alias_move
from serving.predict.hotswap import Resolver
from serving.predict.runtime import current
from tests.models_registry import factories
from tests.serving.conftest import register

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(xgb):
    _, v1 = xgb
    v2 = register(factories.xgboost_model(seed=1), "edge-xgb")
    return v1, v2


def wait_for_version(worker: Resolver, expected: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if worker.resolve(model="edge-xgb", alias="production", version=None).version == expected:
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"still not version {expected} after {timeout} s")


def test_another_worker_serves_the_moved_alias_within_the_check_interval(
    two_versions, settings, django_capture_on_commit_callbacks
):
    settings.SERVING_ALIAS_CHECK_MS = 100
    v1, v2 = two_versions
    other = Resolver()
    assert other.resolve(model="edge-xgb", alias="production", version=None).version == 1
    with django_capture_on_commit_callbacks(execute=True):
        alias_move(model=v1.model, alias="production", version=v2)
    assert wait_for_version(other, 2, timeout=1.0) < 0.5
    served = current().resolver.resolve(model="edge-xgb", alias="production", version=None)
    assert served.version == 2


def test_without_the_shared_cache_a_move_still_arrives_within_a_second_or_so(
    two_versions, own_redis, settings, django_capture_on_commit_callbacks
):
    v1, v2 = two_versions
    other = Resolver()
    assert other.resolve(model="edge-xgb", alias="production", version=None).version == 1
    own_redis.stop()
    other.check_stamps(force=True)  # notices the outage
    with django_capture_on_commit_callbacks(execute=True):
        alias_move(model=v1.model, alias="production", version=v2)
    assert wait_for_version(other, 2, timeout=2.0) <= 1.2


def test_resolutions_by_number_never_change_and_need_no_query(
    two_versions, django_assert_num_queries
):
    other = Resolver()
    other.resolve(model="edge-xgb", alias=None, version=2)
    with django_assert_num_queries(0):
        for _ in range(20):
            assert other.resolve(model="edge-xgb", alias=None, version=2).version == 2
