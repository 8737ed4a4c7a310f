"""The API's predictions are the model's own numbers, in both body forms, cached or not."""

import json

import numpy as np
import pytest

from models_registry.services import alias_move
from tests.models_registry import factories
from tests.serving.conftest import instances, predict, register

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fixture", ["xgb", "lgbm", "pipeline", "trusted_pickle"])
def test_it_returns_the_models_own_predictions_to_1e_6(request, bot, fixture):
    trained, version = request.getfixturevalue(fixture)
    response = predict(bot, version.model.name, {"instances": instances(trained)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["model"], body["version"], body["alias"]) == (version.model.name, 1, "production")
    assert body["cached"] is False
    assert len(body["predictions"]) == len(trained.expected)
    np.testing.assert_allclose(body["predictions"], trained.expected, rtol=0, atol=1e-6)


def test_both_body_forms_give_the_same_numbers(bot, xgb):
    trained, _ = xgb
    by_name = predict(bot, "edge-xgb", {"instances": instances(trained)}).json()
    # Keys in another order, integers where the value allows: the same rows.
    shuffled = [dict(reversed(list(row.items()))) for row in instances(trained)]
    in_order = predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()}).json()
    again = predict(bot, "edge-xgb", {"instances": shuffled}).json()
    assert by_name["predictions"] == in_order["predictions"] == again["predictions"]
    np.testing.assert_allclose(in_order["predictions"], trained.expected, atol=1e-6)


def test_a_repeated_input_is_answered_from_the_cache_with_the_same_numbers(bot, lgbm):
    trained, _ = lgbm
    first = predict(bot, "edge-lgbm", {"inputs": trained.probe.tolist()}).json()
    second = predict(bot, "edge-lgbm", {"instances": instances(trained)}).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["predictions"] == second["predictions"]


def test_xgboost_ubj_regression_values_are_exact(bot):
    trained = factories.xgboost_ubj_model()
    register(trained, "edge-reg", alias="production")
    body = predict(bot, "edge-reg", {"inputs": trained.probe.tolist()}).json()
    np.testing.assert_allclose(body["predictions"], trained.expected, atol=1e-6)


def test_version_and_alias_select_what_is_served(bot, xgb):
    trained, v1 = xgb
    other = factories.xgboost_model(seed=1)
    v2 = register(other, "edge-xgb")
    alias_move(model=v1.model, alias="staging", version=v2)
    rows = {"inputs": trained.probe.tolist()}
    by_alias = predict(bot, "edge-xgb", rows, "?alias=staging").json()
    by_version = predict(bot, "edge-xgb", rows, "?version=2").json()
    default = predict(bot, "edge-xgb", rows).json()
    assert (by_alias["version"], by_alias["alias"]) == (2, "staging")
    assert (by_version["version"], by_version["alias"]) == (2, None)
    assert default["version"] == 1
    np.testing.assert_allclose(by_version["predictions"], other.expected, atol=1e-6)
    np.testing.assert_allclose(default["predictions"], trained.expected, atol=1e-6)


def test_ten_thousand_rows_are_served(bot, lgbm):
    trained, _ = lgbm
    rows = np.tile(trained.probe, (400, 1))  # 10,000 rows
    response = predict(bot, "edge-lgbm", {"inputs": rows.tolist()})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 10_000


def test_a_model_managers_session_may_predict_and_the_models_are_listed(
    staff, xgb, lgbm, django_user_model
):
    from django.contrib.auth.models import Permission

    trained, _ = xgb
    body = {"inputs": trained.probe.tolist()}
    assert predict(staff, "edge-xgb", body).status_code == 403  # staff, not a model manager
    django_user_model.objects.get(username="sue").user_permissions.add(
        *Permission.objects.filter(codename__in=["view_modelversion", "view_registeredmodel"])
    )
    assert predict(staff, "edge-xgb", body).status_code == 200
    listed = staff.get("/api/v1/models").json()
    assert [(m["name"], m["aliases"]) for m in listed] == [
        ("edge-lgbm", {"production": 1}),
        ("edge-xgb", {"production": 1}),
    ]


def test_a_models_page_shows_versions_aliases_schema_and_metrics(bot, db):
    trained = factories.xgboost_model()
    register(trained, "edge", alias="production", metrics={"auc": 0.71})
    register(factories.xgboost_model(seed=1), "edge", alias="staging")
    detail = bot.get("/api/v1/models/edge").json()
    assert detail["aliases"] == {"production": 1, "staging": 2}
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    first = detail["versions"][1]
    assert [f["name"] for f in first["feature_schema"]] == factories.FEATURES
    assert (first["metrics"], first["aliases"], first["created_by"]) == (
        {"auc": 0.71},
        ["production"],
        "operator",
    )
    assert bot.get("/api/v1/models/ghost").status_code == 404


def test_each_prediction_is_logged_with_model_version_rows_cache_and_duration(bot, xgb, caplog):
    trained, _ = xgb
    with caplog.at_level("INFO", logger="serving.predictions"):
        predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
        predict(bot, "edge-xgb", {"inputs": trained.probe.tolist()})
    lines = [r for r in caplog.records if r.getMessage() == "prediction"]
    assert [(r.model, r.version, r.rows, r.cache) for r in lines] == [
        ("edge-xgb", 1, 25, "miss"),
        ("edge-xgb", 1, 25, "hit"),
    ]
    assert all(r.duration_ms > 0 for r in lines)
    assert "Api-Key" not in json.dumps([r.__dict__ for r in lines], default=str)


def test_a_large_repeated_body_is_answered_by_its_bytes_and_an_equivalent_one_by_its_rows(
    bot, xgb, monkeypatch
):
    from serving import inputs
    from serving.predict import services

    trained, _ = xgb
    rows = np.tile(trained.probe, (12, 1))  # 300 rows, well over the raw-key size
    parsed = []
    real_parse = inputs.parse_rows
    monkeypatch.setattr(
        services, "parse_rows", lambda *a, **k: parsed.append(1) or real_parse(*a, **k)
    )
    first = predict(bot, "edge-xgb", {"inputs": rows.tolist()}).json()
    again = predict(bot, "edge-xgb", {"inputs": rows.tolist()}).json()
    assert (first["cached"], again["cached"], len(parsed)) == (False, True, 1)
    equivalent = predict(bot, "edge-xgb", {"instances": instances(trained, rows)}).json()
    assert equivalent["cached"] is True and len(parsed) == 2
    assert first["predictions"] == again["predictions"] == equivalent["predictions"]
