"""The challenger through the API: read with a reporting or predicting key, changed only
by a staff session that may move aliases; promotion and rollback one audited call each;
hostile bodies answered 400 in the one error body."""

import json

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from models_registry.challengers import challenger_set
from models_registry.models import AliasMove, ChallengerChange, ModelAlias
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations
from tests.serving.conftest import register

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


URL = "/api/v1/models/edge-xgb/aliases/production/challenger"


@pytest.fixture
def pair(xgb):
    _, champion = xgb
    return champion, register(factories.xgboost_model(seed=1), "edge-xgb")


def session(django_user_model, group: str) -> APIClient:
    run_group_migrations()
    user = django_user_model.objects.create_user(group.replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def manager(django_user_model):
    return session(django_user_model, "Model manager")


def put(client, body):
    return client.put(URL, json.dumps(body), content_type="application/json")


def test_set_read_promote_and_roll_back(manager, bot, pair):
    champion, _ = pair
    assert bot.get(URL).json()["challenger"] is None
    seen = {"expected_version": 1, "expected_challenger": None}
    response = put(manager, {"version": 2, "mode": "canary", "share": 0.1, "reason": "try", **seen})
    assert response.status_code == 200, response.content
    assert response.json()["challenger"] == {"version": 2, "mode": "canary", "share": 0.1}
    state = bot.get(URL).json()
    assert state["comparison"]["same_rows"]["pairs"] == 0
    assert state["comparison"]["challenger"]["version"] == 2
    change = ChallengerChange.objects.get()
    assert (change.action, change.changed_by.username) == ("set", "Model-manager")
    response = manager.post(
        f"{URL}/promote",
        {"reason": "canary held", "expected_version": 1, "expected_challenger": 2},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["to_version"] == 2 and response.json()["reason"] == "canary held"
    assert ChallengerChange.objects.latest("id").action == "promoted"
    promoted = response.json()["move"]
    assert bot.get(URL).json()["last_move"]["move"] == promoted
    response = manager.post(
        "/api/v1/models/edge-xgb/aliases/production/rollback",
        {"reason": "no", "move": promoted},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["to_version"] == 1 and response.json()["rollback_of"]
    assert ModelAlias.objects.get(name="production").version == champion


def test_a_breaking_promotion_is_a_409_until_confirmed_with_a_reason(manager, xgb):
    _, champion = xgb
    fewer = register(factories.xgboost_on(("atr_pct", "rsi_14")), "edge-xgb")
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=fewer,
        mode="shadow",
    )
    seen = {"expected_version": 1, "expected_challenger": 2}
    response = manager.post(f"{URL}/promote", seen, format="json")
    assert response.status_code == 409 and response.json()["code"] == "breaking_change"
    response = manager.post(f"{URL}/promote", {**seen, "confirm_breaking": True}, format="json")
    assert response.status_code == 400
    response = manager.post(
        f"{URL}/promote", {**seen, "confirm_breaking": True, "reason": "bots ready"}, format="json"
    )
    assert response.status_code == 200 and response.json()["breaking"] is True
    assert AliasMove.objects.latest("id").reason == "bots ready"


def test_who_may_read_and_who_may_change(bot, pair, django_user_model):
    body = {"version": 2, "mode": "shadow"}
    assert bot.get(URL).status_code == 200
    assert put(bot, body).status_code == 403, "no key moves an alias"
    assert bot.post(f"{URL}/promote", {}, format="json").status_code == 403
    for group in ("Reviewer", "Risk manager"):
        client = session(django_user_model, group)
        assert client.get(URL).status_code == 403, group
        assert put(client, body).status_code == 403, group
        assert client.delete(URL).status_code == 403, group
        assert client.post("/api/v1/models/edge-xgb/aliases/production/rollback").status_code == 403
    assert APIClient().get(URL).status_code in (401, 403)
    assert not ChallengerChange.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"version": 2, "mode": "canary", "share": 1e308}, "share"),
        ({"version": 2, "mode": "canary", "share": 0}, "share"),
        ({"version": 2, "mode": "canary", "share": "x"}, "share"),
        ({"version": 10**30, "mode": "shadow"}, "version"),
        ({"version": "2", "mode": 5}, "mode"),
        ({"version": 2, "mode": "shadow", "reason": "a\x00b"}, "reason"),
        ({"version": 2, "mode": "shadow", "reason": "\ud800"}, "reason"),
        ({"version": 2, "mode": "shadow", "reason": "x" * 301}, "reason"),
        ({"version": 2, "mode": "shadow", "extra": 1}, "extra"),
        ({"version": 1, "mode": "shadow"}, "version"),
        ({"version": 9, "mode": "shadow"}, "version"),
        ({"version": 2, "mode": "shadow", "expected_version": "x"}, "expected_version"),
        ({"version": 2, "mode": "shadow", "expected_version": 9}, "expected_version"),
        ({"version": 2, "mode": "shadow", "expected_challenger": 10**30}, "expected_challenger"),
        ({"version": 2, "mode": "shadow", "expected_challenger": True}, "expected_challenger"),
        ([1, 2], "body"),
    ],
    ids=[
        "share-huge",
        "share-zero",
        "share-text",
        "version-huge",
        "mode-number",
        "nul",
        "surrogate",
        "long",
        "unknown",
        "champion",
        "missing",
        "seen-text",
        "seen-unknown",
        "seen-huge",
        "seen-boolean",
        "list",
    ],
)
def test_hostile_bodies_are_a_400_naming_the_field(manager, pair, body, field):
    if isinstance(body, dict):
        body = {"expected_version": 1, "expected_challenger": None, **body}
    response = manager.put(
        URL, json.dumps(body, ensure_ascii=True), content_type="application/json"
    )
    assert response.status_code in (400, 404), response.content
    fields = {e.get("field") for e in response.json()["errors"]}
    assert field in fields, response.json()
    assert not ChallengerChange.objects.exists()


def test_infinity_and_nan_are_refused(manager, pair):
    for raw in (
        '{"version": 2, "mode": "canary", "share": Infinity}',
        '{"version": 2, "mode": "canary", "share": NaN}',
    ):
        response = manager.put(URL, raw, content_type="application/json")
        assert response.status_code == 400, response.content
    assert not ChallengerChange.objects.exists()
    assert manager.get("/api/v1/models/edge-xgb/aliases/nope/challenger").status_code == 404
    assert manager.get(f"{URL}?days=0").status_code == 400
