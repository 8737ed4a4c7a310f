"""A staff user's browser session on a live server (the admin's login form)."""

from __future__ import annotations

import secrets

import requests

from tests.live_server import LiveServer


def staff_session(live: LiveServer, username: str = "ops-admin") -> requests.Session:
    """A superuser made with createsuperuser, logged in through /admin/login/."""
    password = secrets.token_urlsafe(18)
    from tests.support import manage

    result = manage(
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.invalid",
        env={**live.env, "DJANGO_SUPERUSER_PASSWORD": password},
    )
    assert result.returncode == 0, result.stderr
    # The cookies are Secure (production settings) and the drill speaks plain HTTP to
    # 127.0.0.1, where requests drops them: they are read and sent by hand.
    page = requests.get(f"{live.url}/admin/login/", timeout=30)
    csrf = set_cookie(page, "csrftoken")
    response = requests.post(
        f"{live.url}/admin/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
        headers={"Cookie": f"csrftoken={csrf}"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    session = requests.Session()
    session.headers["Cookie"] = f"sessionid={set_cookie(response, 'sessionid')}; csrftoken={csrf}"
    return session


def set_cookie(response: requests.Response, name: str) -> str:
    """The value a response's Set-Cookie headers give ``name``."""
    for header in response.raw.headers.getlist("Set-Cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {response.headers}")
