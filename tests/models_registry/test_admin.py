"""The registry admin: upload a model file, read versions, move an alias with confirmation.

Uploads are posted without following the redirect: the answer itself must say what
happened (302 to the new version, or 200 with the form's errors), once.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_registry.models import AliasMove, ModelAlias, ModelVersion
from models_registry.services import model_register
from tests.models_registry import factories

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
    return client.post(ADD_URL, data)


def version_url(version) -> str:
    return reverse("admin:models_registry_modelversion_change", args=[version.pk])


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_an_upload_registers_one_version_and_redirects_to_it(staff_client, staff):
    response = upload(
        staff_client, factories.xgboost_model(), alias="staging", metrics='{"auc": 0.74}'
    )
    version = ModelVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == version_url(version)
    assert (version.version, version.created_by, version.metrics) == (1, staff, {"auc": 0.74})
    assert ModelAlias.objects.get().name == "staging"

    page = staff_client.get(response["Location"])
    html = page.content.decode()
    assert [str(m) for m in page.context["messages"]] == [
        f"edge version 1 registered (XGBoost (JSON / UBJ), sha256 {version.sha256[:12]}…); "
        "staging now points at version 1."
    ]
    assert "errorlist" not in html and "errornote" not in html
    assert "This field cannot be blank" not in html
    for feature in factories.FEATURES:
        assert f"<code>{feature}</code>" in html
    assert "0.74" in html and version.sha256 in html


def test_the_same_file_posted_twice_makes_one_version_and_says_which(staff_client):
    trained = factories.xgboost_model()
    first = upload(staff_client, trained, alias="production")
    second = upload(staff_client, trained, alias="production")
    (version,) = ModelVersion.objects.all()
    assert (first.status_code, second.status_code) == (302, 200)
    (message,) = second.context["form"].errors["file"]
    assert message.startswith("edge already has this exact file as version 1")
    html = second.content.decode()
    assert "Nothing was registered" in html
    assert f'href="{version_url(version)}"' in html, "a link to the version that has it"
    assert AliasMove.objects.count() == 1


def test_another_file_for_the_same_model_is_its_next_version(staff_client):
    upload(staff_client, factories.xgboost_model())
    response = upload(staff_client, factories.xgboost_model(seed=1))
    second = ModelVersion.objects.get(version=2)
    assert response["Location"] == version_url(second)
    page = staff_client.get(response["Location"])
    shown = [str(m) for m in page.context["messages"]]  # the first upload's too: never shown
    assert shown[-1].startswith("edge version 2 registered")


def test_a_model_manager_uploads_a_skops_pipeline_to_production(client, model_manager):
    client.force_login(model_manager)
    response = upload(
        client, factories.sklearn_pipeline(), features="a,b,c,d,e", alias="production"
    )
    version = ModelVersion.objects.get()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (version.framework, version.created_by) == ("sklearn-skops", model_manager)
    assert ModelAlias.objects.get(name="production").version == version


@pytest.mark.parametrize("filename", ["evil.joblib", "evil.pkl", "evil.pickle", "evil.skops"])
def test_a_crafted_pickle_from_a_model_manager_is_refused_and_never_runs(
    client, model_manager, tmp_path, filename
):
    marker = tmp_path / "code-ran"
    client.force_login(model_manager)
    crafted = factories.Trained(factories.malicious_pickle(marker), filename, [], None, [])
    response = upload(client, crafted, alias="production")
    assert response.status_code == 200
    (message,) = response.context["form"].errors["file"]
    if filename.endswith(".skops"):
        assert "not a skops file" in message
    else:
        assert "runs code when it is loaded, so it is not accepted here" in message
        assert ".skops" in message and "ONNX" in message
    assert "Nothing was registered" in response.content.decode()
    assert not ModelVersion.objects.exists() and not ModelAlias.objects.exists()
    assert not marker.exists(), "the pickle's code ran"


def test_the_pickle_framework_cannot_be_chosen_in_the_admin(client, model_manager, tmp_path):
    marker = tmp_path / "code-ran"
    client.force_login(model_manager)
    crafted = factories.Trained(factories.malicious_pickle(marker), "evil.bin", [], None, [])
    response = upload(client, crafted, framework="sklearn-joblib")
    assert "Select a valid choice" in str(response.context["form"].errors["framework"])
    assert not marker.exists() and not ModelVersion.objects.exists()


def test_a_crafted_skops_file_is_refused_naming_its_untrusted_type(client, model_manager, tmp_path):
    marker = tmp_path / "code-ran"
    client.force_login(model_manager)
    crafted = factories.Trained(factories.malicious_skops_exec(marker), "m.skops", [], None, [])
    response = upload(client, crafted, alias="production")
    (message,) = response.context["form"].errors["file"]
    assert "types this server does not trust: builtins.exec" in message
    assert not marker.exists() and not ModelVersion.objects.exists()


def test_the_add_link_leads_to_the_upload_view(staff_client):
    changelist = staff_client.get("/admin/models_registry/modelversion/")
    assert f'href="{ADD_URL}"' in changelist.content.decode()
    assert reverse("admin:models_registry_modelversion_add") == ADD_URL
    page = staff_client.get(ADD_URL)
    assert page.status_code == 200
    assert "admin/models_registry/modelversion/upload.html" in [t.name for t in page.templates]
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html and "Upload and register" in html
    assert '<option value="sklearn-joblib"' not in html


def test_staff_who_may_not_add_versions_cannot_upload(client, viewer):
    client.force_login(viewer)
    assert client.get(ADD_URL).status_code == 403
    response = client.post(
        ADD_URL,
        {
            "model_name": "edge",
            "framework": "auto",
            "task": "binary_classification",
            "file": SimpleUploadedFile("m.json", factories.xgboost_model().data),
        },
    )
    assert response.status_code == 403
    assert not ModelVersion.objects.exists()
    changelist = client.get("/admin/models_registry/modelversion/")
    assert ADD_URL not in changelist.content.decode()


def test_an_upload_may_move_an_alias_only_for_who_may_move_aliases(client, django_user_model):
    from django.contrib.auth.models import Permission

    uploader = django_user_model.objects.create_user("ulla", is_staff=True)
    uploader.user_permissions.set(
        Permission.objects.filter(codename__in=["add_modelversion", "view_modelversion"])
    )
    client.force_login(uploader)
    response = upload(client, factories.xgboost_model(), alias="production")
    assert "you may not move aliases" in str(response.context["form"].errors["alias"])
    assert not ModelVersion.objects.exists()
    assert upload(client, factories.xgboost_model()).status_code == 302


@pytest.mark.parametrize(
    "trained, filename, fields, field, message",
    [
        (factories.xgboost_model(), "model.exe", {}, "file", "a .exe file is not a model"),
        (
            factories.xgboost_model(),
            "model.json",
            {"features": "a,b"},
            "features",
            "differ from the names",
        ),
        (factories.lightgbm_model(named=False), "model.txt", {}, "features", "no feature names"),
        (factories.xgboost_model(), "model.json", {"metrics": "[1]"}, "metrics", "JSON object"),
        (
            factories.xgboost_model(),
            "model.json",
            {"metrics": '{"auc": NaN}'},
            "metrics",
            "use finite numbers",
        ),
        (factories.xgboost_model(), "model.json", {"model_name": "a b"}, "model_name", "slug"),
    ],
)
def test_a_bad_upload_is_refused_on_the_field_at_fault(
    staff_client, trained, filename, fields, field, message
):
    response = upload(staff_client, trained, filename, **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ModelVersion.objects.exists()


def test_garbage_with_a_model_extension_is_refused(staff_client):
    garbage = factories.Trained(b"this is no model", "model.txt", [], None, [])
    response = upload(staff_client, garbage)
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
    assert f"<h1>Model {v1.model.name}</h1>" in model_page.content.decode()
    assert "Change registered model" not in model_page.content.decode()


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
