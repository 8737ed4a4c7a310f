"""Four eyes on a breaking alias move (issue 27): a person who confirms a move that
breaks the alias's clients no longer moves it alone. The move waits for a second person
who may move aliases, the alias stays where it is, and the second person's confirmation
makes the move against what the first one saw (stale if the alias moved since)."""

import pytest
from django.contrib.auth.models import Group

from models_registry.errors import AliasMovedMeanwhile, AwaitsSecondPerson, RegistryError
from models_registry.four_eyes import (
    breaking_move_confirm,
    breaking_move_decline,
    breaking_move_request,
    pending_breaking_moves,
)
from models_registry.models import AliasMove, BreakingMoveRequest, ModelAlias
from models_registry.services import alias_move, alias_rollback, model_register
from tests.models_registry import factories

pytestmark = pytest.mark.django_db

NARROW = ("macd_hist", "atr_pct", "trend_strength", "spread_bps")
Status = BreakingMoveRequest.Status


@pytest.fixture(autouse=True)
def four_eyes(settings):
    settings.FOUR_EYES = True


def manager(django_user_model, name):
    user = django_user_model.objects.create_user(name, password=f"pw-{name}-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Model manager"))
    return user


@pytest.fixture
def mia(django_user_model):
    return manager(django_user_model, "mia")


@pytest.fixture
def max_(django_user_model):
    return manager(django_user_model, "max")


def register(trained, **kwargs):
    return model_register(data=trained.data, filename=trained.filename, name="edge", **kwargs)


@pytest.fixture
def v1():
    return register(factories.xgboost_model(), alias="production")


@pytest.fixture
def narrow(v1):
    return register(factories.xgboost_on(NARROW))


def production():
    return ModelAlias.objects.get(name="production").version


def ask(v1, narrow, person) -> BreakingMoveRequest:
    with pytest.raises(AwaitsSecondPerson) as waits:
        alias_move(
            model=v1.model,
            alias="production",
            version=narrow,
            moved_by=person,
            confirm_breaking=True,
            reason="bots send four features since 14:00",
        )
    return breaking_move_request(waits.value, user=person)


def test_a_breaking_move_waits_for_a_second_person(v1, narrow, mia, max_):
    waiting = ask(v1, narrow, mia)
    assert production() == v1 and not AliasMove.objects.filter(to_version=narrow).exists()
    assert list(pending_breaking_moves()) == [waiting]
    assert "feature 'rsi_14' is removed" in waiting.breaking[0]
    with pytest.raises(RegistryError, match="a second person who may move aliases"):
        breaking_move_confirm(request_id=waiting.pk, user=mia)
    done = breaking_move_confirm(request_id=waiting.pk, user=max_, note="checked the bots")
    assert done.status == Status.CONFIRMED and production() == narrow
    move = done.move
    assert move.breaking and move.moved_by == max_
    assert move.reason == "bots send four features since 14:00 (asked by mia, confirmed by max)"


def test_the_alias_moved_since_makes_the_request_stale(v1, narrow, mia, max_):
    waiting = ask(v1, narrow, mia)
    same = register(factories.xgboost_model(seed=1))
    alias_move(model=v1.model, alias="production", version=same, moved_by=max_)
    decided = breaking_move_confirm(request_id=waiting.pk, user=max_)
    assert decided.status == Status.STALE and production() == same


def test_a_rollback_to_a_withdrawn_version_waits_too(v1, narrow, mia, max_, settings):
    settings.FOUR_EYES = False  # the breaking move and its rollback by one person
    alias_move(
        model=v1.model,
        alias="production",
        version=narrow,
        moved_by=mia,
        confirm_breaking=True,
        reason="new schema",
    )
    back = alias_rollback(
        model=v1.model,
        alias="production",
        expected_move=AliasMove.objects.latest("id").pk,
        moved_by=mia,
        confirm_breaking=True,
        reason="bots broke",
    )
    settings.FOUR_EYES = True
    with pytest.raises(AwaitsSecondPerson) as waits:
        alias_rollback(
            model=v1.model,
            alias="production",
            expected_move=back.pk,
            moved_by=mia,
            confirm_breaking=True,
            reason="bots fixed",
        )
    kept = breaking_move_request(waits.value, user=mia)
    assert kept.kind == "rollback" and production() == v1
    done = breaking_move_confirm(request_id=kept.pk, user=max_)
    assert done.status == Status.CONFIRMED and production() == narrow
    assert done.move.rollback_of_id == back.pk


def test_declining_keeps_the_alias_and_needs_a_reason(v1, narrow, mia, max_):
    waiting = ask(v1, narrow, mia)
    with pytest.raises(RegistryError):
        breaking_move_decline(request_id=waiting.pk, user=max_, note=" ")
    breaking_move_decline(request_id=waiting.pk, user=max_, note="the bots are not ready")
    assert production() == v1
    with pytest.raises(AliasMovedMeanwhile, match="already decided by max"):
        breaking_move_confirm(request_id=waiting.pk, user=max_)


def test_a_command_moves_at_once(v1, narrow):
    """An operator with a shell moves it (no person to ask twice)."""
    alias_move(
        model=v1.model,
        alias="production",
        version=narrow,
        confirm_breaking=True,
        reason="maintenance",
    )
    assert production() == narrow


def test_the_admin_keeps_it_and_a_second_person_confirms_it(client, v1, narrow, mia, max_):
    client.force_login(mia)
    url = f"/admin/models_registry/registeredmodel/{v1.model.pk}/move-alias/"
    response = client.post(
        url,
        {
            "alias": "production",
            "version": narrow.pk,
            "current": v1.pk,
            "reason": "new schema",
            "confirm_breaking": "on",
            "confirm": "yes",
        },
        follow=True,
    )
    assert "waits for a second person" in response.content.decode()
    assert production() == v1
    waiting = BreakingMoveRequest.objects.get()
    page = client.get(f"/admin/models_registry/breakingmoverequest/{waiting.pk}/change/")
    assert "Withdraw it" in page.content.decode()
    client.force_login(max_)
    done = client.post(
        f"/admin/models_registry/breakingmoverequest/{waiting.pk}/decide/", {"_confirm": "1"}
    )
    assert done.status_code == 302 and production() == narrow


def test_the_api_answers_202_and_keeps_it(v1, narrow, mia, max_, settings):
    from rest_framework.test import APIClient

    settings.FOUR_EYES = False
    alias_move(
        model=v1.model,
        alias="production",
        version=narrow,
        moved_by=mia,
        confirm_breaking=True,
        reason="new schema",
    )
    settings.FOUR_EYES = True
    client = APIClient()
    client.force_login(mia)
    last = AliasMove.objects.latest("id")
    answer = client.post(
        "/api/v1/models/edge/aliases/production/rollback",
        {"move": last.pk, "reason": "bots broke", "confirm_breaking": True},
        format="json",
    )
    assert answer.status_code == 202, answer.content
    kept = BreakingMoveRequest.objects.get(pk=answer.json()["request"])
    assert kept.kind == "rollback" and production() == narrow
    breaking_move_confirm(request_id=kept.pk, user=max_)
    assert production() == v1
