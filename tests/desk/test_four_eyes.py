"""Four eyes on the risk limits (issue 27): loosening a limit or switching AI trading on
needed one person only. Now it waits until a second person with the permission confirms;
until then the old values stay in force and the request shows in a queue with who asked
and why. What tightens takes effect at once.
"""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection

from desk.four_eyes import (
    limit_change_confirm,
    limit_change_decline,
    limit_change_request,
    pending_limit_changes,
)
from desk.models import (
    Action,
    ChangeRequestStatus,
    Decision,
    IdeaStatus,
    LimitChangeRequest,
    RiskConfigChange,
)
from desk.services import DeskError, IllegalTransition, idea_submit, risk_config_get
from tests.desk.conftest import idea, live_market

pytestmark = pytest.mark.django_db

QUEUE = "/admin/desk/limitchangerequest/"


def manager(django_user_model, name: str):
    """A risk manager: the group its data migration made, or (a transactional test
    empties the tables) the permission the group holds."""
    user = django_user_model.objects.create_user(name, password=f"pw-{name}-1", is_staff=True)
    group = Group.objects.filter(name="Risk manager").first()
    if group is not None:
        user.groups.add(group)
    else:
        user.user_permissions.add(Permission.objects.get(codename="change_riskconfig"))
    return django_user_model.objects.get(pk=user.pk)  # a fresh permission cache


@pytest.fixture
def rosa(django_user_model):
    return manager(django_user_model, "rosa")


@pytest.fixture
def sam(django_user_model):
    return manager(django_user_model, "sam")


@pytest.fixture(autouse=True)
def four_eyes(settings):
    settings.FOUR_EYES = True


def test_switching_ai_trading_on_waits_for_a_second_person(db, rosa, sam):
    live_market()
    config, waiting = limit_change_request(
        changes={"ai_trading_enabled": True}, user=rosa, reason="the desk reopens"
    )
    assert waiting is not None and not config.ai_trading_enabled
    # The old value is in force: the gate halts an idea.
    assert idea_submit(idea=idea(), actor="bot")[0].status == IdeaStatus.HALTED_BY_RISK
    assert list(pending_limit_changes()) == [waiting]
    with pytest.raises(DeskError, match="a second person with the permission confirms it"):
        limit_change_confirm(request_id=waiting.pk, user=rosa)
    confirmed = limit_change_confirm(request_id=waiting.pk, user=sam, note="reviewed")
    assert confirmed.status == ChangeRequestStatus.CONFIRMED and confirmed.decided_by == sam
    assert risk_config_get().ai_trading_enabled
    resumed = Decision.objects.get(action=Action.AI_RESUMED)
    assert resumed.actor == "rosa, confirmed by sam" and resumed.actor_user == sam
    change = RiskConfigChange.objects.get(field="ai_trading_enabled")
    assert (change.reason, change.changed_by) == ("the desk reopens", sam)
    with pytest.raises(IllegalTransition, match="already decided by sam"):
        limit_change_confirm(request_id=waiting.pk, user=sam)


def test_tightening_takes_effect_at_once_and_loosening_waits(db, rosa):
    before = risk_config_get()
    config, waiting = limit_change_request(
        changes={
            "max_concurrent_trades": before.max_concurrent_trades + 5,  # looser
            "min_confidence_threshold": Decimal("0.9"),  # tighter
        },
        user=rosa,
        reason="fewer, surer trades",
    )
    assert config.min_confidence_threshold == Decimal("0.9")
    assert config.max_concurrent_trades == before.max_concurrent_trades
    assert waiting.changes == {"max_concurrent_trades": before.max_concurrent_trades + 5}
    assert waiting.before == {"max_concurrent_trades": before.max_concurrent_trades}


def test_a_change_that_only_tightens_needs_nobody_else(db, rosa):
    _, waiting = limit_change_request(
        changes={"max_lot_size": Decimal("0.5")}, user=rosa, reason="smaller"
    )
    assert waiting is None and risk_config_get().max_lot_size == Decimal("0.5")


def test_without_four_eyes_one_person_loosens(db, rosa, settings):
    settings.FOUR_EYES = False
    _, waiting = limit_change_request(changes={"max_lot_size": Decimal(5)}, user=rosa, reason="x")
    assert waiting is None and risk_config_get().max_lot_size == Decimal(5)


def test_a_request_made_stale_by_another_change_is_not_applied(db, rosa, sam):
    _, waiting = limit_change_request(changes={"max_lot_size": Decimal(3)}, user=rosa, reason="x")
    limit_change_request(changes={"max_lot_size": Decimal("0.5")}, user=sam, reason="smaller")
    decided = limit_change_confirm(request_id=waiting.pk, user=sam)
    assert decided.status == ChangeRequestStatus.STALE
    assert risk_config_get().max_lot_size == Decimal("0.5")


def test_a_person_without_the_permission_cannot_confirm(db, rosa, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    _, waiting = limit_change_request(changes={"max_lot_size": Decimal(3)}, user=rosa, reason="x")
    with pytest.raises(DeskError, match="takes the permission"):
        limit_change_confirm(request_id=waiting.pk, user=clerk)


def test_declining_needs_a_reason_and_keeps_the_limits(db, rosa, sam):
    _, waiting = limit_change_request(changes={"max_lot_size": Decimal(3)}, user=rosa, reason="x")
    with pytest.raises(DeskError):
        limit_change_decline(request_id=waiting.pk, user=sam, note="")
    declined = limit_change_decline(request_id=waiting.pk, user=sam, note="too big for Friday")
    assert declined.status == ChangeRequestStatus.DECLINED
    assert risk_config_get().max_lot_size == Decimal(1)


def test_an_invalid_change_is_refused_before_it_waits(db, rosa):
    with pytest.raises(DeskError) as refused:
        limit_change_request(changes={"max_lot_size": Decimal(-1)}, user=rosa, reason="x")
    assert refused.value.field == "max_lot_size"
    assert not LimitChangeRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_people_confirming_at_once_apply_it_once(rosa, sam, django_user_model):
    tom = manager(django_user_model, "tom")
    _, waiting = limit_change_request(changes={"max_lot_size": Decimal(3)}, user=rosa, reason="x")
    connection.close()
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm(person):
        try:
            barrier.wait(10)
            limit_change_confirm(request_id=waiting.pk, user=person)
            outcomes.append("won")
        except IllegalTransition as exc:
            outcomes.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(p,)) for p in (sam, tom)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes)[-1] == "won" and "already decided by" in sorted(outcomes)[0]
    assert RiskConfigChange.objects.filter(field="max_lot_size").count() == 1


def test_the_queue_and_the_confirmation_in_the_admin(client, db, rosa, sam):
    client.force_login(rosa)
    page = client.get("/admin/desk/riskconfig/")
    assert page.status_code == 200
    _, waiting = limit_change_request(
        changes={"ai_trading_enabled": True}, user=rosa, reason="the desk reopens"
    )
    page = client.get("/admin/desk/riskconfig/").content.decode()
    assert "AI trading enabled off → on" in page and "asked by rosa" in page
    own = client.get(f"{QUEUE}{waiting.pk}/change/").content.decode()
    assert "Withdraw it" in own and 'id="confirm-request"' not in own
    client.force_login(sam)
    theirs = client.get(f"{QUEUE}{waiting.pk}/change/").content.decode()
    assert 'id="confirm-request"' in theirs and "the desk reopens" in theirs
    done = client.post(f"{QUEUE}{waiting.pk}/decide/", {"_confirm": "1", "note": "ok"})
    assert done.status_code == 302 and risk_config_get().ai_trading_enabled
