"""The per-worker LRU of loaded models: bounded by count and by bytes."""

import pytest

from serving.predict.runtime import current
from serving.served import ServedVersion
from tests.models_registry import factories
from tests.serving.conftest import register

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture
def versions():
    trained = factories.xgboost_model()
    return [ServedVersion.of(register(trained, f"m{i}")) for i in range(3)]


def loaded():
    return [entry.served.model for entry in current().predictors.snapshot()]


def test_it_keeps_at_most_the_configured_number_evicting_the_least_recently_used(
    versions, settings
):
    settings.SERVING_PREDICTOR_CACHE_MODELS = 2
    current().predictors.get(versions[0])
    current().predictors.get(versions[1])
    current().predictors.get(versions[0])  # m0 is now the most recently used
    current().predictors.get(versions[2])
    assert loaded() == ["m2", "m0"]
    assert current().predictors.evictions == 1


def test_it_keeps_within_the_byte_bound_but_always_serves_the_model_asked_for(versions, settings):
    size = versions[0].size
    settings.SERVING_PREDICTOR_CACHE_MB = (size * 1.5) / (1024 * 1024)
    current().predictors.get(versions[0])
    current().predictors.get(versions[1])
    assert loaded() == ["m1"]
    settings.SERVING_PREDICTOR_CACHE_MB = (size * 0.5) / (1024 * 1024)
    entry = current().predictors.get(versions[2])
    assert loaded() == ["m2"], "a model larger than the bound is still served"
    assert entry.hits == 1


def test_a_hit_does_not_load_again(versions):
    first = current().predictors.get(versions[0])
    second = current().predictors.get(versions[0])
    assert first is second and first.hits == 2 and current().predictors.loads == 1
