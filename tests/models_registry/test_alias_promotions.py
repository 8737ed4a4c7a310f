"""Alias moves that would break clients: refused unless confirmed with a reason, recorded
with their schema diff; rollbacks to the version before the last move; the reason's
hostile inputs. Through the services and the operators' commands.

Versions of model ``edge``: ``v1`` has factories.FEATURES, ``same`` the same schema
(another seed), ``narrow`` lacks rsi_14 (the issue's reproduction: a bot that sends it
is refused).
"""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from models_registry.errors import AliasMovedMeanwhile, BreakingMove, NotFound, RegistryError
from models_registry.models import AliasMove, ModelAlias, ModelVersion
from models_registry.services import alias_move, alias_rollback, model_register
from tests.models_registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _one_person_moves(settings):
    """Tests of the moves themselves: four eyes has its own
    (tests/models_registry/test_breaking_four_eyes.py)."""
    settings.FOUR_EYES = False


NARROW = ("macd_hist", "atr_pct", "trend_strength", "spread_bps")


def register(trained, **kwargs):
    kwargs.setdefault("name", "edge")
    return model_register(data=trained.data, filename=trained.filename, **kwargs)


@pytest.fixture
def v1():
    return register(factories.xgboost_model(), alias="production", metrics={"auc": 0.77})


@pytest.fixture
def narrow(v1):
    return register(factories.xgboost_on(NARROW), metrics={"auc": 0.55})


def production():
    return ModelAlias.objects.get(name="production").version


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# -- the breaking check -------------------------------------------------------------------


def test_a_move_that_removes_a_feature_is_refused_naming_it(v1, narrow):
    with pytest.raises(BreakingMove) as caught:
        alias_move(model=v1.model, alias="production", version=narrow, reason="newer")
    error = caught.value
    assert (error.status, error.code) == (409, "breaking_change")
    assert "moving edge:production from version 1 to version 2 would break" in str(error)
    assert error.reasons == [
        "feature 'rsi_14' is removed: requests that send it are refused (unknown feature)"
    ]
    assert error.errors == [{"field": "confirm_breaking", "message": error.reasons[0]}]
    assert production() == v1 and AliasMove.objects.count() == 1


def test_a_confirmed_breaking_move_needs_a_reason(v1, narrow):
    for reason in ("", "   "):
        with pytest.raises(RegistryError, match="needs a reason") as caught:
            alias_move(
                model=v1.model,
                alias="production",
                version=narrow,
                confirm_breaking=True,
                reason=reason,
            )
        assert caught.value.field == "reason"
    assert production() == v1


def test_a_confirmed_breaking_move_is_made_and_recorded_with_its_diff(v1, narrow, staff):
    move = alias_move(
        model=v1.model,
        alias="production",
        version=narrow,
        moved_by=staff,
        confirm_breaking=True,
        reason="  bots updated to the 4-feature schema  ",
    )
    move.refresh_from_db()
    assert production() == narrow
    assert (move.breaking, move.reason, move.moved_by) == (
        True,
        "bots updated to the 4-feature schema",
        staff,
    )
    assert move.schema_diff == {
        "added": [],
        "removed": [{"name": "rsi_14", "type": "float"}],
        "retyped": [],
        "reordered": [],
        "unchanged": 4,
        "breaking": [
            "feature 'rsi_14' is removed: requests that send it are refused (unknown feature)"
        ],
    }


def test_a_move_within_the_same_schema_needs_no_confirmation(v1):
    same = register(factories.xgboost_model(seed=1))
    move = alias_move(model=v1.model, alias="production", version=same)
    assert (move.breaking, move.schema_diff["breaking"], move.schema_diff["unchanged"]) == (
        False,
        [],
        len(factories.FEATURES),
    )


def test_a_new_alias_breaks_nobody_and_records_no_diff(v1, narrow):
    move = alias_move(model=v1.model, alias="staging", version=narrow)
    assert (move.from_version, move.breaking, move.schema_diff) == (None, False, {})


@pytest.mark.parametrize(
    "features, types, expected",
    [
        (("macd_hist", "rsi_14", "atr_pct", "trend_strength", "spread_bps"), None, "places"),
        ((*factories.FEATURES, "news_score"), None, "'news_score' (float) is new and required"),
        (
            tuple(factories.FEATURES),
            "rsi_14,macd_hist:int,atr_pct,trend_strength,spread_bps",
            "'macd_hist' changes type from float to int",
        ),
    ],
    ids=["reordered", "added", "retyped"],
)
def test_a_reordered_added_or_retyped_feature_is_breaking_too(v1, features, types, expected):
    trained = factories.xgboost_on(features, seed=4)
    changed = register(trained, features=types)
    with pytest.raises(BreakingMove, match=re.escape(expected)):
        alias_move(model=v1.model, alias="production", version=changed)


def test_the_database_refuses_a_breaking_move_without_a_reason(v1, narrow):
    with pytest.raises(IntegrityError), transaction.atomic():
        AliasMove.objects.create(
            model=v1.model, alias="production", from_version=v1, to_version=narrow, breaking=True
        )


def test_a_move_reviewed_against_another_version_is_refused(v1, narrow):
    same = register(factories.xgboost_model(seed=1))
    alias_move(model=v1.model, alias="production", version=same)  # someone else, meanwhile
    with pytest.raises(AliasMovedMeanwhile, match="points at version 3 now, not at the version 1"):
        alias_move(
            model=v1.model,
            alias="production",
            version=narrow,
            confirm_breaking=True,
            reason="reviewed v1 -> v2",
            expected_current=v1,
        )
    assert production() == same


def test_registering_with_an_alias_that_would_break_clients_registers_nothing(v1):
    with pytest.raises(BreakingMove, match="'rsi_14' is removed"):
        register(factories.xgboost_on(NARROW), alias="production")
    assert list(ModelVersion.objects.values_list("version", flat=True)) == [1]
    version = register(
        factories.xgboost_on(NARROW),
        alias="production",
        confirm_breaking=True,
        move_reason="bots moved to v2's schema",
    )
    move = AliasMove.objects.latest("id")
    assert (production(), move.breaking) == (version, True)
    assert move.reason == "bots moved to v2's schema"


# -- hostile reasons ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason, message",
    [
        ("nul\x00byte", "without control characters such as NUL"),
        ("line\nbreak", "without control characters"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("x" * 10_000, "the reason has 10,000 characters; at most 300"),
    ],
    ids=["nul", "newline", "surrogate", "10k"],
)
def test_a_reason_postgresql_cannot_hold_or_a_history_cannot_show_is_refused(
    v1, narrow, reason, message
):
    with pytest.raises(RegistryError, match=message) as caught:
        alias_move(
            model=v1.model,
            alias="production",
            version=narrow,
            confirm_breaking=True,
            reason=reason,
        )
    assert caught.value.field == "reason"
    assert production() == v1 and AliasMove.objects.count() == 1
    with pytest.raises(RegistryError, match=message):
        alias_rollback(model=v1.model, alias="production", expected_move=last_move(), reason=reason)
    with pytest.raises(RegistryError, match=message):
        register(factories.xgboost_on(NARROW), alias="staging", move_reason=reason)
    assert ModelVersion.objects.count() == 2


def test_markup_in_a_reason_is_kept_as_text(v1, narrow):
    reason = "<script>alert('x')</script> & 300 chars " + "é" * 250
    move = alias_move(
        model=v1.model, alias="production", version=narrow, confirm_breaking=True, reason=reason
    )
    move.refresh_from_db()
    assert move.reason == reason.strip()


# -- rollback -------------------------------------------------------------------------------


def last_move() -> int:
    """The id of the last alias move: what a rollback names as the move it undoes."""
    return AliasMove.objects.latest("id").pk


def test_a_rollback_returns_to_the_version_before_the_last_move(v1, staff):
    same = register(factories.xgboost_model(seed=1), alias="production")
    last = AliasMove.objects.latest("id")
    rollback = alias_rollback(
        model=v1.model, alias="production", expected_move=last_move(), moved_by=staff
    )
    assert production() == v1
    assert (rollback.from_version, rollback.to_version, rollback.rollback_of) == (same, v1, last)
    assert (rollback.reason, rollback.moved_by, rollback.breaking) == (
        f"rollback of move #{last.pk}",
        staff,
        False,
    )
    # Rolling the rollback back serves again the version it withdrew: the same schema,
    # but the confirmation of a breaking move and a reason (issue 27).
    with pytest.raises(BreakingMove, match=f"withdrawn by rollback #{rollback.pk}") as refused:
        alias_rollback(
            model=v1.model,
            alias="production",
            expected_move=last_move(),
            reason="v2 was fine after all",
        )
    assert refused.value.errors == [
        {
            "field": "confirm_breaking",
            "message": f"version 2 was withdrawn by rollback #{rollback.pk} "
            f"(\u201crollback of move #{last.pk}\u201d): rolling that back serves version 2 "
            "again",
        }
    ]
    assert production() == v1
    again = alias_rollback(
        model=v1.model,
        alias="production",
        expected_move=last_move(),
        confirm_breaking=True,
        reason="v2 was fine after all",
    )
    assert production() == same, "a rollback of the rollback goes forward again"
    assert (again.rollback_of, again.reason, again.breaking) == (
        rollback,
        "v2 was fine after all",
        True,
    )
    assert again.schema_diff["breaking"] == [refused.value.errors[0]["message"]]


def test_a_rollback_that_breaks_clients_needs_the_same_confirmation(v1, narrow):
    alias_move(
        model=v1.model, alias="production", version=narrow, confirm_breaking=True, reason="r"
    )
    # Clients moved to v2's four features; going back to v1 wants rsi_14 from them again.
    with pytest.raises(BreakingMove, match=r"'rsi_14' \(float\) is new and required"):
        alias_rollback(model=v1.model, alias="production", expected_move=last_move())
    with pytest.raises(RegistryError, match="needs a reason"):
        alias_rollback(
            model=v1.model, alias="production", expected_move=last_move(), confirm_breaking=True
        )
    assert production() == narrow
    rollback = alias_rollback(
        model=v1.model,
        alias="production",
        expected_move=last_move(),
        confirm_breaking=True,
        reason="v2's AUC is 0.55",
    )
    assert (production(), rollback.breaking, rollback.reason) == (v1, True, "v2's AUC is 0.55")


def test_a_rollback_needs_an_earlier_version_and_a_fresh_review(v1):
    with pytest.raises(RegistryError, match=r"created by its last move \(move #\d+\)"):
        alias_rollback(model=v1.model, alias="production", expected_move=last_move())
    with pytest.raises(NotFound, match="has no alias 'canary'"):
        alias_rollback(model=v1.model, alias="canary", expected_move=last_move())
    register(factories.xgboost_model(seed=1), alias="production")
    last = AliasMove.objects.latest("id")
    alias_rollback(model=v1.model, alias="production", expected_move=last.pk)
    # The same click again: the rollback is the last move now, and is not undone.
    with pytest.raises(AliasMovedMeanwhile, match=f"not #{last.pk}"):
        alias_rollback(model=v1.model, alias="production", expected_move=last.pk)
    assert production() == v1


# -- the operators' commands ----------------------------------------------------------------


def test_move_alias_refuses_a_breaking_move_until_confirmed_with_a_reason(v1, narrow):
    with pytest.raises(CommandError, match=r"'rsi_14' is removed.*--confirm-breaking"):
        run("move_alias", "edge", "production", "2")
    with pytest.raises(CommandError, match="needs a reason"):
        run("move_alias", "edge", "production", "2", "--confirm-breaking")
    assert production() == v1
    output = run(
        "move_alias", "edge", "production", "2", "--confirm-breaking", "--reason", "bots ready"
    )
    assert "moved from version 1 to version 2 (breaks clients: confirmed)" in output
    assert AliasMove.objects.latest("id").reason == "bots ready"


def test_rollback_alias_goes_back_and_checks_like_a_move(v1, narrow):
    run("move_alias", "edge", "production", "2", "--confirm-breaking", "--reason", "ready")
    last = str(last_move())
    with pytest.raises(
        CommandError,
        match=f"name the move you undo with --move: the last move "
        f"of edge:production is #{last} \\(version 1 -> version 2, ",
    ):
        run("rollback_alias", "edge", "production")
    with pytest.raises(CommandError, match=r"'rsi_14' \(float\) is new and required"):
        run("rollback_alias", "edge", "production", "--move", last)
    with pytest.raises(CommandError, match=f"its last move is #{last} now, not #1"):
        run("rollback_alias", "edge", "production", "--move", "1")
    output = run(
        "rollback_alias",
        "edge",
        "production",
        "--move",
        last,
        "--confirm-breaking",
        "--reason",
        "AUC 0.55",
    )
    move = AliasMove.objects.latest("id")
    assert f"edge:production rolled back from version 2 to version 1 (move #{move.pk}" in output
    assert (production(), move.reason) == (v1, "AUC 0.55")
    with pytest.raises(CommandError, match="no model named 'ghost'"):
        run("rollback_alias", "ghost", "production")


def test_register_and_train_model_refuse_a_breaking_alias_move_unless_confirmed(tmp_path, v1):
    path = tmp_path / "model.json"
    path.write_bytes(factories.xgboost_on(NARROW).data)
    with pytest.raises(CommandError, match=r"'rsi_14' is removed.*--confirm-breaking"):
        run("register_model", str(path), "--name", "edge", "--alias", "production")
    run(
        "register_model",
        str(path),
        "--name",
        "edge",
        "--alias",
        "production",
        "--confirm-breaking",
        "--reason",
        "bots ready",
    )
    assert production().version == 2
    # train_model on fewer features, to a production alias trained on all of them.
    run("train_model", "--frameworks", "xgboost", "--rows", "400", "--rounds", "5", "--alias", "p")
    with pytest.raises(CommandError, match="'rsi_14' is removed"):
        run(
            "train_model",
            "--frameworks",
            "xgboost",
            "--rows",
            "400",
            "--rounds",
            "5",
            "--features",
            "macd_hist,atr_pct",
            "--alias",
            "p",
        )


def test_the_refusal_has_the_apis_one_error_body(v1, narrow):
    from backoffice.core.api.errors import exception_handler

    with pytest.raises(BreakingMove) as caught:
        alias_move(model=v1.model, alias="production", version=narrow)
    response = exception_handler(caught.value, {})
    assert response.status_code == 409
    assert response.data == {
        "detail": str(caught.value),
        "code": "breaking_change",
        "errors": [
            {
                "field": "confirm_breaking",
                "message": "feature 'rsi_14' is removed: requests that send it are refused "
                "(unknown feature)",
            }
        ],
    }
