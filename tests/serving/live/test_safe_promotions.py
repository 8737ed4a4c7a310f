"""Issue 17's reproduction, end to end: a bot predicts on production; version 2 needs a
feature the bot does not send. The admin's move is refused with the diff shown; the
move confirmed with a reason breaks the bot's unchanged request, as the review said;
the rollback makes the same request work again, through the same hot swap as any move.
``GET /api/v1/models/{name}`` tells a client the schema of each alias beforehand.
"""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from models_registry.models import AliasMove
from serving.predict.hotswap import ALIAS_STAMP
from tests.models_registry import factories
from tests.openapi import assert_documented
from tests.serving.conftest import instances, predict, register

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


# The bot's schema: version 1 was trained without rsi_14; version 2 needs it.
BOT_FEATURES = ("macd_hist", "atr_pct", "trend_strength", "spread_bps")


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user("max", password="pw-max-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Model manager"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def versions(db):
    """Version 1 in production, version 2 (one feature more, AUC down) registered."""
    old = factories.xgboost_on(BOT_FEATURES)
    v1 = register(old, "edge", alias="production", metrics={"auc": 0.77, "logloss": 0.52})
    new = factories.xgboost_model()
    v2 = register(new, "edge", metrics={"auc": 0.55, "logloss": 0.69})
    return old, v1, new, v2


def move(client, v2, current, **fields):
    url = reverse("admin:models_registry_registeredmodel_move_alias", args=[v2.model.pk])
    body = {"alias": "production", "version": v2.pk, "current": current.pk, "confirm": "yes"}
    return client.post(url, {**body, **fields})


def test_a_breaking_promotion_is_refused_confirmed_then_rolled_back(
    bot, manager, versions, django_capture_on_commit_callbacks
):
    old, v1, _, v2 = versions
    request = {"instances": instances(old)}  # the bot's request, never changed below
    answer = predict(bot, "edge", request)
    assert (answer.status_code, answer.json()["version"]) == (200, 1)
    assert answer.json()["predictions"] == pytest.approx(old.expected, rel=1e-6)

    # The review says what the confirmation did not: the schema and the drop.
    review_url = reverse("admin:models_registry_registeredmodel_move_alias", args=[v1.model.pk])
    review = manager.post(review_url, {"alias": "production", "version": v2.pk})
    html = review.content.decode()
    assert "&#x27;rsi_14&#x27; (float) is new and required" in html
    assert [(r.change, r.name) for r in review.context["review"].schema_rows] == [
        ("added (required)", "rsi_14")
    ]
    auc = next(r for r in review.context["review"].metric_rows if r.name == "auc")
    assert (auc.old, auc.new, auc.delta, auc.verdict) == ("0.7700", "0.5500", "-0.2200", "▼ worse")

    # "Yes, move production" alone is refused: the bot keeps its answers.
    with django_capture_on_commit_callbacks(execute=True):
        refused = move(manager, v2, v1)
    assert "would break its clients" in refused.content.decode()
    assert predict(bot, "edge", request).json()["version"] == 1

    # Confirmed with a reason: recorded, served by every worker, and the bot breaks as
    # the review said it would.
    stamp = cache.get(ALIAS_STAMP)
    with django_capture_on_commit_callbacks(execute=True):
        moved = move(manager, v2, v1, confirm_breaking="on", reason="bots updated at 14:00")
    assert moved.status_code == 302
    assert cache.get(ALIAS_STAMP) != stamp, "the hot swap was announced"
    broken = predict(bot, "edge", request)
    assert broken.status_code == 400
    body = broken.json()
    assert body["detail"].startswith("instances[0] lacks feature 'rsi_14'")
    assert body["errors"][0] == {
        "field": "instances[0].rsi_14",
        "row": 0,
        "message": "instances[0] lacks feature 'rsi_14'",
    }
    schemas = bot.get("/api/v1/models/edge").json()["alias_schemas"]
    assert [f["name"] for f in schemas["production"]["feature_schema"]] == factories.FEATURES

    # One rollback, confirmed the same way (back to four features breaks v2's clients).
    last = AliasMove.objects.latest("id")
    rollback_url = reverse(
        "admin:models_registry_registeredmodel_rollback", args=[v1.model.pk, "production"]
    )
    stamp = cache.get(ALIAS_STAMP)
    with django_capture_on_commit_callbacks(execute=True):
        rolled = manager.post(
            rollback_url, {"move": last.pk, "confirm_breaking": "on", "reason": "bots broke"}
        )
    assert rolled.status_code == 302
    assert cache.get(ALIAS_STAMP) != stamp, "a rollback is announced like any move"
    again = predict(bot, "edge", request)
    assert (again.status_code, again.json()["version"]) == (200, 1)
    assert again.json()["predictions"] == pytest.approx(old.expected, rel=1e-6)
    moves = AliasMove.objects.order_by("id")
    assert [(m.to_version.version, m.breaking, m.rollback_of_id) for m in moves] == [
        (1, False, None),
        (2, True, None),
        (1, True, last.pk),
    ]


def test_a_models_page_gives_each_aliases_version_and_schema(bot, versions):
    register(factories.xgboost_model(seed=3), "edge", alias="staging")
    response = bot.get("/api/v1/models/edge")
    assert response.status_code == 200
    assert_documented(response, "get", "/api/v1/models/{name}")
    body = response.json()
    assert body["aliases"] == {"production": 1, "staging": 3}, "unchanged for old clients"
    production = body["alias_schemas"]["production"]
    assert production["version"] == 1 and production["output_kind"] == "probability"
    assert production["feature_schema"] == [{"name": n, "type": "float"} for n in BOT_FEATURES]
    assert [f["name"] for f in body["alias_schemas"]["staging"]["feature_schema"]] == (
        factories.FEATURES
    )
    assert production["moved_at"]


def test_the_schema_documents_the_alias_schemas():
    from tests.openapi import api_schema

    components = api_schema()["components"]["schemas"]
    detail = components["ModelDetail"]["properties"]["alias_schemas"]
    assert detail["type"] == "object"
    assert detail["additionalProperties"]["$ref"].endswith("/AliasSchema")
    alias = components["AliasSchema"]
    assert set(alias["required"]) == {"version", "feature_schema", "output_kind", "moved_at"}
    assert "order" in alias["properties"]["feature_schema"]["description"]
