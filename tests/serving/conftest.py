"""Fixtures of the serving tests: a private artifact store, fresh per-process serving
state, registered models and the clients that call the API.

Personas: ``bot`` (an API key with scope predict), ``ops`` (scope cache:admin),
``reader`` (a key without either), ``staff`` (an admin session).
"""

import numpy as np
import pytest
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from models_registry.services import model_register
from serving.predict.runtime import current
from tests.harness.services import RedisServer
from tests.models_registry import factories


@pytest.fixture(autouse=True)
def artifact_store(settings, tmp_path):
    settings.MODEL_STORAGE_DIR = tmp_path / "models"
    return settings.MODEL_STORAGE_DIR


@pytest.fixture(autouse=True)
def fresh_serving_state(settings):
    """Each test starts like a fresh worker; no throttle unless a test sets one."""
    settings.SERVING_PREDICT_RATE = "off"
    # The tests of the cache read it for every request, whatever the model costs;
    # tests/serving/predict/test_cache_worth.py tests reading it only where it pays.
    settings.SERVING_PREDICTION_CACHE_MIN_MS = 0

    # As a worker whose warm-up is done: the warm-up tests ask for it explicitly.
    current().reset(warmed=True)
    # A fresh prediction-cache generation: no entry of an earlier test or run is hit.
    current().resolver.announce_evict(model=None)
    current().resolver.check_stamps(force=True)  # as a worker that has served before
    yield
    current().reset()


def key_client(*scopes: str, name: str) -> APIClient:
    _, raw = api_key_create(name=name, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def bot(db):
    return key_client("predict", name="bot")


@pytest.fixture
def ops(db):
    return key_client("cache:admin", name="ops")


@pytest.fixture
def reader(db):
    return key_client("trades:read", name="reader")


@pytest.fixture
def staff(db, django_user_model):
    user = django_user_model.objects.create_user("sue", password="pw-sue-1", is_staff=True)
    client = APIClient()
    client.force_login(user)
    return client


def register(trained, name, **kwargs):
    return model_register(data=trained.data, filename=trained.filename, name=name, **kwargs)


@pytest.fixture
def xgb(db):
    trained = factories.xgboost_model()
    return trained, register(trained, "edge-xgb", alias="production")


@pytest.fixture
def lgbm(db):
    trained = factories.lightgbm_model()
    return trained, register(trained, "edge-lgbm", alias="production")


@pytest.fixture
def pipeline(db):
    """A scikit-learn pipeline as staff upload it: a skops file."""
    trained = factories.sklearn_pipeline()
    return trained, register(
        trained, "edge-sklearn", alias="production", features=",".join(trained.features)
    )


@pytest.fixture
def trusted_pickle(db):
    """The same pipeline pickled, registered by an operator with --trust-pickle."""
    trained = factories.sklearn_pipeline_joblib()
    return trained, register(
        trained,
        "edge-pickle",
        alias="production",
        features=",".join(trained.features),
        trust_pickle=True,
    )


def instances(trained, rows: np.ndarray | None = None) -> list[dict]:
    rows = trained.probe if rows is None else rows
    return [dict(zip(trained.features, map(float, row), strict=True)) for row in rows]


def predict(client, model: str, body, query: str = ""):
    return client.post(f"/api/v1/models/{model}/predict{query}", body, format="json")


@pytest.fixture
def own_redis(settings):
    """A Redis of the test's own, to stop and start (the tier's Redis stays up)."""
    server = RedisServer().start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://:{server.password}@127.0.0.1:{server.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.SERVING_CACHE_RETRY_SECONDS = 0.3
    settings.SERVING_ALIAS_CHECK_MS = 0
    yield server
    server.destroy()


def production_health(*, days: int | None = None):
    """Every model's production version, judged, by model name (as the admin's
    model-health list shows them)."""
    from models_registry.models import ModelAlias
    from serving.live.figures import versions_performance

    aliases = ModelAlias.objects.filter(name="production").select_related("version__model")
    versions = [alias.version for alias in aliases.order_by("model__name")]
    judged = versions_performance(versions=versions, days=days)
    return [judged[v.pk] for v in versions]
