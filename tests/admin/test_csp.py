"""The Content-Security-Policy on every answer of the site (issue 15).

A superuser's test client walks every admin page (tests/admin/every_page.py builds the
list from admin.site._registry), Swagger UI and the login page: each page carries the
site's policy, which allows no inline script or style and no other origin, and has no
inline script, style element, style attribute or event-handler attribute the policy
would refuse. Answers that are not pages (JSON, CSV, metrics, scripts, static files)
carry default-src 'none'. tests/admin/test_csp_browser.py opens the same pages in
Chromium and fails on any violation the browser reports.
"""

from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.admin.every_page import (
    NOT_WALKED,
    admin_pages,
    admin_url_names,
    one_of_everything,
)
from tests.backoffice.test_api_handler import call

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"
# Answers that are not pages: nothing loads, nobody frames them.
NOT_A_PAGE = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice in {header!r}"
        parsed[name] = values
    return parsed


def assert_page_policy(header: str | None, where: str) -> None:
    """The site's page policy: this origin only, nothing inline, nothing framed."""
    assert header, f"{where}: no {HEADER}"
    policy = directives(header)
    assert policy["default-src"] == ["'none'"], where
    for name in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        assert policy[name] == ["'self'"], (where, name, policy[name])
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert policy["form-action"] == ["'self'"], where
    sources = " ".join(value for values in policy.values() for value in values)
    for loose in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "http:", "https:", "*"):
        assert loose not in sources, (where, loose)


def assert_not_a_page_policy(header: str | None, where: str) -> None:
    assert header, f"{where}: no {HEADER}"
    assert directives(header) == NOT_A_PAGE, where


class InlineCode(HTMLParser):
    """What a page's markup holds that a policy without 'unsafe-inline' refuses."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            if attributes.get("type") not in ("application/json", "application/ld+json"):
                self.found.append(f"an inline <script> {attrs}")
        if tag == "style":
            self.found.append("a <style> element")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


class NestedForms(HTMLParser):
    """Forms opened inside a form: browsers drop the inner <form>, so its buttons post
    the outer one (the four-eyes Confirm once posted the change form and got a 403)."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            if self.depth:
                self.found.append(dict(attrs).get("id") or dict(attrs).get("action") or "?")
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth -= 1


def nested_forms(html: str) -> list[str]:
    parser = NestedForms()
    parser.feed(html)
    return parser.found


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("sam-super", password="pw-sam-super-1")


@pytest.fixture
def every_row(superuser):
    return one_of_everything(superuser)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def test_the_policy_allows_nothing_inline_and_no_other_origin():
    from csp.utils import build_policy

    assert_page_policy(build_policy(), "settings.CONTENT_SECURITY_POLICY")


def test_every_admin_page_carries_the_policy_no_inline_code_and_no_form_in_a_form(
    superuser, every_row, superuser_client
):
    pages = admin_pages(superuser, every_row)
    walked = {page.name for page in pages}
    missing = admin_url_names() - walked - set(NOT_WALKED)
    assert not missing, f"admin URLs no walk opens (add them to admin_pages): {missing}"
    assert len(pages) > 80
    html_pages = 0
    for page in pages:
        response = superuser_client.get(page.url, follow=True)  # the risk config's list
        where = f"{page.name} {page.url}"
        assert response.status_code == page.status, (where, response.status_code)
        if response["Content-Type"].startswith("text/html"):
            html_pages += 1
            assert_page_policy(response.get(HEADER), where)
            html = response.content.decode()
            assert not inline_code(html), (where, inline_code(html))
            assert not nested_forms(html), (where, nested_forms(html))
        else:
            # The CSV export and the JavaScript catalogue.
            assert_not_a_page_policy(response.get(HEADER), where)
    assert html_pages == len(pages) - 2


def test_the_login_page_and_error_pages_carry_the_policy(superuser_client):
    anonymous = Client()
    for path, status in (
        ("/admin/login/", 200),
        ("/admin/journal/trade/", 302),  # to the login page
        ("/no-such-page/", 404),
    ):
        response = anonymous.get(path)
        assert response.status_code == status, path
        assert_page_policy(response.get(HEADER), path)
        assert not inline_code(response.content.decode()), path
    # A bad filter on a list: the admin's 400 page saying which.
    response = superuser_client.get("/admin/journal/trade/", {"quantity": "x"})
    assert response.status_code == 400
    assert_page_policy(response.get(HEADER), "the bad filter page")
    assert not inline_code(response.content.decode())


def test_swagger_ui_is_a_page_without_inline_code(superuser_client):
    response = superuser_client.get("/api/docs/")
    assert response.status_code == 200
    # The site's policy, and data: images for the icons of Swagger UI's stylesheet.
    header = response.get(HEADER)
    assert directives(header)["img-src"] == ["'self'", "data:"]
    assert_page_policy(header.replace(" data:", ""), "/api/docs/")
    html = response.content.decode()
    assert not inline_code(html), inline_code(html)
    # Its init script comes from the same view as a file, with no policy of its own to obey.
    script = superuser_client.get("/api/docs/", {"script": ""})
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content
    assert_not_a_page_policy(script.get(HEADER), "/api/docs/?script")


def test_answers_that_are_not_pages_load_nothing(superuser_client):
    for path in ("/healthz", "/readyz", "/metrics", "/api/schema/", "/api/v1/trades"):
        response = superuser_client.get(path)
        assert not response["Content-Type"].startswith("text/html"), path
        assert_not_a_page_policy(response.get(HEADER), path)
    bad_filter = superuser_client.get("/admin/journal/trade/export.csv", {"quantity": "x"})
    assert bad_filter.status_code == 400
    assert_not_a_page_policy(bad_filter.get(HEADER), "the export's 400")
    # Refused before any view (backoffice.core.http.middleware.RejectNulMiddleware).
    nul = superuser_client.get("/admin/journal/trade/", {"symbol": "a\x00"})
    assert nul.status_code == 400 and nul["Content-Type"].startswith("text/plain")
    assert_not_a_page_policy(nul.get(HEADER), "a NUL in a parameter")


def test_static_files_load_nothing(settings):
    # WhiteNoise serves them from the apps' folders here (production: STATIC_ROOT); the
    # policy's middleware stands before it. A new client loads the changed settings.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get(f"{settings.STATIC_URL}backoffice/admin.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert_not_a_page_policy(response.get(HEADER), "a static file")


def test_the_api_handler_sets_the_policy_too(db):
    # /api/v1/ runs API_MIDDLEWARE (backoffice.core.api.handler), not MIDDLEWARE.
    from backoffice.wsgi import application

    status, headers, _ = call(application.api, "/api/v1/trades")
    assert status == 401
    assert_not_a_page_policy(headers.get(HEADER), "/api/v1/trades through the API handler")
    status, headers, _ = call(application.api, "/v2/health/live")
    assert status == 200
    assert_not_a_page_policy(headers.get(HEADER), "/v2/health/live")
