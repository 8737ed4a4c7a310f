"""Version numbers under concurrent registration, on PostgreSQL with real connections."""

import threading

import pytest
from django.db import connection

from models_registry.models import ModelVersion
from models_registry.services import model_register
from tests.registry import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_numbers_concurrent_registrations_without_gaps_or_duplicates():
    assert connection.vendor == "postgresql"
    trained = factories.xgboost_model()
    model_register(name="race", data=trained.data, filename=trained.filename)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def register():
        try:
            barrier.wait(10)
            for _ in range(3):
                model_register(name="race", data=trained.data, filename=trained.filename)
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(6)]
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
    trained = factories.lightgbm_model()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def register():
        try:
            barrier.wait(10)
            model_register(name="fresh", data=trained.data, filename=trained.filename)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    numbers = sorted(
        ModelVersion.objects.filter(model__name="fresh").values_list("version", flat=True)
    )
    assert numbers == [1, 2, 3, 4]
