"""Issue 27, "Promotion needs evidence": a challenger with 0 shadow rows was promoted
with no warning; after a rollback the page offered "Roll back production to v2", the
version that broke clients, as a plain button.

Now a promotion on fewer live rows (scored by both versions) than
MODEL_PROMOTION_MIN_ROWS needs a written reason, kept with the alias move and shown;
the comparison page says how many trades, records or rows back each figure; and a
rollback that serves again a version a rollback withdrew (or that breaks clients) is
offered and made only with the confirmation of a breaking move. Real models, real
PostgreSQL, the Django test client for the admin.
"""

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from models_registry.challengers import challenger_set
from models_registry.models import AliasMove, ModelAlias
from serving.predict.runtime import current
from tests.models_registry import factories
from tests.security.test_api_permissions import run_group_migrations
from tests.serving.conftest import instances, predict, register

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


BASE = "/api/v1/models/edge-xgb/aliases/production"


@pytest.fixture
def manager_user(django_user_model):
    run_group_migrations()
    user = django_user_model.objects.create_user("max-models", is_staff=True)
    user.groups.add(Group.objects.get(name="Model manager"))
    return user


@pytest.fixture
def api(manager_user) -> APIClient:
    client = APIClient()
    client.force_login(manager_user)
    return client


@pytest.fixture
def admin(manager_user) -> Client:
    client = Client()
    client.force_login(manager_user)
    return client


@pytest.fixture
def shadowed(xgb):
    """edge-xgb version 1 in production, version 2 (the same features) its shadow."""
    trained, champion = xgb
    challenger = register(factories.xgboost_model(seed=1), "edge-xgb")
    challenger_set(
        model=champion.model,
        alias="production",
        version=challenger,
        mode="shadow",
        expected_version=champion,
        expected_challenger=None,
    )
    current().resolver.forget()
    return trained, champion, challenger


def shadow_rows(bot, trained, count: int) -> None:
    """``count`` rows answered by the champion and scored by the shadow, recorded."""
    for start in range(0, count, 5):
        rows = trained.probe[start : min(start + 5, count)]
        assert predict(bot, "edge-xgb", {"instances": instances(trained, rows)}).status_code == 200
    current().shadows.drain()
    current().recorder.flush()


def production() -> ModelAlias:
    return ModelAlias.objects.select_related("version", "challenger").get(
        model__name="edge-xgb", name="production"
    )


def compare_url() -> str:
    return reverse("admin:serving_modelhealth_compare", args=[production().pk])


def rollback_url(model) -> str:
    return reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk, "production"])


SEEN = {"expected_version": 1, "expected_challenger": 2}


# -- a promotion rests on live rows, or on a written reason ------------------------------


def test_a_challenger_with_no_shadow_rows_is_promoted_only_with_a_written_reason(api, shadowed):
    _, champion, challenger = shadowed
    assert api.get(f"{BASE}/challenger").json()["comparison"]["same_rows"]["rows"] == 0
    refused = api.post(f"{BASE}/challenger/promote", SEEN, format="json")
    assert refused.status_code == 400, refused.content
    body = refused.json()
    assert [e["field"] for e in body["errors"]] == ["reason"]
    assert body["detail"].startswith(
        "version 2 has scored 0 live row(s) beside version 1, fewer than the 200 a promotion "
        "rests on (MODEL_PROMOTION_MIN_ROWS)"
    )
    assert production().version == champion and AliasMove.objects.count() == 1
    promoted = api.post(
        f"{BASE}/challenger/promote",
        {**SEEN, "reason": "the old version leaks memory: replace it today"},
        format="json",
    )
    assert promoted.status_code == 200, promoted.content
    assert (promoted.json()["evidence_rows"], promoted.json()["thin_evidence"]) == (0, True)
    move = AliasMove.objects.latest("id")
    assert (move.evidence_rows, move.thin_evidence, move.reason) == (
        0,
        True,
        "the old version leaks memory: replace it today",
    )
    assert production().version == challenger


def test_enough_shadow_rows_promote_without_a_reason(api, bot, shadowed, settings):
    trained, _, challenger = shadowed
    shadow_rows(bot, trained, 10)
    settings.MODEL_PROMOTION_MIN_ROWS = 11
    refused = api.post(f"{BASE}/challenger/promote", SEEN, format="json")
    assert refused.status_code == 400
    assert (
        "has scored 10 live row(s) beside version 1, fewer than the 11"
        in (refused.json()["detail"])
    )
    settings.MODEL_PROMOTION_MIN_ROWS = 10
    promoted = api.post(f"{BASE}/challenger/promote", SEEN, format="json")
    assert promoted.status_code == 200, promoted.content
    assert (promoted.json()["evidence_rows"], promoted.json()["thin_evidence"]) == (10, False)
    assert production().version == challenger


def test_the_database_refuses_a_thin_promotion_without_a_reason(shadowed):
    _, champion, challenger = shadowed
    with pytest.raises(IntegrityError), transaction.atomic():
        AliasMove.objects.create(
            model=champion.model,
            alias="production",
            from_version=champion,
            to_version=challenger,
            evidence_rows=3,
            thin_evidence=True,
        )


def test_the_command_promotes_on_thin_evidence_only_with_a_reason(shadowed):
    with pytest.raises(CommandError, match=r"0 live row\(s\).*MODEL_PROMOTION_MIN_ROWS"):
        call_command("challenger", "edge-xgb", "production", "--promote", "2")
    call_command("challenger", "edge-xgb", "production", "--promote", "2", "--reason", "urgent")
    assert AliasMove.objects.latest("id").thin_evidence


# -- the comparison page -------------------------------------------------------------------


def test_the_comparison_page_says_what_backs_each_figure_and_asks_a_reason_on_thin_evidence(
    admin, bot, shadowed
):
    trained, champion, challenger = shadowed
    shadow_rows(bot, trained, 10)
    page = admin.get(compare_url())
    html = page.content.decode()
    # Each live figure names the trades, records or rows it rests on.
    rows = {row[0]: row for row in page.context["rows"]}
    assert rows["win rate"][2:5:2] == ("0 trades", "0 trades")
    assert rows["latency p50 / p99 ms"][2] == "2 records"
    assert rows["latency p50 / p99 ms"][4] == "2 records"
    assert "the trades, records or live rows each figure rests on" in html
    assert page.context["evidence"] == {"rows": 10, "minimum": 200, "thin": True}
    assert 'id="thin-evidence"' in html
    assert "has scored 10 live rows beside version 1" in html
    promote = {
        "action": "promote",
        "promote-challenger": challenger.pk,
        "promote-champion": champion.pk,
    }
    refused = admin.post(compare_url(), promote)
    assert refused.status_code == 200
    assert "Nothing moved" in refused.content.decode()
    assert "fewer than the 200 a promotion rests on" in " ".join(
        refused.context["promote_form"].errors["reason"]
    )
    assert production().version == champion
    done = admin.post(compare_url(), {**promote, "promote-reason": "canary cannot wait"})
    assert done.status_code == 302
    move = AliasMove.objects.latest("id")
    assert (move.evidence_rows, move.thin_evidence, move.reason) == (
        10,
        True,
        "canary cannot wait",
    )
    # The record is shown: the challenger history and the model's alias history.
    history = admin.get(compare_url()).content.decode()
    assert f"(move #{move.pk}, on 10 live rows: fewer than the minimum, with a reason)" in history
    model_page = admin.get(
        reverse("admin:models_registry_registeredmodel_change", args=[champion.model_id])
    ).content.decode()
    assert "promoted on 10 live row(s): fewer than the minimum, promoted with a reason" in (
        model_page
    )
    assert "canary cannot wait" in model_page


def test_enough_rows_say_so_and_promote_without_a_reason(admin, bot, shadowed, settings):
    settings.MODEL_PROMOTION_MIN_ROWS = 5
    trained, champion, challenger = shadowed
    shadow_rows(bot, trained, 5)
    page = admin.get(compare_url())
    assert 'id="thin-evidence"' not in page.content.decode()
    assert "rests on 5 live rows both versions scored" in page.content.decode()
    done = admin.post(
        compare_url(),
        {"action": "promote", "promote-challenger": challenger.pk, "promote-champion": champion.pk},
    )
    assert done.status_code == 302
    assert AliasMove.objects.latest("id").thin_evidence is False


# -- a rollback never offers a withdrawn or breaking version without the confirmation --


def promoted_and_rolled_back(admin, shadowed):
    """The issue's history: version 2 promoted, then rolled back to version 1."""
    _, champion, challenger = shadowed
    admin.post(
        compare_url(),
        {
            "action": "promote",
            "promote-challenger": challenger.pk,
            "promote-champion": champion.pk,
            "promote-reason": "looked fine in shadow",
        },
    )
    promotion = AliasMove.objects.latest("id")
    back = admin.post(rollback_url(champion.model), {"move": promotion.pk, "reason": "broke bots"})
    assert back.status_code == 302, back.content.decode()[:2000]
    assert production().version == champion
    return AliasMove.objects.latest("id")


def test_after_a_rollback_the_withdrawn_version_is_offered_only_with_a_confirmation(
    admin, shadowed
):
    _, champion, challenger = shadowed
    rollback = promoted_and_rolled_back(admin, shadowed)
    model_page = admin.get(
        reverse("admin:models_registry_registeredmodel_change", args=[champion.model_id])
    )
    (offer,) = model_page.context["rollbacks"]
    assert offer["version"] == 2 and offer["confirm"] == [
        f"version 2 was withdrawn by rollback #{rollback.pk} (“broke bots”): rolling that back "
        "serves version 2 again"
    ]
    assert "Roll back production to v2 (breaking: confirm)" in model_page.content.decode()
    compare = admin.get(compare_url()).content.decode()
    assert "Rolling it back needs the confirmation of a breaking move" in compare
    assert "Review the rollback to version 2 (breaking: confirm)" in compare
    review = admin.get(rollback_url(champion.model)).content.decode()
    assert 'id="rollback-withdrawn"' in review and 'name="confirm_breaking"' in review
    # The plain "yes" of the old page is refused, and nothing moves.
    refused = admin.post(rollback_url(champion.model), {"move": rollback.pk})
    assert refused.status_code == 200
    assert f"withdrawn by rollback #{rollback.pk}" in refused.content.decode()
    assert production().version == champion
    without_reason = admin.post(
        rollback_url(champion.model), {"move": rollback.pk, "confirm_breaking": "on"}
    )
    assert without_reason.status_code == 200 and production().version == champion
    confirmed = admin.post(
        rollback_url(champion.model),
        {"move": rollback.pk, "confirm_breaking": "on", "reason": "bots fixed, v2 again"},
    )
    assert confirmed.status_code == 302
    redo = AliasMove.objects.latest("id")
    assert (production().version, redo.breaking, redo.reason) == (
        challenger,
        True,
        "bots fixed, v2 again",
    )


def test_the_api_rolls_a_rollback_back_only_with_the_confirmation(api, admin, shadowed):
    rollback = promoted_and_rolled_back(admin, shadowed)
    assert api.get(f"{BASE}/challenger").json()["last_move"]["rollback_of"] is not None
    refused = api.post(f"{BASE}/rollback", {"move": rollback.pk}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "breaking_change"
    assert refused.json()["errors"][0]["field"] == "confirm_breaking"
    assert "withdrawn by rollback" in refused.json()["errors"][0]["message"]
    done = api.post(
        f"{BASE}/rollback",
        {"move": rollback.pk, "confirm_breaking": True, "reason": "v2 fixed"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["breaking"] is True


def test_a_first_rollback_of_the_same_schema_needs_no_confirmation(admin, shadowed):
    _, champion, _ = shadowed
    model_page = admin.get(
        reverse("admin:models_registry_registeredmodel_change", args=[champion.model_id])
    )
    assert model_page.context["rollbacks"] == []  # production was only created
    admin.post(
        compare_url(),
        {
            "action": "promote",
            "promote-challenger": shadowed[2].pk,
            "promote-champion": champion.pk,
            "promote-reason": "r",
        },
    )
    (offer,) = admin.get(
        reverse("admin:models_registry_registeredmodel_change", args=[champion.model_id])
    ).context["rollbacks"]
    assert (offer["version"], offer["confirm"]) == (1, [])
