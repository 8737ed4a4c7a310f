"""The registry admin: upload a model file, read versions, move an alias with confirmation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from models_registry.models import AliasMove, ModelAlias, ModelVersion
from models_registry.services import model_register
from tests.registry import factories

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

ADD_URL = "/admin/models_registry/modelversion/add/"


def upload(client, trained, filename=None, **fields):
    data = {
        "model_name": "edge",
        "framework": "auto",
        "task": "binary_classification",
        "file": SimpleUploadedFile(filename or trained.filename, trained.data),
        **fields,
    }
    return client.post(ADD_URL, data, follow=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_staff_upload_a_model_and_see_its_schema_and_metrics(staff_client, staff):
    response = upload(
        staff_client, factories.xgboost_model(), alias="staging", metrics='{"auc": 0.74}'
    )
    assert response.status_code == 200
    version = ModelVersion.objects.get()
    assert (version.version, version.created_by, version.metrics) == (1, staff, {"auc": 0.74})
    assert ModelAlias.objects.get().name == "staging"
    page = staff_client.get(f"/admin/models_registry/modelversion/{version.pk}/change/")
    html = page.content.decode()
    for feature in factories.FEATURES:
        assert f"<code>{feature}</code>" in html
    assert "0.74" in html and version.sha256 in html


def test_a_skops_upload_by_a_model_manager_is_accepted(staff_client):
    upload(staff_client, factories.sklearn_pipeline(), features="a,b,c,d,e")
    assert ModelVersion.objects.get().framework == "sklearn-skops"


@pytest.mark.parametrize(
    "trained, filename, fields, message",
    [
        (factories.xgboost_model(), "model.exe", {}, "a .exe file is not a model"),
        (factories.xgboost_model(), "model.json", {"features": "a,b"}, "differ from the names"),
        (factories.lightgbm_model(named=False), "model.txt", {}, "carries no feature names"),
        (factories.xgboost_model(), "model.json", {"metrics": "[1]"}, "give a JSON object"),
    ],
)
def test_a_bad_upload_is_refused_on_the_form(staff_client, trained, filename, fields, message):
    response = upload(staff_client, trained, filename, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_garbage_with_a_model_extension_is_refused(staff_client):
    response = staff_client.post(
        ADD_URL,
        {
            "model_name": "edge",
            "framework": "auto",
            "task": "binary_classification",
            "file": SimpleUploadedFile("model.txt", b"this is no model"),
        },
    )
    assert "not a LightGBM text model" in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(staff_client, settings):
    settings.MODEL_UPLOAD_MAX_MB = 1
    big = factories.Trained(b"{" + b" " * (1024 * 1024 + 1), "model.json", [], None, [])
    response = upload(staff_client, big)
    assert "the limit is 1 MB" in response.content.decode()


def test_versions_can_be_neither_edited_nor_deleted(staff_client):
    version = model_register(
        name="edge", data=factories.xgboost_model().data, filename="model.json"
    )
    url = f"/admin/models_registry/modelversion/{version.pk}/"
    assert staff_client.post(url + "change/", {}).status_code == 403
    assert staff_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    assert ModelVersion.objects.filter(pk=version.pk).exists()


def test_moving_an_alias_asks_for_confirmation_first(staff_client, staff):
    trained, newer = factories.xgboost_model(), factories.xgboost_model(seed=1)
    v1 = model_register(name="edge", data=trained.data, filename="m.json", alias="production")
    v2 = model_register(name="edge", data=newer.data, filename="m.json", metrics={"auc": 0.8})
    url = f"/admin/models_registry/registeredmodel/{v1.model.pk}/move-alias/"
    assert "Review the move" in staff_client.get(url).content.decode()

    review = staff_client.post(url, {"alias": "production", "version": v2.pk, "reason": "AUC up"})
    html = review.content.decode()
    assert review.status_code == 200
    assert "Yes, move production to version 2" in html
    assert "version 1" in html and "0.8" in html
    assert ModelAlias.objects.get().version == v1, "nothing moves before the confirmation"

    done = staff_client.post(
        url,
        {"alias": "production", "version": v2.pk, "reason": "AUC up", "confirm": "yes"},
        follow=True,
    )
    shown = [str(m) for m in done.context["messages"]]
    assert shown == ["edge:production now points at version 2."]
    assert ModelAlias.objects.get().version == v2
    move = AliasMove.objects.latest("id")
    assert (move.from_version, move.to_version, move.moved_by, move.reason) == (
        v1,
        v2,
        staff,
        "AUC up",
    )
    model_page = staff_client.get(f"/admin/models_registry/registeredmodel/{v1.model.pk}/change/")
    assert "Move an alias" in model_page.content.decode()
    assert "v1 → v2" in model_page.content.decode()


def test_staff_without_the_alias_permission_cannot_move_one(client, viewer):
    trained = factories.xgboost_model()
    v1 = model_register(name="edge", data=trained.data, filename="m.json", alias="production")
    client.force_login(viewer)
    url = f"/admin/models_registry/registeredmodel/{v1.model.pk}/move-alias/"
    assert (
        client.post(url, {"alias": "production", "version": v1.pk, "confirm": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/models_registry/registeredmodel/").status_code == 200


def test_the_registry_lists_render(staff_client):
    model_register(
        name="edge", data=factories.lightgbm_model().data, filename="m.txt", alias="production"
    )
    for page in ("registeredmodel", "modelversion", "aliasmove"):
        response = staff_client.get(f"/admin/models_registry/{page}/")
        assert response.status_code == 200, page
        assert "edge" in response.content.decode()
    assert staff_client.get(ADD_URL).status_code == 200
