"""API keys: created once, stored hashed, scoped, revocable, by command and admin."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from backoffice.api_auth import scope
from backoffice.models import ApiKey
from backoffice.services import (
    ApiKeyError,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    hash_key,
)

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


class TradesProbe(APIView):
    """A view guarded like the trade endpoints, to exercise the auth chain."""

    permission_classes = [scope("trades:write")]

    def get(self, request):
        return Response({"user": str(request.user)})


def call(headers=None, user=None):
    request = APIRequestFactory().get("/probe", headers=headers or {})
    if user is not None:
        from rest_framework.test import force_authenticate

        force_authenticate(request, user=user)
    return TradesProbe.as_view()(request)


def test_the_command_prints_the_key_as_its_last_line_and_stores_only_its_hash():
    out = io.StringIO()
    call_command("create_api_key", "bot-eurusd", "--scopes", "trades:write,trades:read", stdout=out)
    raw_key = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="bot-eurusd")
    assert key.key_hash == hash_key(raw_key)
    assert raw_key not in (key.key_hash, key.prefix)
    assert key.scopes == ["trades:read", "trades:write"]
    assert api_key_authenticate(raw_key) == key


def test_unknown_scopes_are_refused_by_name():
    with pytest.raises(CommandError, match=r"unknown scope.*trades:delete"):
        call_command("create_api_key", "x", "--scopes", "trades:delete", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_a_duplicate_name_is_refused():
    api_key_create(name="bot", scopes="predict")
    with pytest.raises(ApiKeyError, match="exists already"):
        api_key_create(name="bot", scopes="predict")


def test_a_key_with_the_scope_passes():
    _, raw = api_key_create(name="bot", scopes="trades:write")
    response = call({"Authorization": f"Api-Key {raw}"})
    assert response.status_code == 200
    assert response.data == {"user": "api-key:bot"}


def test_a_key_without_the_scope_is_forbidden():
    _, raw = api_key_create(name="reader", scopes="trades:read")
    response = call({"Authorization": f"Api-Key {raw}"})
    assert response.status_code == 403
    assert "trades:write" in str(response.data["detail"])


def test_a_wrong_or_revoked_key_is_401_with_the_scheme():
    key, raw = api_key_create(name="bot", scopes="trades:write")
    assert call({"Authorization": f"Api-Key {raw[:-1]}x"}).status_code == 401
    assert api_key_revoke(key=key) is True
    response = call({"Authorization": f"Api-Key {raw}"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert api_key_revoke(key=key) is False


def test_no_credentials_is_401():
    assert call().status_code == 401


def test_staff_sessions_pass_and_other_users_do_not(django_user_model):
    staff = django_user_model.objects.create_user("ann", is_staff=True)
    plain = django_user_model.objects.create_user("joe")
    assert call(user=staff).status_code == 200
    assert call(user=plain).status_code == 403


def test_revoke_command():
    api_key_create(name="bot", scopes="predict")
    out = io.StringIO()
    call_command("revoke_api_key", "bot", stdout=out)
    assert "revoked" in out.getvalue()
    assert ApiKey.objects.get(name="bot").revoked_at is not None
    with pytest.raises(CommandError, match="no API key named 'ghost'"):
        call_command("revoke_api_key", "ghost")


def test_the_admin_creates_a_key_shows_it_once_and_revokes(admin_client):
    response = admin_client.post(
        "/admin/backoffice/apikey/add/",
        {"name": "desk-bot", "scopes": ["predict", "trades:read"]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = ApiKey.objects.get(name="desk-bot")
    raw = shown[0].rsplit(": ", 1)[1]
    assert api_key_authenticate(raw) == key
    response = admin_client.post(
        "/admin/backoffice/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    change_page = admin_client.get(f"/admin/backoffice/apikey/{key.pk}/change/").content.decode()
    assert raw not in change_page and key.key_hash not in change_page


@pytest.fixture
def fresh_counts():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def call_from(address: str, key: str):
    request = APIRequestFactory().get(
        "/probe", headers={"Authorization": f"Api-Key {key}"}, REMOTE_ADDR=address
    )
    return TradesProbe.as_view()(request)


def test_guessing_keys_is_limited_per_address(fresh_counts, settings, caplog):
    settings.API_KEY_MAX_FAILURES = 5
    _, raw = api_key_create(name="bot", scopes="trades:write")
    for n in range(5):
        assert call_from("10.0.0.7", f"guess-{n}").status_code == 401
    assert "invalid or revoked API key" in caplog.text
    assert raw not in caplog.text
    locked = call_from("10.0.0.7", raw)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.API_KEY_FAILURE_WINDOW_SECONDS
    assert "too many invalid API keys" in locked.data["detail"]
    # Another address is not affected; valid keys never count.
    for _ in range(10):
        assert call_from("10.0.0.8", raw).status_code == 200


def test_failures_below_the_limit_leave_valid_keys_working(fresh_counts, settings):
    settings.API_KEY_MAX_FAILURES = 5
    _, raw = api_key_create(name="bot", scopes="trades:write")
    for n in range(4):
        call_from("10.0.0.9", f"guess-{n}")
    assert call_from("10.0.0.9", raw).status_code == 200
