"""API keys: created once, stored hashed, scoped, revocable, by command and admin."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apikeys.models import ApiKey
from apikeys.services import (
    ApiKeyError,
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    hash_key,
)
from backoffice.core.api.permissions import scope

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


class TradesProbe(APIView):
    """A view guarded like the trade endpoints, to exercise the auth chain."""

    permission_classes = [scope("trades:write", "journal.add_trade")]

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


def test_staff_sessions_need_the_operations_model_permission(django_user_model):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("ann", is_staff=True)
    plain = django_user_model.objects.create_user("joe")
    assert call(user=staff).status_code == 403  # staff, but not allowed to add trades
    staff.user_permissions.add(Permission.objects.get(codename="add_trade"))
    staff = django_user_model.objects.get(pk=staff.pk)  # a fresh permission cache
    assert call(user=staff).status_code == 200
    plain.user_permissions.add(Permission.objects.get(codename="add_trade"))
    plain = django_user_model.objects.get(pk=plain.pk)
    assert call(user=plain).status_code == 403  # not staff


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
        "/admin/apikeys/apikey/add/", {"name": "desk-bot", "scopes": ["predict", "trades:read"]}
    )
    # Shown on the answer itself, never stored, never in a cookie (the messages are).
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_key"]
    key = ApiKey.objects.get(name="desk-bot")
    assert api_key_authenticate(raw) == key
    assert raw in response.content.decode()
    assert all(raw not in morsel.value for morsel in response.cookies.values())
    assert all(raw not in str(m) for m in response.context["messages"])
    following = admin_client.get("/admin/apikeys/apikey/")
    assert raw not in following.content.decode()
    assert all(raw not in morsel.value for morsel in admin_client.cookies.values())
    response = admin_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke", "_selected_action": [key.pk]},
        follow=True,
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    change_page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
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


def test_guessing_keys_is_limited_per_address_and_a_good_key_is_still_served(
    fresh_counts, settings, caplog
):
    """Issue: 20 invalid keys from one address, then every valid key from it got 429
    for 5 minutes (SECURITY.md said verified keys keep working; they did not)."""
    settings.API_KEY_MAX_FAILURES = 5
    _, raw = api_key_create(name="bot", scopes="trades:write")
    for n in range(20):  # different prefixes: the per-address count (4x the limit)
        assert call_from("10.0.0.7", f"guess-{n:06d}-xxxxxx").status_code == 401
    assert "invalid or revoked API key" in caplog.text
    assert raw not in caplog.text
    locked = call_from("10.0.0.7", "guess-999999-xxxxxx")
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == settings.API_KEY_FAILURE_WINDOW_SECONDS
    assert "too many invalid API keys" in locked.data["detail"]
    # The bot with a good key from the same address is served; valid keys never count.
    for _ in range(10):
        assert call_from("10.0.0.7", raw).status_code == 200
    assert call_from("10.0.0.8", raw).status_code == 200


def test_a_revoked_key_sent_again_and_again_is_limited_by_its_prefix(fresh_counts, settings):
    settings.API_KEY_MAX_FAILURES = 5
    key, revoked = api_key_create(name="old-bot", scopes="trades:write")
    _, good = api_key_create(name="new-bot", scopes="trades:write")
    api_key_revoke(key=ApiKey.objects.get(pk=key.pk))
    for _ in range(5):
        assert call_from("10.0.0.9", revoked).status_code == 401
    assert call_from("10.0.0.9", revoked).status_code == 429
    assert call_from("10.0.0.9", good).status_code == 200


def test_behind_a_trusted_proxy_clients_are_counted_apart(fresh_counts, settings):
    settings.API_KEY_MAX_FAILURES = 1
    settings.TRUSTED_PROXIES = ["10.9.0.0/16"]

    def via_proxy(client: str, key: str, proxy: str = "10.9.0.2"):
        request = APIRequestFactory().get(
            "/probe",
            headers={"Authorization": f"Api-Key {key}", "X-Forwarded-For": f"{client}, {proxy}"},
            REMOTE_ADDR="10.9.0.1",
        )
        return TradesProbe.as_view()(request)

    for n in range(4):
        assert via_proxy("203.0.113.5", f"guess-{n:06d}-xxxxxx").status_code == 401
    assert via_proxy("203.0.113.5", "guess-777777-xxxxxx").status_code == 429
    # Another client behind the same proxy is not affected.
    assert via_proxy("198.51.100.7", "guess-777777-xxxxxx").status_code == 401
    # A client that is not a trusted proxy cannot choose its address with the header.
    spoofed = APIRequestFactory().get(
        "/probe",
        headers={"Authorization": "Api-Key guess-888888-xxxxxx", "X-Forwarded-For": "192.0.2.1"},
        REMOTE_ADDR="203.0.113.5",
    )
    for _ in range(4):
        TradesProbe.as_view()(spoofed)
    from backoffice.core.http.client import client_address

    assert client_address(spoofed) == "203.0.113.5"


def test_failures_below_the_limit_leave_valid_keys_working(fresh_counts, settings):
    settings.API_KEY_MAX_FAILURES = 5
    _, raw = api_key_create(name="bot", scopes="trades:write")
    for n in range(4):
        call_from("10.0.0.9", f"guess-{n}")
    assert call_from("10.0.0.9", raw).status_code == 200
