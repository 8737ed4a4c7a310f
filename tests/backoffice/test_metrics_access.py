"""Who reads GET /metrics (issue 26, item 13): the scrape token, or a staff session with
backoffice.view_metrics, which the Operator group holds (migration backoffice/0002).
Before, any staff account, even one in no group, read it."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.admin.conftest import staff_member

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-the-test-0123456789"


def run_data_migration(app: str, name: str, function: str) -> None:
    """A data migration's function again (a transactional test empties the tables)."""
    migration = import_module(f"{app}.migrations.{name}")
    apps = MigrationLoader(connection).project_state((app, name)).apps
    getattr(migration, function)(apps, SimpleNamespace(connection=connection))


@pytest.fixture
def operators_group():
    run_data_migration("journal", "0006_operator_group", "create_group")
    run_data_migration("backoffice", "0002_metrics_permission", "grant")
    # Then API keys left the project package; the permission stays the project's.
    run_data_migration("apikeys", "0001_initial", "move_content_type")
    run_data_migration("backoffice", "0003_apikey_moved_to_apikeys", "keep_the_metrics_permission")


def persona(django_user_model, kind: str):
    if kind in ("Reviewer", "Risk manager", "Model manager", "Operator"):
        return staff_member(django_user_model, kind.lower().replace(" ", "-"), kind)
    if kind == "staff in no group":
        return staff_member(django_user_model, "sam-staff", None)
    if kind == "superuser":
        return django_user_model.objects.create_superuser("root", password="x")
    if kind == "not staff, with the permission":
        from django.contrib.auth.models import Permission

        user = django_user_model.objects.create_user("nick", password="x")
        user.user_permissions.add(Permission.objects.get(codename="view_metrics"))
        return user
    if kind == "inactive operator":
        user = staff_member(django_user_model, "ina", "Operator")
        user.is_active = False
        user.save()
        return user
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("staff in no group", 403),
        ("Reviewer", 403),
        ("Risk manager", 403),
        ("Model manager", 403),
        ("not staff, with the permission", 403),
        ("Operator", 200),
        ("superuser", 200),
    ],
)
def test_each_persona_reads_the_metrics_as_its_permission_says(
    client, django_user_model, operators_group, kind, status
):
    client.force_login(persona(django_user_model, kind))
    response = client.get("/metrics")
    assert response.status_code == status, (kind, response.content[:200])
    if status == 200:
        assert b"backoffice_http_request_duration_seconds" in response.content
    else:
        body = response.json()
        assert body["code"] == "permission_denied"
        assert "backoffice.view_metrics" in body["detail"]
        assert b"backoffice_http_request" not in response.content


def test_an_inactive_operators_session_reads_nothing(client, django_user_model, operators_group):
    client.force_login(persona(django_user_model, "inactive operator"))
    assert client.get("/metrics").status_code in (401, 403)


def test_the_scrape_token_reads_them_and_a_wrong_one_does_not(client, settings):
    settings.PROMETHEUS_SCRAPE_TOKEN = TOKEN
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"


def test_the_migration_gives_the_permission_to_the_operator_group_only(operators_group):
    from django.contrib.auth.models import Group

    holders = set(
        Group.objects.filter(permissions__codename="view_metrics").values_list("name", flat=True)
    )
    assert holders == {"Operator"}
    # The permission moved to a model of its own when API keys left the project package
    # (backoffice/0003); running that again changes nothing.
    run_data_migration("backoffice", "0003_apikey_moved_to_apikeys", "keep_the_metrics_permission")
    operator = Group.objects.get(name="Operator")
    assert operator.permissions.filter(codename="view_metrics").count() == 1
    run_data_migration("backoffice", "0002_metrics_permission", "revoke")
    assert not Group.objects.filter(permissions__codename="view_metrics").exists()
