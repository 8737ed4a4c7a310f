"""The WSGI application: /api/v1/ goes through the API's shorter middleware list.

Requests are made in-process the way gunicorn makes them (``backoffice.wsgi.application``
with a WSGI environ), on the test run's PostgreSQL.
"""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from apikeys.services import api_key_create
from backoffice.core.api.handler import ApiHandler, Dispatcher, check_api_middleware
from tests.journal.conftest import trade_data
from tests.wsgi import call

SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
)


@pytest.fixture
def application():
    from backoffice.wsgi import application

    return application


@pytest.fixture
def bot_key(db):
    _, raw = api_key_create(name="bot-wsgi", scopes="trades:write,trades:read")
    return f"Api-Key {raw}"


def test_api_paths_go_to_the_api_handler_and_the_rest_to_the_site():
    seen = []

    def handler(name):
        def app(environ, start_response):
            seen.append((name, environ["PATH_INFO"]))
            return []

        return app

    dispatch = Dispatcher(handler("site"), handler("api"))
    for path in (
        "/api/v1/trades",
        "/api/v1/models/m/predict",
        "/v2",
        "/v2/models/m/infer",
        "/v2x",
        "/api/schema/",
        "/admin/",
        "/",
    ):
        dispatch({"PATH_INFO": path}, None)
    assert seen == [
        ("api", "/api/v1/trades"),
        ("api", "/api/v1/models/m/predict"),
        ("api", "/v2"),
        ("api", "/v2/models/m/infer"),
        ("site", "/v2x"),
        ("site", "/api/schema/"),  # the schema and Swagger UI are pages
        ("site", "/admin/"),
        ("site", "/"),
    ]


def test_the_application_serves_the_api_with_the_api_handler(application):
    # The predict route's short path stands in front of it (serving.predict.shortpath).
    assert isinstance(application.api.long_way, ApiHandler)
    assert not isinstance(application.site, ApiHandler)


def test_an_api_answer_is_the_same_through_both_handlers(application, bot_key):
    body = json.dumps(trade_data(trade_id="T-WSGI-1")).encode()
    status, _, content = call(
        application, "/api/v1/trades", method="POST", body=body, headers={"Authorization": bot_key}
    )
    assert status == 201, content
    answers = [
        call(app, "/api/v1/trades", headers={"Authorization": bot_key, "X-Request-ID": "same-1"})
        for app in (application.api, application.site)
    ]
    (api_status, api_headers, api_body), (site_status, site_headers, site_body) = answers
    assert api_status == site_status == 200
    assert json.loads(api_body) == json.loads(site_body)
    assert [t["trade_id"] for t in json.loads(api_body)["results"]] == ["T-WSGI-1"]
    for name in (*SECURITY_HEADERS, "X-Request-ID", "Content-Type", "Content-Length"):
        assert api_headers[name] == site_headers[name], name


def test_every_api_view_checks_csrf_itself():
    # API_MIDDLEWARE has no CsrfViewMiddleware: a view under /api/v1/ that is not a DRF
    # view (DRF's are csrf_exempt and check sessions' tokens themselves) would take a
    # staff session's POST unchecked. Walk every route under /api/v1/ and /v2.
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.views import APIView

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback

    routes = list(walk(get_resolver().url_patterns))
    api = [(route, view) for route, view in routes if route.startswith(("api/v1/", "v2"))]
    assert {
        "api/v1/trades",
        "api/v1/models/<slug:name>/predict",
        "v2/models/<slug:name>/infer",
    } <= {r for r, _ in api}
    for route, view in api:
        view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
        assert view_class is not None and issubclass(view_class, APIView), route


def test_a_staff_session_still_needs_its_csrf_token_to_write(application, django_user_model):
    # CsrfViewMiddleware is not in API_MIDDLEWARE: DRF's SessionAuthentication checks.
    staff = django_user_model.objects.create_user(
        "desk-lead", password="x", is_staff=True, is_superuser=True
    )
    browser = Client()
    browser.force_login(staff)
    session = {"sessionid": browser.cookies["sessionid"].value}
    body = json.dumps(trade_data(trade_id="T-WSGI-CSRF")).encode()

    status, _, content = call(
        application, "/api/v1/trades", method="POST", body=body, cookies=session
    )
    assert status == 403, content
    assert "CSRF" in json.loads(content)["detail"]

    token = "a" * 32
    status, _, content = call(
        application,
        "/api/v1/trades",
        method="POST",
        body=body,
        cookies={**session, "csrftoken": token},
        headers={"X-CSRFToken": token},
    )
    assert status == 201, content
    assert json.loads(content)["created"] == 1


def test_api_middleware_must_keep_the_order_of_middleware():
    site = ["a.One", "b.Two", "c.Three"]
    check_api_middleware(["a.One", "c.Three"], site)
    with pytest.raises(ImproperlyConfigured, match=r"a\.One is not in MIDDLEWARE, or is out of"):
        check_api_middleware(["c.Three", "a.One"], site)
    with pytest.raises(ImproperlyConfigured, match=r"d\.Four"):
        check_api_middleware(["d.Four"], site)


@pytest.mark.parametrize("query", ["format=csv", "format=%00", "format=" + "x" * 500])
def test_a_format_no_renderer_has_is_a_404_in_the_one_body_not_a_500(application, bot_key, query):
    # DRF's ?format= picks a renderer; one the view lacks raised Http404, whose body
    # the API's handler could not write (500).
    status, _, content = call(
        application, "/api/v1/trades", query=query, headers={"Authorization": bot_key}
    )
    body = json.loads(content)
    assert status == (400 if "%00" in query else 404), body
    assert set(body) == {"detail", "code", "errors"}
