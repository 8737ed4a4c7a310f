"""Version numbers under concurrent registration, on PostgreSQL with real connections.

Each registration brings a file of its own (the same file twice is one version: the
last test races a double submit).
"""

import threading

import pytest
from django.db import connection

from models_registry.errors import DuplicateVersion
from models_registry.models import ModelVersion
from models_registry.services import model_register
from tests.models_registry import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_numbers_concurrent_registrations_without_gaps_or_duplicates():
    assert connection.vendor == "postgresql"
    files = [factories.xgboost_model(rounds=5, seed=seed).data for seed in range(19)]
    model_register(name="race", data=files[0], filename="m.json")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def register(thread: int):
        try:
            barrier.wait(10)
            for turn in range(3):
                data = files[1 + thread * 3 + turn]
                model_register(name="race", data=data, filename="m.json")
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    numbers = sorted(
        ModelVersion.objects.filter(model__name="race").values_list("version", flat=True)
    )
    assert numbers == list(range(1, 20))


def test_it_creates_a_new_model_once_when_its_first_versions_race():
    files = [factories.xgboost_model(rounds=5, seed=seed).data for seed in range(4)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def register(thread: int):
        try:
            barrier.wait(10)
            model_register(name="fresh", data=files[thread], filename="m.json")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    numbers = sorted(
        ModelVersion.objects.filter(model__name="fresh").values_list("version", flat=True)
    )
    assert numbers == [1, 2, 3, 4]


def test_a_double_submit_racing_on_two_workers_makes_one_version():
    trained = factories.xgboost_model()
    model_register(name="twice", data=factories.lightgbm_model().data, filename="m.txt")
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def register():
        try:
            barrier.wait(10)
            outcomes.append(
                model_register(name="twice", data=trained.data, filename=trained.filename)
            )
        except BaseException as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    registered = [o for o in outcomes if isinstance(o, ModelVersion)]
    refused = [o for o in outcomes if isinstance(o, DuplicateVersion)]
    assert (len(registered), len(refused)) == (1, 3), outcomes
    assert {r.existing.pk for r in refused} == {registered[0].pk}
    assert ModelVersion.objects.filter(model__name="twice").count() == 2
