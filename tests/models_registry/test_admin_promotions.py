"""The admin's alias move and rollback: the review shows the schema diff and every
metric's change, a move that breaks clients needs the box ticked and a reason, a
rollback is one button and a confirmation; only who may move aliases does either.

Model ``edge``: version 1 on factories.FEATURES (AUC 0.77) in production, version 2
without rsi_14 (AUC 0.55), the issue's reproduction.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_registry.models import AliasMove, ModelAlias, ModelVersion
from models_registry.services import alias_move, model_register
from tests.admin.test_csp import HEADER, assert_page_policy, inline_code
from tests.models_registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


NARROW = ("macd_hist", "atr_pct", "trend_strength", "spread_bps")
HOSTILE = "<script>document.title='xss'</script><img src=x onerror=alert(1)>"


@pytest.fixture
def v1():
    trained = factories.xgboost_model()
    return model_register(
        data=trained.data,
        filename=trained.filename,
        name="edge",
        alias="production",
        metrics={"auc": 0.77, "logloss": 0.52, "holdout_rows": 1000, "source": "synthetic"},
    )


@pytest.fixture
def v2(v1):
    trained = factories.xgboost_on(NARROW)
    return model_register(
        data=trained.data,
        filename=trained.filename,
        name="edge",
        metrics={"auc": 0.55, "logloss": 0.69, "holdout_rows": 1200, "source": "synthetic"},
    )


@pytest.fixture
def manager_client(client, model_manager):
    client.force_login(model_manager)
    return client


def move_url(model) -> str:
    return reverse("admin:models_registry_registeredmodel_move_alias", args=[model.pk])


def rollback_url(model, alias="production") -> str:
    return reverse("admin:models_registry_registeredmodel_rollback", args=[model.pk, alias])


def model_url(model) -> str:
    return reverse("admin:models_registry_registeredmodel_change", args=[model.pk])


def production():
    return ModelAlias.objects.get(model__name="edge", name="production").version


def confirm(client, version, current, **fields):
    data = {"alias": "production", "version": version.pk, "current": current, "confirm": "yes"}
    return client.post(move_url(version.model), {**data, **fields})


def assert_clean_page(response) -> str:
    """A page under the site's policy, with no inline code; its HTML."""
    assert response.status_code == 200
    assert_page_policy(response.get(HEADER), response.request["PATH_INFO"])
    html = response.content.decode()
    assert not inline_code(html), inline_code(html)
    return html


def test_the_review_shows_the_schema_diff_and_marks_the_auc_drop(manager_client, v1, v2):
    review = manager_client.post(move_url(v1.model), {"alias": "production", "version": v2.pk})
    html = assert_clean_page(review)
    assert "This move breaks the clients of production" in html
    assert "feature &#x27;rsi_14&#x27; is removed" in html
    table = review.context["review"]
    assert [(r.change, r.name, r.before, r.after) for r in table.schema_rows] == [
        ("removed", "rsi_14", "float, column 0", "—")
    ]
    assert table.diff.unchanged == 4 and "4 feature(s) unchanged" in html
    metrics = {row.name: row for row in table.metric_rows}
    auc = metrics["auc"]
    assert (auc.old, auc.new, auc.delta, auc.verdict, auc.css) == (
        "0.7700",
        "0.5500",
        "-0.2200",
        "▼ worse",
        "metric-worse",
    )
    assert (metrics["logloss"].delta, metrics["logloss"].verdict) == ("+0.1700", "▼ worse")
    rows = metrics["holdout_rows"]
    assert (rows.old, rows.new, rows.delta, rows.verdict) == ("1,000", "1,200", "+200", "")
    assert (metrics["source"].old, metrics["source"].delta) == ("synthetic", "")
    assert '<tr class="metric-worse"><th>auc</th>' in html
    assert "Worse after the move:</strong> auc, logloss." in html
    assert 'name="confirm_breaking"' in html and f'name="current" value="{v1.pk}"' in html
    assert production() == v1, "nothing moves on the review"


def test_yes_without_the_box_is_refused_and_the_diff_stays_in_view(manager_client, v1, v2):
    response = confirm(manager_client, v2, v1.pk, reason="AUC is fine")
    html = assert_clean_page(response)
    assert "The alias has not moved" in html
    (message,) = response.context["form"].errors["confirm_breaking"]
    assert message.startswith("moving edge:production from version 1 to version 2 would break")
    assert "rsi_14" in html and "metric-changes" in html
    assert production() == v1 and AliasMove.objects.count() == 1
    ticked = confirm(manager_client, v2, v1.pk, confirm_breaking="on", reason="  ")
    assert "needs a reason" in " ".join(ticked.context["form"].errors["reason"])
    assert production() == v1


def test_the_box_and_a_reason_move_it_and_the_history_says_so(manager_client, v1, v2):
    response = confirm(
        manager_client, v2, v1.pk, confirm_breaking="on", reason="bots updated on 11-28"
    )
    assert response.status_code == 302
    assert production() == v2
    move = AliasMove.objects.latest("id")
    assert (move.breaking, move.reason) == (True, "bots updated on 11-28")
    page = manager_client.get(model_url(v1.model))
    shown = [str(m) for m in page.context["messages"]]
    assert shown == ["edge:production now points at version 2 (a breaking move, confirmed)."]
    html = page.content.decode()
    assert f"<td>#{move.pk}</td>" in html and "broke clients (confirmed)" in html
    assert "Roll back production to v1" in html
    record = manager_client.get(
        reverse("admin:models_registry_aliasmove_change", args=[move.pk])
    ).content.decode()
    assert "<td>removed</td><td><code>rsi_14</code></td><td>float</td>" in record
    assert "&quot;removed&quot;" not in record and '"removed"' not in record, "no raw JSON"


def test_a_move_made_by_someone_else_meanwhile_is_not_confirmed_unseen(manager_client, v1, v2):
    same = model_register(data=factories.xgboost_model(seed=1).data, filename="m.json", name="edge")
    alias_move(model=v1.model, alias="production", version=same)
    response = confirm(manager_client, v2, v1.pk, confirm_breaking="on", reason="reviewed")
    assert "not at the version 1 you reviewed" in response.content.decode()
    assert production() == same
    assert response.context["review"].current == same, "the review is against version 3 now"
    assert response.context["current_token"] == same.pk


def test_a_move_that_keeps_the_schema_needs_no_box(manager_client, v1):
    same = model_register(data=factories.xgboost_model(seed=1).data, filename="m.json", name="edge")
    review = manager_client.post(move_url(v1.model), {"alias": "production", "version": same.pk})
    html = assert_clean_page(review)
    assert "No change: the same 5 feature(s)" in html
    assert "confirm_breaking" not in html and "breaks the clients" not in html
    assert confirm(manager_client, same, v1.pk).status_code == 302
    assert production() == same


def test_rollback_is_a_button_a_review_and_a_confirmation(manager_client, v1, v2):
    confirm(manager_client, v2, v1.pk, confirm_breaking="on", reason="bots updated")
    last = AliasMove.objects.latest("id")
    page = manager_client.get(model_url(v1.model)).content.decode()
    assert f'href="{rollback_url(v1.model)}"' in page

    review = manager_client.get(rollback_url(v1.model))
    html = assert_clean_page(review)
    assert f"was move #{last.pk}:\nversion 1 → version 2" in html
    assert "“bots updated”" in html
    assert "&#x27;rsi_14&#x27; (float) is new and required" in html, "back to 5 features"
    auc = {row.name: row for row in review.context["review"].metric_rows}["auc"]
    assert (auc.delta, auc.verdict) == ("+0.2200", "▲ better")

    refused = manager_client.post(rollback_url(v1.model), {"move": last.pk})
    assert "would break its clients" in " ".join(refused.context["form"].errors["confirm_breaking"])
    assert production() == v2
    done = manager_client.post(
        rollback_url(v1.model),
        {"move": last.pk, "confirm_breaking": "on", "reason": "v2's AUC is 0.55"},
    )
    assert done.status_code == 302 and production() == v1
    rollback = AliasMove.objects.latest("id")
    assert (rollback.rollback_of, rollback.reason, rollback.breaking) == (
        last,
        "v2's AUC is 0.55",
        True,
    )
    shown = [str(m) for m in manager_client.get(model_url(v1.model)).context["messages"]]
    assert shown == [
        f"edge:production rolled back from version 2 to version 1 (move #{rollback.pk}, "
        f"undoing #{last.pk})."
    ]
    # The same confirmation posted twice (a double click) does not undo the rollback.
    again = manager_client.post(
        rollback_url(v1.model), {"move": last.pk, "confirm_breaking": "on", "reason": "x"}
    )
    assert "moved again since you reviewed the rollback" in again.content.decode()
    assert production() == v1


def test_a_rollback_that_keeps_the_schema_is_recorded_as_a_rollback_of_the_move(manager_client, v1):
    same = model_register(data=factories.xgboost_model(seed=1).data, filename="m.json", name="edge")
    alias_move(model=v1.model, alias="production", version=same)
    last = AliasMove.objects.latest("id")
    review = manager_client.get(rollback_url(v1.model))
    assert "confirm_breaking" not in review.content.decode()
    assert manager_client.post(rollback_url(v1.model), {"move": last.pk}).status_code == 302
    rollback = AliasMove.objects.latest("id")
    assert (production(), rollback.reason) == (v1, f"rollback of move #{last.pk}")
    page = manager_client.get(model_url(v1.model)).content.decode()
    assert f"rollback of move #{last.pk}" in page


def test_an_alias_without_an_earlier_version_has_nothing_to_roll_back(manager_client, v1):
    page = manager_client.get(model_url(v1.model)).content.decode()
    assert "Roll back" not in page
    response = manager_client.get(rollback_url(v1.model))
    html = assert_clean_page(response)
    assert "has no earlier version to roll back to: its last move" in html
    assert "Yes, roll" not in html
    posted = manager_client.post(rollback_url(v1.model), {"move": 1})
    assert "no earlier version to roll back to" in posted.content.decode()
    assert manager_client.get(rollback_url(v1.model, "canary")).status_code == 200
    not_a_slug = rollback_url(v1.model, "canary").replace("canary", "not%20a%20slug")
    # Not this view's URL: the admin's catch-all says no such model (no 500).
    lost = manager_client.get(not_a_slug, follow=True)
    assert lost.status_code == 200
    assert "doesn\u2019t exist" in str(list(lost.context["messages"]))


@pytest.mark.parametrize("persona", ["viewer", "uploader"])
def test_only_who_may_move_aliases_may_move_or_roll_back(
    client, django_user_model, viewer, v1, v2, persona
):
    alias_move(model=v1.model, alias="production", version=v2, confirm_breaking=True, reason="r")
    last = AliasMove.objects.latest("id")
    if persona == "viewer":
        user = viewer
    else:  # may upload versions and change models, not aliases
        user = django_user_model.objects.create_user("ulla", is_staff=True)
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="models_registry").exclude(
                codename="change_modelalias"
            )
        )
    client.force_login(user)
    assert client.get(rollback_url(v1.model)).status_code == 403
    assert client.get(move_url(v1.model)).status_code == 403
    posted = client.post(
        rollback_url(v1.model), {"move": last.pk, "confirm_breaking": "on", "reason": "x"}
    )
    assert posted.status_code == 403
    assert confirm(client, v1, v2.pk, confirm_breaking="on", reason="x").status_code == 403
    assert production() == v2 and AliasMove.objects.count() == 2
    page = client.get(model_url(v1.model)).content.decode()
    assert "Roll back" not in page and "Move an alias" not in page


def test_a_model_manager_may_move_and_roll_back(manager_client, v1, v2):
    # The Model manager group of migration 0002, as production has it.
    assert confirm(manager_client, v2, v1.pk, confirm_breaking="on", reason="r").status_code == 302
    last = AliasMove.objects.latest("id")
    body = {"move": last.pk, "confirm_breaking": "on", "reason": "back"}
    assert manager_client.post(rollback_url(v1.model), body).status_code == 302
    assert production() == v1


@pytest.mark.parametrize(
    "reason, message",
    [
        ("a\x00b", "Null characters are not allowed."),
        ("x" * 10_000, "Ensure this value has at most 300 characters (it has 10000)."),
    ],
    ids=["nul", "10k"],
)
def test_a_hostile_reason_is_refused_on_the_reason_field(manager_client, v1, v2, reason, message):
    response = confirm(manager_client, v2, v1.pk, confirm_breaking="on", reason=reason)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"] == [message]
    assert "rsi_14" in response.content.decode(), "still the review, with its diff"
    alias_move(model=v1.model, alias="production", version=v2, confirm_breaking=True, reason="r")
    last = AliasMove.objects.latest("id")
    rollback = manager_client.post(
        rollback_url(v1.model), {"move": last.pk, "confirm_breaking": "on", "reason": reason}
    )
    assert rollback.context["form"].errors["reason"] == [message]
    assert production() == v2


def test_a_lone_surrogate_in_the_reason_never_reaches_the_database(manager_client, v1, v2):
    # Form bodies are decoded as UTF-8 with replacement: the surrogate arrives as U+FFFD.
    body = (
        f"alias=production&version={v2.pk}&current={v1.pk}&confirm=yes"
        "&confirm_breaking=on&reason=%ED%A0%80"
    )
    response = manager_client.post(
        move_url(v1.model), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 302
    assert AliasMove.objects.latest("id").reason == "\ufffd\ufffd\ufffd"


def test_markup_anywhere_is_shown_as_text(manager_client, v1):
    hostile = model_register(
        data=factories.xgboost_on(NARROW, seed=2).data,
        filename="m.json",
        name="edge",
        metrics={HOSTILE: 0.5, "auc": HOSTILE},
    )
    review = manager_client.post(move_url(v1.model), {"alias": "production", "version": hostile.pk})
    html = assert_clean_page(review)
    assert HOSTILE not in html and "&lt;script&gt;" in html
    confirm(manager_client, hostile, v1.pk, confirm_breaking="on", reason=HOSTILE)
    move = AliasMove.objects.latest("id")
    assert move.reason == HOSTILE
    for url in (
        model_url(v1.model),
        rollback_url(v1.model),
        reverse("admin:models_registry_aliasmove_changelist"),
        reverse("admin:models_registry_aliasmove_change", args=[move.pk]),
        reverse("admin:models_registry_modelversion_change", args=[hostile.pk]),
    ):
        html = assert_clean_page(manager_client.get(url))
        assert HOSTILE not in html and "&lt;script&gt;" in html, url


def test_a_version_of_another_model_or_of_no_model_cannot_be_posted(manager_client, v1, v2):
    other = model_register(
        data=factories.xgboost_model().data, filename="m.json", name="other", alias="production"
    )
    for version, current in [(other.pk, v1.pk), (10**20, v1.pk), (v2.pk, other.pk), (v2.pk, "x")]:
        response = manager_client.post(
            move_url(v1.model),
            {
                "alias": "production",
                "version": version,
                "current": current,
                "confirm": "yes",
                "confirm_breaking": "on",
                "reason": "r",
            },
        )
        assert response.status_code == 200, (version, current)
        assert response.context["form"].errors
    assert production() == v1
    rollback = manager_client.post(rollback_url(v1.model), {"move": "10" * 30})
    assert rollback.status_code == 200 and production() == v1


def test_an_upload_that_would_move_an_alias_breakingly_registers_nothing(manager_client, v1):
    trained = factories.xgboost_on(NARROW)
    form = {
        "model_name": "edge",
        "framework": "auto",
        "task": "binary_classification",
        "alias": "production",
    }
    response = manager_client.post(
        "/admin/models_registry/modelversion/add/",
        {**form, "file": SimpleUploadedFile("m.json", trained.data)},
    )
    assert response.status_code == 200
    (message,) = response.context["form"].errors["alias"]
    assert "'rsi_14' is removed" in message and "Leave the alias empty" in message
    assert "Nothing was registered" in response.content.decode()
    assert ModelVersion.objects.count() == 1 and production() == v1
    form["alias"] = ""
    done = manager_client.post(
        "/admin/models_registry/modelversion/add/",
        {**form, "file": SimpleUploadedFile("m.json", trained.data)},
    )
    assert done.status_code == 302 and ModelVersion.objects.count() == 2


def test_metrics_of_any_size_are_shown_readably(manager_client, v1):
    huge = model_register(
        data=factories.xgboost_model(seed=5).data,
        filename="m.json",
        name="edge",
        metrics={"auc": 1e300, "rows": 10**30, "tiny": 1e-9, "big": 10**400, "nan": "NaN"},
    )
    review = manager_client.post(move_url(v1.model), {"alias": "production", "version": huge.pk})
    assert review.status_code == 200
    rows = {row.name: row for row in review.context["review"].metric_rows}
    assert (rows["auc"].new, rows["auc"].delta) == ("1.0000e+300", "+1.0000e+300")
    assert rows["rows"].new == "1.0000e+30"
    assert rows["tiny"].new == "1.00e-09"
    assert rows["big"].new == "1.0000e+400"
    assert rows["nan"].new == "NaN"
    version_page = manager_client.get(
        reverse("admin:models_registry_modelversion_change", args=[huge.pk])
    )
    assert version_page.status_code == 200


def test_a_tampered_hidden_field_is_named_on_the_page(manager_client, v1, v2):
    response = confirm(manager_client, v2, "x", confirm_breaking="on", reason="r")
    assert "not a version of this model" in response.content.decode()
    rollback = manager_client.post(rollback_url(v1.model), {"move": "x"})
    assert "Enter a whole number." in rollback.content.decode()
    assert production() == v1
