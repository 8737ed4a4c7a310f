"""Rollbacks, reviewed moves, promotions and challenger changes racing on PostgreSQL with
real connections (issue 26, item 4): the model's row lock serialises them, each names
what its maker saw (the move a rollback undoes, the alias's version and challenger),
the alias row is written by compare-and-set, and exactly one of a racing set wins."""

import threading

import pytest
from django.db import connection

from models_registry.challengers import challenger_clear, challenger_promote, challenger_set
from models_registry.errors import AliasMovedMeanwhile
from models_registry.models import AliasMove, ChallengerChange, ModelAlias
from models_registry.services import (
    _alias_compare_and_set,
    alias_move,
    alias_rollback,
    model_register,
)
from tests.models_registry import factories

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, action) -> list[object]:
    """Run ``action()`` in ``count`` threads at once; their results or exceptions."""
    return race_each([action] * count)


def race_each(actions) -> list[object]:
    """Run each of ``actions`` in a thread of its own (its own database connection), all
    at once; their results or exceptions, in the order of ``actions``."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(10)
            outcomes[index] = action()
        except BaseException as exc:  # the outcome under test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_a_rollback_clicked_on_four_workers_at_once_rolls_back_once():
    assert connection.vendor == "postgresql"
    v1 = model_register(
        name="race", data=factories.xgboost_model().data, filename="m.json", alias="production"
    )
    model_register(
        name="race",
        data=factories.xgboost_model(seed=1).data,
        filename="m.json",
        alias="production",
    )
    last = AliasMove.objects.latest("id")
    outcomes = race(
        4, lambda: alias_rollback(model=v1.model, alias="production", expected_move=last.pk)
    )
    moves = [o for o in outcomes if isinstance(o, AliasMove)]
    refused = [o for o in outcomes if isinstance(o, AliasMovedMeanwhile)]
    assert (len(moves), len(refused)) == (1, 3), outcomes
    assert ModelAlias.objects.get(model=v1.model, name="production").version == v1
    assert AliasMove.objects.filter(model=v1.model).count() == 3


def test_two_reviewed_moves_from_the_same_version_make_one_move():
    v1 = model_register(
        name="race", data=factories.xgboost_model().data, filename="m.json", alias="production"
    )
    targets = [
        model_register(name="race", data=factories.xgboost_model(seed=s).data, filename="m.json")
        for s in (1, 2)
    ]
    turn = iter(targets)
    lock = threading.Lock()

    def move():
        with lock:
            target = next(turn)
        return alias_move(model=v1.model, alias="production", version=target, expected_current=v1)

    outcomes = race(2, move)
    assert sum(isinstance(o, AliasMove) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, AliasMovedMeanwhile) for o in outcomes) == 1, outcomes


def versions(count: int):
    """Versions 1..count of model "race" (the same schema), version 1 in production."""
    made = [
        model_register(
            name="race",
            data=factories.xgboost_model(seed=seed).data,
            filename="m.json",
            alias="production" if seed == 0 else None,
        )
        for seed in range(count)
    ]
    return made


def production():
    return ModelAlias.objects.select_related("version", "challenger").get(
        model__name="race", name="production"
    )


def test_a_promotion_and_challenger_changes_clicked_at_once_make_exactly_one_change():
    v1, v2, v3, v4 = versions(4)
    model = v1.model
    challenger_set(
        model=model,
        alias="production",
        version=v2,
        mode="shadow",
        expected_version=v1,
        expected_challenger=None,
    )
    seen = {"expected_version": v1, "expected_challenger": v2}
    actions = [
        lambda: challenger_promote(model=model, alias="production", evidence_rows=500, **seen),
        lambda: challenger_set(model=model, alias="production", version=v3, mode="shadow", **seen),
        lambda: challenger_set(model=model, alias="production", version=v4, mode="shadow", **seen),
        lambda: challenger_clear(model=model, alias="production", expected_challenger=v2),
    ]
    outcomes = race_each(actions)
    won = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, AliasMovedMeanwhile)]
    assert len(won) == 1 and len(refused) == 3, outcomes
    alias = production()
    expected_state = {
        0: (v2, None),  # promoted: the challenger is the alias's version
        1: (v1, v3),
        2: (v1, v4),
        3: (v1, None),
    }[won[0]]
    assert (alias.version, alias.challenger) == expected_state
    assert ChallengerChange.objects.filter(model=model).count() == 2  # the first set, the winner
    assert AliasMove.objects.filter(model=model).count() == (2 if won[0] == 0 else 1)


def test_a_rollback_and_a_promotion_clicked_at_once_make_exactly_one_move():
    v1, v2, v3 = versions(3)
    model = v1.model
    moved = alias_move(model=model, alias="production", version=v2)
    challenger_set(
        model=model,
        alias="production",
        version=v3,
        mode="shadow",
        expected_version=v2,
        expected_challenger=None,
    )
    outcomes = race_each(
        [
            lambda: alias_rollback(model=model, alias="production", expected_move=moved.pk),
            lambda: challenger_promote(
                model=model,
                alias="production",
                expected_version=v2,
                expected_challenger=v3,
                evidence_rows=500,
            ),
        ]
    )
    moves = [o for o in outcomes if isinstance(o, AliasMove)]
    refused = [o for o in outcomes if isinstance(o, AliasMovedMeanwhile)]
    assert (len(moves), len(refused)) == (1, 1), outcomes
    alias = production()
    if moves[0].rollback_of_id:
        # Rolled back to version 1; the shadow of version 2 stays until someone removes it.
        assert (alias.version, alias.challenger) == (v1, v3)
    else:
        assert (alias.version, alias.challenger) == (v3, None)
    assert AliasMove.objects.filter(model=model).count() == 3


def test_the_alias_row_is_written_only_if_it_still_holds_what_was_decided_on():
    """The compare-and-set itself, past the lock: a writer that changed the row between
    the check and the write (here: a plain UPDATE) makes the change refused."""
    v1, v2, v3 = versions(3)
    alias = production()
    ModelAlias.objects.filter(pk=alias.pk).update(version=v2)
    with pytest.raises(AliasMovedMeanwhile, match="changed while this change was being made"):
        _alias_compare_and_set(alias, expected_version_id=v1.pk, version=v3)
    assert production().version == v2
