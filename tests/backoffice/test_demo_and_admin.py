"""`manage.py demo` and who reaches the admin."""

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


def run_demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"^Password: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        run_demo()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_demo_creates_a_staff_user_whose_printed_password_works(settings):
    settings.DEBUG = True
    output = run_demo(url="http://127.0.0.1:8000/admin/")
    assert "Admin:    http://127.0.0.1:8000/admin/" in output
    user = authenticate(username="admin", password=printed_password(output))
    assert user is not None and user.is_staff and user.is_superuser


def test_demo_runs_again_and_prints_a_fresh_working_password(settings):
    settings.DEBUG = True
    first = printed_password(run_demo())
    second = printed_password(run_demo())
    assert first != second
    assert authenticate(username="admin", password=first) is None
    assert authenticate(username="admin", password=second) is not None
    assert get_user_model().objects.filter(username="admin").count() == 1


def test_the_admin_login_page_renders(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Trading back office" in response.content


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_user_who_is_not_staff_never_reaches_the_admin(client, django_user_model):
    user = django_user_model.objects.create_user("bot", password="pw-for-bot-1")
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_reach_the_admin_index(client, django_user_model):
    staff = django_user_model.objects.create_user("ann", password="pw-ann-1", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_the_api_schema_and_docs_are_served_without_a_cdn(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html


def test_a_development_copy_is_marked_in_the_admin(client, settings, django_user_model):
    staff = django_user_model.objects.create_user("dev", password="pw-dev-1", is_staff=True)
    client.force_login(staff)
    settings.DEBUG = True
    assert b"DEVELOPMENT" in client.get("/admin/").content
    settings.DEBUG = False
    assert b"DEVELOPMENT" not in client.get("/admin/").content


def test_demo_prints_each_persona_and_a_bot_key_that_work(settings, client):
    settings.DEBUG = True
    output = run_demo(url="http://127.0.0.1:8000/")
    for username, group in (
        ("reviewer", "Reviewer"),
        ("risk-manager", "Risk manager"),
        ("model-manager", "Model manager"),
        ("operator", "Operator"),
    ):
        password = re.search(rf"^  {username}\s+(\S+)\s", output, re.MULTILINE).group(1)
        user = authenticate(username=username, password=password)
        assert user is not None and user.is_staff and not user.is_superuser
        assert [g.name for g in user.groups.all()] == [group]
    first_key = re.search(r"export BASE=http://127.0.0.1:8000 KEY=(\S+)$", output, re.M).group(1)
    answer = client.get("/api/v1/trades?limit=1", HTTP_AUTHORIZATION=f"Api-Key {first_key}")
    assert answer.status_code == 200, answer.content
    # Another run prints another key; the first one stops working.
    second = run_demo()
    second_key = re.search(r"KEY=(\S+)$", second, re.M).group(1)
    assert second_key != first_key
    refused = client.get("/api/v1/trades?limit=1", HTTP_AUTHORIZATION=f"Api-Key {first_key}")
    assert refused.status_code == 401
    accepted = client.get("/api/v1/trades?limit=1", HTTP_AUTHORIZATION=f"Api-Key {second_key}")
    assert accepted.status_code == 200


def test_the_front_door_sends_staff_to_the_admin_and_others_to_the_api_docs(
    client, django_user_model
):
    assert client.get("/")["Location"] == "/api/docs/"
    staff = django_user_model.objects.create_user("desk-staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get("/")["Location"] == "/admin/"


def test_an_unknown_address_is_the_projects_404_with_debug_on_too(client, settings):
    settings.DEBUG = True
    page = client.get("/no-such-page")
    assert page.status_code == 404 and b"URLconf" not in page.content
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    assert client.get("/admin")["Location"] == "/admin/"
    assert client.post("/api/v1/no-such-endpoint").status_code == 404  # a body is never redirected
