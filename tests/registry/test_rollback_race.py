"""Rollbacks and reviewed moves racing on PostgreSQL with real connections: the model's
row lock serialises them, and what each mover reviewed decides who wins."""

import threading

import pytest
from django.db import connection

from models_registry.models import AliasMove, ModelAlias
from models_registry.services import (
    AliasMovedMeanwhile,
    alias_move,
    alias_rollback,
    model_register,
)
from tests.registry import factories

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, action) -> list[object]:
    """Run ``action()`` in ``count`` threads at once; their results or exceptions."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = []

    def run():
        try:
            barrier.wait(10)
            outcomes.append(action())
        except BaseException as exc:  # the outcome under test
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
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
