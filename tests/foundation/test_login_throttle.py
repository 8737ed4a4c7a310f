"""Failed admin logins are limited per (client address, account), and nothing more."""

import pytest
from django.core.cache import cache

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _clean_counts():
    cache.clear()
    yield
    cache.clear()


def attempt(client, username, password):
    return client.post("/admin/login/", {"username": username, "password": password})


def test_five_failures_lock_the_account_even_against_the_right_password(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("ann", password="right-pw-123", is_staff=True)
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        assert attempt(client, "ann", "wrong").status_code == 200
    locked = attempt(client, "ann", "right-pw-123")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_success_before_the_limit_clears_the_count(client, django_user_model, settings):
    django_user_model.objects.create_user("bob", password="right-pw-123", is_staff=True)
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES - 1):
        attempt(client, "bob", "wrong")
    assert attempt(client, "bob", "right-pw-123").status_code == 302
    client.logout()
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES - 1):
        attempt(client, "bob", "wrong")
    assert attempt(client, "bob", "right-pw-123").status_code == 302


def test_other_accounts_are_not_locked_by_someone_elses_failures(
    client, django_user_model, settings
):
    django_user_model.objects.create_user("cy", password="right-pw-123", is_staff=True)
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        attempt(client, "ann", "wrong")
    assert attempt(client, "cy", "right-pw-123").status_code == 302


def test_failures_with_random_usernames_do_not_lock_out_admin(client, django_user_model):
    """Issue: 20 failed logins with random usernames locked out `admin` with the right
    password (the per-address count)."""
    django_user_model.objects.create_user("admin", password="right-pw-123", is_staff=True)
    for n in range(40):
        attempt(client, f"random-{n}", "wrong")
    assert attempt(client, "admin", "right-pw-123").status_code == 302


def test_behind_a_trusted_proxy_one_client_cannot_lock_out_another(django_user_model, settings):
    from django.test import Client

    settings.TRUSTED_PROXIES = ["10.9.0.1"]
    django_user_model.objects.create_user("dee", password="right-pw-123", is_staff=True)
    attacker = Client(REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    colleague = Client(REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES):
        attempt(attacker, "dee", "wrong")
    assert attempt(attacker, "dee", "right-pw-123").status_code == 429
    assert attempt(colleague, "dee", "right-pw-123").status_code == 302
