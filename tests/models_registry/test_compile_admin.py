"""The admin's version page says whether a version is compiled, by whom and when.

Compiling is done by the job engine in the background or by an operator at the shell:
the admin shows it, and offers no way to compile or to upload a library.
"""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from models_registry.models import ModelVersion
from models_registry.services import model_register
from tests.models_registry import factories
from tests.models_registry.factories import needs_gcc

pytestmark = pytest.mark.django_db


def register(trained, name: str, **kwargs) -> ModelVersion:
    return model_register(data=trained.data, filename=trained.filename, name=name, **kwargs)


def page(client, version) -> str:
    response = client.get(reverse("admin:models_registry_modelversion_change", args=[version.pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@needs_gcc
def test_a_compiled_version_shows_who_compiled_it_when_and_the_library(viewer_client):
    version = register(factories.xgboost_model(), "edge")
    call_command("compile_model", "edge", "1", stdout=io.StringIO())
    version.refresh_from_db()
    html = page(viewer_client, version)
    assert f"compiled by <strong>{version.compiled_by}</strong> at " in html
    assert version.compiled_at.strftime("%Y-%m-%d %H:%M:%S UTC") in html
    assert f"<code>{version.compiled_sha256}</code>" in html
    assert f"({version.compiled_size} bytes" in html
    assert "largest difference from the booster" in html and "tl2cgen 1.0.0" in html


def test_an_uncompiled_version_says_the_booster_serves_until_the_job_compiles_it(viewer_client):
    version = register(factories.lightgbm_model(), "edge")
    html = page(viewer_client, version)
    assert "not compiled yet: the booster serves until the job engine has compiled it" in html
    assert "<code>manage.py compile_model edge 1</code>" in html


def test_an_uncompiled_version_says_how_an_operator_compiles_it_when_the_job_is_off(
    viewer_client, settings
):
    settings.MODEL_COMPILE_IN_BACKGROUND = False
    version = register(factories.lightgbm_model(), "edge")
    html = page(viewer_client, version)
    assert "background compiling is off" in html
    assert "<code>manage.py compile_model edge 1</code>" in html


def test_another_framework_says_it_does_not_compile(viewer_client):
    trained = factories.sklearn_pipeline()
    version = register(trained, "edge-sk", features=",".join(trained.features))
    assert "not compilable (scikit-learn (skops: loads no code))" in page(viewer_client, version)


@needs_gcc
def test_the_version_list_marks_compiled_versions(viewer_client):
    register(factories.xgboost_model(), "edge")
    register(factories.lightgbm_model(), "edge-lgbm")
    call_command("compile_model", "edge", "1", stdout=io.StringIO())
    response = viewer_client.get(reverse("admin:models_registry_modelversion_changelist"))
    html = response.content.decode()
    assert html.count('alt="True"') == 1 and html.count('alt="False"') == 1


def test_the_admin_offers_no_way_to_compile_or_to_set_a_library(client, staff):
    client.force_login(staff)  # every registry permission
    version = register(factories.xgboost_model(), "edge")
    url = reverse("admin:models_registry_modelversion_change", args=[version.pk])
    html = client.get(url).content.decode()
    assert 'name="compiled_path"' not in html and 'name="compiled_sha256"' not in html
    response = client.post(url, {"compiled_path": "artifacts/x.so", "compiled_sha256": "a" * 64})
    assert response.status_code == 403
    version.refresh_from_db()
    assert not version.is_compiled
