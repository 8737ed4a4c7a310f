"""The admin's champion and challenger, on real models and real PostgreSQL: set by a
model manager, compared on the same rows (figures checked against the models' own
scores), promoted and rolled back in one audited action each (a breaking promotion
needs its confirmation and a reason); the command; who may do what."""

import numpy as np
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from models_registry.challengers import challenger_set
from models_registry.models import AliasMove, ChallengerChange, ModelAlias
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


def written() -> int:
    current().shadows.drain()
    return current().recorder.flush()


@pytest.fixture
def groups():
    run_group_migrations()


def user_in(django_user_model, group: str | None, *perms: str):
    user = django_user_model.objects.create_user(
        (group or "viewer").replace(" ", "-"), is_staff=True
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


@pytest.fixture
def manager(groups, django_user_model, client):
    client.force_login(user_in(django_user_model, "Model manager"))
    return client


@pytest.fixture
def pair(xgb):
    trained, champion = xgb
    other = factories.xgboost_model(seed=1)
    return trained, other, champion, register(other, "edge-xgb")


def alias():
    return ModelAlias.objects.select_related("version", "challenger").get(
        model__name="edge-xgb", name="production"
    )


def compare_url():
    return reverse("admin:serving_modelhealth_compare", args=[alias().pk])


def shown(client, set_url) -> str:
    """The aliases as the set page shows them (its hidden ``seen``), posted back."""
    return client.get(set_url).context["form"]["seen"].value()


def test_set_compare_promote_and_roll_back_each_in_one_audited_action(manager, bot, pair):
    trained, other, champion, challenger = pair
    set_url = reverse("admin:serving_modelhealth_challenger_set", args=[champion.model_id])
    page = manager.get(
        reverse("admin:models_registry_registeredmodel_change", args=[champion.model_id])
    )
    assert set_url in page.content.decode()
    response = manager.post(
        set_url,
        {
            "alias": "production",
            "version": challenger.pk,
            "mode": "shadow",
            "reason": "seed 1",
            "seen": shown(manager, set_url),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    change = ChallengerChange.objects.get()
    assert (change.action, change.version, change.mode, change.changed_by.username) == (
        "set",
        challenger,
        "shadow",
        "Model-manager",
    )
    current().resolver.forget()
    rows = trained.probe[:10]
    for start in (0, 5):
        predict(bot, "edge-xgb", {"instances": instances(trained, rows[start : start + 5])})
    written()
    # By hand: the two models' own scores of the same ten rows.
    ours, theirs = np.array(trained.expected[:10]), np.array(other.expected[:10])
    agreement = np.mean((ours >= 0.5) == (theirs >= 0.5))
    mad = np.mean(np.abs(ours - theirs))
    page = manager.get(compare_url())
    assert page.status_code == 200
    c = page.context["c"]
    assert (c.same_rows.pairs, c.same_rows.rows) == (2, 10)
    assert c.same_rows.agreement == pytest.approx(agreement)
    assert c.same_rows.mean_abs_difference == pytest.approx(mad, abs=1e-6)
    assert (c.champion.volume.recorded, c.challenger.volume.recorded) == (2, 2)
    html = page.content.decode()
    assert f"{agreement:.1%}" in html and f"{mad:.4f}" in html
    # Promote: one action, the alias move and the challenger's removal, both recorded.
    response = manager.post(
        compare_url(),
        {
            "action": "promote",
            "promote-challenger": challenger.pk,
            "promote-champion": champion.pk,
            "promote-reason": "better AUC",
        },
    )
    assert response.status_code == 302
    now = alias()
    assert (now.version, now.challenger, now.challenger_mode) == (challenger, None, "")
    move = AliasMove.objects.latest("id")
    assert (move.from_version, move.to_version, move.reason, move.moved_by.username) == (
        champion,
        challenger,
        "better AUC",
        "Model-manager",
    )
    promoted = ChallengerChange.objects.latest("id")
    assert (promoted.action, promoted.move) == ("promoted", move)
    # Roll back: one action (the registry's rollback), recorded as a move undoing it.
    page = manager.get(compare_url()).content.decode()
    rollback = reverse(
        "admin:models_registry_registeredmodel_rollback", args=[champion.model_id, "production"]
    )
    assert rollback in page
    response = manager.post(rollback, {"move": move.pk, "reason": "worse live"})
    assert response.status_code == 302
    back = AliasMove.objects.latest("id")
    assert (back.to_version, back.rollback_of, back.reason) == (champion, move, "worse live")
    assert alias().version == champion
    # Answers follow at once (this worker's resolution forgotten on commit).
    assert (
        predict(bot, "edge-xgb", {"instances": instances(trained, rows[:1])}).json()["version"] == 1
    )


def test_a_breaking_promotion_needs_its_confirmation_and_a_reason(manager, xgb):
    _, champion = xgb
    fewer = register(factories.xgboost_on(("atr_pct", "rsi_14", "spread_bps")), "edge-xgb")
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=fewer,
        mode="shadow",
    )
    body = {"action": "promote", "promote-challenger": fewer.pk, "promote-champion": champion.pk}
    response = manager.post(compare_url(), body)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing moved" in html and "macd_hist" in html
    assert alias().version == champion and AliasMove.objects.count() == 1
    response = manager.post(compare_url(), {**body, "promote-confirm_breaking": "on"})
    assert response.status_code == 200 and alias().version == champion
    assert "needs a reason" in response.content.decode()
    response = manager.post(
        compare_url(), {**body, "promote-confirm_breaking": "on", "promote-reason": "bots ready"}
    )
    assert response.status_code == 302
    move = AliasMove.objects.latest("id")
    assert (move.breaking, move.reason, alias().version) == (True, "bots ready", fewer)


def test_a_canary_share_and_challenger_are_checked(manager, pair):
    _, _, champion, challenger = pair
    set_url = reverse("admin:serving_modelhealth_challenger_set", args=[champion.model_id])
    for share, status in (("1.5", 200), ("nan", 200), ("0", 200), ("0.25", 302)):
        response = manager.post(
            set_url,
            {
                "alias": "production",
                "version": challenger.pk,
                "mode": "canary",
                "share": share,
                "seen": shown(manager, set_url),
            },
        )
        assert response.status_code == status, (share, response.content.decode()[:2000])
    assert alias().challenger_share == 0.25
    response = manager.post(
        set_url,
        {
            "alias": "production",
            "version": champion.pk,
            "mode": "shadow",
            "reason": "a\x00b",
            "seen": shown(manager, set_url),
        },
    )
    assert response.status_code == 200 and alias().challenger == challenger
    fewer = register(factories.xgboost_on(("atr_pct", "rsi_14")), "edge-xgb")
    response = manager.post(
        set_url,
        {
            "alias": "production",
            "version": fewer.pk,
            "mode": "canary",
            "share": "0.1",
            "seen": shown(manager, set_url),
        },
    )
    assert response.status_code == 200 and "run it in shadow mode" in response.content.decode()


def test_who_may_compare_and_who_may_act(groups, pair, django_user_model, client):
    _, _, champion, challenger = pair
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
    )
    set_url = reverse("admin:serving_modelhealth_challenger_set", args=[champion.model_id])
    promote = {
        "action": "promote",
        "promote-challenger": challenger.pk,
        "promote-champion": champion.pk,
        "promote-reason": "x",
    }
    for group in ("Reviewer", "Risk manager"):
        client.force_login(user_in(django_user_model, group))
        assert client.get(compare_url()).status_code == 403, group
        assert client.get(set_url).status_code == 403, group
        assert client.post(compare_url(), promote).status_code == 403, group
    # Who may see the registry's versions but not move aliases: compares, cannot act.
    client.force_login(user_in(django_user_model, None, "models_registry.view_modelversion"))
    page = client.get(compare_url())
    assert page.status_code == 200 and "promote-form" not in page.content.decode()
    assert client.post(compare_url(), promote).status_code == 403
    assert client.get(set_url).status_code == 403
    assert alias().version == champion and alias().challenger == challenger
    assert not AliasMove.objects.filter(reason="x").exists()


def test_the_command_sets_promotes_and_clears(pair, capsys):
    _, _, _, challenger = pair
    call_command(
        "challenger", "edge-xgb", "production", "--set", "2", "--mode", "canary", "--share", "0.3"
    )
    assert (alias().challenger, alias().challenger_share) == (challenger, 0.3)
    call_command("challenger", "edge-xgb", "production", "--clear", "--reason", "done")
    with pytest.raises(CommandError, match="challenger is none now, not version 2"):
        call_command("challenger", "edge-xgb", "production", "--promote", "2")
    with pytest.raises(CommandError, match="has no challenger"):
        call_command("challenger", "edge-xgb", "production", "--clear")
    with pytest.raises(CommandError, match="less than 1"):
        call_command(
            "challenger",
            "edge-xgb",
            "production",
            "--set",
            "2",
            "--mode",
            "canary",
            "--share",
            "inf",
        )
    call_command("challenger", "edge-xgb", "production", "--set", "2")
    call_command("challenger", "edge-xgb", "production", "--promote", "2", "--reason", "ok")
    assert alias().version == challenger
    assert list(ChallengerChange.objects.order_by("id").values_list("action", "changed_by")) == [
        ("set", None),
        ("cleared", None),
        ("set", None),
        ("promoted", None),
    ]
    assert "promoted its challenger" in capsys.readouterr().out


def test_a_change_made_on_a_stale_page_is_refused_with_a_clear_message(manager, pair):
    """Issue 26, item 4 in the admin: each form carries what its page showed."""
    _, _, champion, challenger = pair
    set_url = reverse("admin:serving_modelhealth_challenger_set", args=[champion.model_id])
    stale_seen = shown(manager, set_url)  # the set page, opened before anything changed
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=None,
        alias="production",
        version=challenger,
        mode="shadow",
    )
    later = register(factories.xgboost_model(seed=2), "edge-xgb")
    response = manager.post(
        set_url,
        {"alias": "production", "version": later.pk, "mode": "shadow", "seen": stale_seen},
    )
    assert response.status_code == 200
    assert "challenger is version 2 now, not none you saw" in response.content.decode()
    assert response.context["form"]["seen"].value() == shown(manager, set_url), "refreshed"
    # The comparison page, opened while version 2 was the challenger; then it changes.
    page = manager.get(compare_url())
    assert page.status_code == 200
    challenger_set(
        model=champion.model,
        expected_version=champion,
        expected_challenger=challenger,
        alias="production",
        version=later,
        mode="shadow",
    )
    for action, fields in (
        ("promote", {"promote-challenger": challenger.pk, "promote-champion": champion.pk}),
        ("remove", {"remove-challenger": challenger.pk}),
    ):
        response = manager.post(
            compare_url(), {"action": action, f"{action}-reason": "stale", **fields}
        )
        assert response.status_code == 200, action
        assert "challenger is version 3 now, not version 2 you saw" in response.content.decode()
    assert (alias().version, alias().challenger) == (champion, later)
    assert not AliasMove.objects.filter(reason="stale").exists()
