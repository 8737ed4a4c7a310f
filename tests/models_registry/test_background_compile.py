"""The job engine compiles registered tree versions in the background (issue 30).

models_registry.auto_compile.compile_next is the job's body: it picks the version that
waits, builds and checks its library through the operator's own service, and records
it; until then the booster serves. Libraries are really compiled (gcc) from really
trained models; the races run on separate connections of the real PostgreSQL.
"""

import io
import threading
from datetime import timedelta

import numpy as np
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from models_registry import auto_compile
from models_registry.artifacts import native
from models_registry.artifacts import storage as artifacts
from models_registry.compiling import CompiledRecord, compiled_predictor_load
from models_registry.models import ModelVersion
from models_registry.services import alias_move, model_register, predictor_load
from tests.models_registry import factories
from tests.models_registry.factories import needs_gcc

pytestmark = pytest.mark.django_db


def register(trained, name: str, **kwargs) -> ModelVersion:
    return model_register(data=trained.data, filename=trained.filename, name=name, **kwargs)


def fresh(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_related("model").get(pk=version.pk)


def age(version: ModelVersion, days: int) -> None:
    ModelVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


@needs_gcc
def test_the_job_compiles_a_freshly_registered_version_that_agrees_with_its_booster():
    trained = factories.xgboost_model()
    version = register(trained, "edge", alias="production")
    assert CompiledRecord.of(version) is None, "registered: the booster serves"
    assert list(auto_compile.versions_waiting()) == [version]

    done = auto_compile.compile_next()

    version = fresh(version)
    assert done == version and version.is_compiled and version.compile_hold == ""
    assert version.compiled_by.startswith("job-engine@")
    assert 0 <= version.compiled_max_error <= native.TOLERANCE
    compiled = compiled_predictor_load(
        framework=version.framework,
        record=CompiledRecord.of(version),
        n_features=len(version.feature_names),
        output_kind=version.output_kind,
    )
    got = np.array(compiled.predict(trained.probe))
    assert np.abs(got - np.array(trained.expected)).max() <= 1e-6
    assert list(auto_compile.versions_waiting()) == [], "nothing waits any more"
    assert auto_compile.compile_next() is None


@needs_gcc
def test_served_versions_go_first_then_the_newest_and_old_unserved_ones_wait_for_an_operator(
    settings,
):
    settings.MODEL_COMPILE_RECENT_DAYS = 7
    old_served = register(factories.xgboost_model(seed=1), "served")
    alias_move(model=old_served.model, alias="production", version=old_served, moved_by=None)
    old_unserved = register(factories.xgboost_model(seed=2), "shelf")
    newer = register(factories.lightgbm_model(), "new-lgbm")
    newest = register(factories.xgboost_model(seed=3), "new-xgb")
    age(old_served, 60)
    age(old_unserved, 60)
    age(newer, 1)
    sk = factories.sklearn_pipeline()
    register(sk, "not-a-tree", features=",".join(sk.features))

    assert list(auto_compile.versions_waiting()) == [old_served, newest, newer]
    compiled = [str(auto_compile.compile_next()) for _ in range(4)]
    assert compiled == ["served@1", "new-xgb@1", "new-lgbm@1", "None"]
    assert not fresh(old_unserved).is_compiled


def test_a_version_the_service_refuses_is_held_with_the_reason_and_shown_in_the_admin(
    client, django_user_model
):
    """A refusal the job cannot fix (here: the artifact changed on disk since it was
    registered) is recorded once; the booster's own check then refuses to serve that
    artifact too, so nothing serves numbers nobody checked."""
    version = register(factories.xgboost_model(), "edge")
    artifacts.resolve(version.artifact_path).write_bytes(b'{"tampered": true}')

    held = auto_compile.compile_next()

    version = fresh(version)
    assert held == version and not version.is_compiled
    assert "was not compiled" in version.compile_hold, version.compile_hold
    assert "changed after registration" in version.compile_hold
    assert list(auto_compile.versions_waiting()) == [], "not tried again every run"
    assert auto_compile.compile_next() is None
    viewer = django_user_model.objects.create_user("vic", password="pw-vic-1", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="models_registry", codename__startswith="view_"
        )
    )
    client.force_login(viewer)
    url = reverse("admin:models_registry_modelversion_change", args=[version.pk])
    html = client.get(url).content.decode()
    assert "not compiled: the booster serves. The job engine leaves it alone:" in html
    assert "manage.py compile_model edge 1" in html


@needs_gcc
def test_an_operator_compile_clears_a_hold_and_a_removal_sets_one():
    trained = factories.xgboost_model()
    version = register(trained, "edge")
    path = artifacts.resolve(version.artifact_path)
    path.write_bytes(b"not a model")
    auto_compile.compile_next()
    assert fresh(version).compile_hold
    path.write_bytes(trained.data)  # the operator puts the right file back

    call_command("compile_model", "edge", "1", stdout=io.StringIO())
    assert fresh(version).is_compiled and fresh(version).compile_hold == ""

    call_command("compile_model", "edge", "1", "--remove", stdout=io.StringIO())
    version = fresh(version)
    assert not version.is_compiled
    assert version.compile_hold.startswith("its library was removed by ")
    assert auto_compile.compile_next() is None, "the job does not undo the operator"


def test_the_job_does_nothing_when_background_compiling_is_off(settings):
    settings.MODEL_COMPILE_IN_BACKGROUND = False
    version = register(factories.xgboost_model(), "edge", alias="production")
    assert auto_compile.compile_next() is None
    assert not fresh(version).is_compiled and fresh(version).compile_hold == ""


def test_the_job_is_scheduled_by_beat_and_registered_with_celery():
    from django.conf import settings

    from backoffice.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["compile-models"]
    assert entry["task"] == "models_registry.compile_models"
    assert entry["schedule"] == settings.MODEL_COMPILE_EVERY_SECONDS
    app.loader.import_default_modules()
    assert "models_registry.compile_models" in app.tasks


@needs_gcc
@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_once_record_one_library_and_hold_nothing():
    """Two workers' runs of the job pick the same version: both build it, the service's
    row lock lets the first record it and refuses the second, which is no failure."""
    trained = factories.xgboost_model()
    version = register(trained, "edge", alias="production")
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait(timeout=30)
            results.append(auto_compile.compile_next())
        except Exception as exc:  # the assertion below names it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    version = fresh(version)
    assert version.is_compiled and version.compile_hold == ""
    assert [r.pk for r in results] == [version.pk, version.pk]
    booster = predictor_load(
        framework=version.framework,
        artifact_path=version.artifact_path,
        sha256=version.sha256,
        size=version.size,
        pickle_trusted=False,
    )
    assert np.allclose(booster.predict(trained.probe), trained.expected)
