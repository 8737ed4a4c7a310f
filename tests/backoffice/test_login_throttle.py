"""Admin logins: failures limited per (client address, account) where the address is the
client's own, per account far higher where it is not; and where a login lands."""

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


# -- behind a proxy that is not trusted (issue 26, item 9) --------------------------------

PROXY = "172.30.0.1"  # the compose network's gateway, where a proxy on the host comes from


def through_proxy(client_ip: str, **headers):
    """A browser behind the proxy: the proxy's address, the client's in the header."""
    from django.test import Client

    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=client_ip, **headers)


def test_an_untrusted_proxy_does_not_let_a_stranger_lock_out_the_real_user(
    django_user_model, settings
):
    """The issue: TRUSTED_PROXIES unset (as the compose file ran), 5 wrong passwords for
    `operator` from one client, and the real user got 429 for 15 minutes."""
    settings.TRUSTED_PROXIES = []
    django_user_model.objects.create_user("operator", password="right-pw-123", is_staff=True)
    stranger, operator = through_proxy("203.0.113.5"), through_proxy("198.51.100.7")
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES * 4):
        assert attempt(stranger, "operator", "wrong").status_code == 200
    assert attempt(operator, "operator", "right-pw-123").status_code == 302


def test_from_an_untrusted_address_an_account_locks_at_the_far_higher_bound(
    django_user_model, settings
):
    settings.TRUSTED_PROXIES = []
    settings.ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT = 30
    django_user_model.objects.create_user("eve", password="right-pw-123", is_staff=True)
    stranger = through_proxy("203.0.113.5")
    for _ in range(30):
        assert attempt(stranger, "eve", "wrong").status_code == 200
    # Whoever comes the untrusted way now waits: the guesser could be anyone behind it.
    assert attempt(through_proxy("198.51.100.7"), "eve", "right-pw-123").status_code == 429
    # The flood closed only that way in: from the client's own address, eve logs in.
    from django.test import Client

    direct = Client(REMOTE_ADDR="198.51.100.7")
    assert attempt(direct, "eve", "right-pw-123").status_code == 302


def test_a_trusted_proxy_that_names_no_client_counts_per_account(django_user_model, settings):
    from django.test import Client

    settings.TRUSTED_PROXIES = [PROXY]
    django_user_model.objects.create_user("fay", password="right-pw-123", is_staff=True)
    anonymous = Client(REMOTE_ADDR=PROXY)  # no X-Forwarded-For: the proxy's own address
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES * 2):
        attempt(anonymous, "fay", "wrong")
    assert attempt(Client(REMOTE_ADDR=PROXY), "fay", "right-pw-123").status_code == 302


def test_a_spoofed_header_sent_directly_only_moves_its_sender_to_the_account_count(
    django_user_model, settings
):
    """Without trusted proxies, a client that sends X-Forwarded-For (or X-Real-IP) itself
    is counted per account at the high bound: it cannot pose as another address, and
    its failures do not touch a direct client's count."""
    from django.test import Client

    settings.TRUSTED_PROXIES = []
    django_user_model.objects.create_user("gus", password="right-pw-123", is_staff=True)
    liar = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_REAL_IP="198.51.100.7")
    for _ in range(settings.ADMIN_LOGIN_MAX_FAILURES * 2):
        assert attempt(liar, "gus", "wrong").status_code == 200
    assert attempt(Client(REMOTE_ADDR="198.51.100.7"), "gus", "right-pw-123").status_code == 302


def test_the_untrusted_count_survives_a_success_so_a_guesser_gets_no_fresh_budget(
    django_user_model, settings
):
    settings.TRUSTED_PROXIES = []
    settings.ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT = 10
    django_user_model.objects.create_user("hal", password="right-pw-123", is_staff=True)
    stranger = through_proxy("203.0.113.5")
    for _ in range(9):
        attempt(stranger, "hal", "wrong")
    assert attempt(through_proxy("198.51.100.7"), "hal", "right-pw-123").status_code == 302
    attempt(stranger, "hal", "wrong")
    assert attempt(through_proxy("198.51.100.8"), "hal", "right-pw-123").status_code == 429


def test_the_per_account_bound_cannot_be_set_below_the_per_address_one(monkeypatch):
    import subprocess
    import sys

    from tests.support import REPO

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "backoffice.settings",
            "DJANGO_DEBUG": "1",
            "ADMIN_LOGIN_MAX_FAILURES": "5",
            "ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT": "3",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "ADMIN_LOGIN_MAX_FAILURES_PER_ACCOUNT=3 must be at least 5" in result.stderr


# -- where a login lands (issue 26, item 14) ------------------------------------------------


@pytest.mark.parametrize(
    "refused",
    [
        "https://evil.example/",
        "//evil.example/admin/",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "/\\evil.example",
    ],
)
def test_a_refused_next_lands_on_the_admin_index(client, django_user_model, refused):
    """A `next` the login refuses (another host, a scheme) landed on /accounts/profile/,
    Django's default, which is a 404 here."""
    django_user_model.objects.create_user("ivy", password="right-pw-123", is_staff=True)
    response = client.post(
        f"/admin/login/?next={refused}", {"username": "ivy", "password": "right-pw-123"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get(response["Location"]).status_code == 200


def test_an_allowed_next_is_followed(client, django_user_model):
    django_user_model.objects.create_user("jo", password="right-pw-123", is_staff=True)
    response = client.post(
        "/admin/login/?next=/admin/journal/trade/",
        {"username": "jo", "password": "right-pw-123"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/journal/trade/"
