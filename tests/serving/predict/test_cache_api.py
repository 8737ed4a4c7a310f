"""GET/POST/DELETE /cache: loaded models, statistics, warm, evict; scope cache:admin."""

import pytest

from serving.predict.runtime import current
from tests.serving.conftest import predict

pytestmark = pytest.mark.django_db


def test_it_lists_loaded_models_with_version_load_time_hits_and_memory(ops, bot, xgb):
    trained, version = xgb
    for _ in range(3):
        predict(bot, "edge-xgb", {"inputs": (trained.probe + _).tolist()})
    state = ops.get("/api/v1/cache").json()
    (loaded,) = state["loaded"]
    assert (loaded["model"], loaded["version"], loaded["hits"]) == ("edge-xgb", 1, 3)
    assert loaded["load_ms"] > 0 and loaded["loaded_at"]
    assert loaded["memory_bytes"] == version.size == state["memory_bytes"]
    stats = state["prediction_cache"]
    assert (stats["misses"], stats["hits"], stats["backend"]) == (3, 0, "RedisCache")
    assert state["limits"]["max_models"] >= 1


def test_post_warms_every_production_alias_or_one_version(ops, xgb, lgbm):
    response = ops.post("/api/v1/cache", {}, format="json")
    assert response.status_code == 200
    assert sorted(r["model"] for r in response.json()["warmed"]) == ["edge-lgbm", "edge-xgb"]
    assert response.json()["broadcast"] is True
    assert {e.served.model for e in current().predictors.snapshot()} == {"edge-lgbm", "edge-xgb"}
    one = ops.post("/api/v1/cache", {"model": "edge-xgb", "version": 1}, format="json").json()
    assert one["warmed"] == [
        {
            "model": "edge-xgb",
            "version": 1,
            "loaded": True,
            "load_ms": one["warmed"][0]["load_ms"],
            "predictor": "booster",
        }
    ]
    missing = ops.post("/api/v1/cache", {"model": "ghost"}, format="json")
    assert missing.status_code == 404
    bad = ops.post("/api/v1/cache", {"version": 1}, format="json")
    assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == ["model"]


def test_delete_evicts_one_model_or_all(ops, xgb, lgbm):
    ops.post("/api/v1/cache", {}, format="json")
    one = ops.delete("/api/v1/cache?model=edge-xgb").json()
    assert one["evicted"] == ["edge-xgb@1"]
    assert [e.served.model for e in current().predictors.snapshot()] == ["edge-lgbm"]
    assert ops.delete("/api/v1/cache").json()["evicted"] == ["edge-lgbm@1"]
    assert current().predictors.snapshot() == []


def test_eviction_also_drops_cached_predictions(ops, bot, xgb):
    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    predict(bot, "edge-xgb", body)
    assert predict(bot, "edge-xgb", body).json()["cached"] is True
    ops.delete("/api/v1/cache")
    assert predict(bot, "edge-xgb", body).json()["cached"] is False


def test_the_cache_endpoints_need_the_cache_admin_scope_or_the_alias_permission(
    bot, client, staff, django_user_model
):
    from django.contrib.auth.models import Permission

    assert bot.get("/api/v1/cache").status_code == 403
    assert bot.delete("/api/v1/cache").status_code == 403
    assert client.get("/api/v1/cache").status_code == 401
    assert staff.get("/api/v1/cache").status_code == 403  # staff, without the permission
    user = django_user_model.objects.get(username="sue")
    user.user_permissions.add(Permission.objects.get(codename="change_modelalias"))
    assert staff.get("/api/v1/cache").status_code == 200


def test_the_first_prediction_of_a_worker_warms_the_production_aliases(bot, xgb, lgbm):
    current().reset()  # a fresh worker: its first prediction warms it
    trained, _ = xgb
    predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    assert {e.served.model for e in current().predictors.snapshot()} == {"edge-lgbm", "edge-xgb"}


def test_the_warm_up_hook_never_raises_on_a_broken_model(xgb, lgbm, artifact_store):
    _, version = xgb
    (artifact_store / version.artifact_path).write_bytes(b"broken")
    report = current().warm()
    assert {(r["model"], r["loaded"]) for r in report} == {("edge-xgb", False), ("edge-lgbm", True)}
