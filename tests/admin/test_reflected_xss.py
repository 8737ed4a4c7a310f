"""Issue 15's reflected XSS: no page echoes a request's value as markup.

The finding: GET /admin/journal/trade/export.csv?quantity=<script>…</script> (also id,
executed, executed_from, review) answered a text/html 400 quoting the value, and the
script ran in the reviewer's browser. Here every admin page that takes query parameters
is asked with the payload in each of them; an answer may quote the value only as plain
text (never sniffed: nosniff) or escaped inside HTML. tests/admin/test_csp_browser.py
shows the same in Chromium.
"""

import pytest

from tests.admin.conftest import make_trades

pytestmark = pytest.mark.smoke

EXPORT = "/admin/journal/trade/export.csv"
PAYLOAD = "<script>document.title='xss'</script>"
# The five parameters of the finding.
FINDING_PARAMETERS = ["quantity", "id", "executed", "executed_from", "review"]


def assert_not_reflected(response, payload: str = PAYLOAD) -> None:
    """The answer is not markup that carries ``payload`` as it was sent."""
    content_type = response.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response["X-Content-Type-Options"] == "nosniff"
    if content_type.startswith("text/html"):
        assert payload.encode() not in body, f"{content_type} echoes the payload raw"
        assert b"<script>document.title" not in body


@pytest.mark.parametrize("parameter", FINDING_PARAMETERS)
def test_the_findings_export_request_echoes_no_markup(reviewer_client, parameter):
    make_trades(1)
    response = reviewer_client.get(EXPORT, {parameter: PAYLOAD})
    assert_not_reflected(response)
    if response.status_code == 400:
        # The message names the bad value, as text a browser shows and never runs.
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.startswith(b"bad filter: ")


def test_a_bad_export_filter_is_a_plain_text_400(reviewer_client):
    response = reviewer_client.get(EXPORT, {"quantity": PAYLOAD})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert PAYLOAD.encode() in response.content  # quoted, as text


def test_no_admin_page_echoes_a_parameter_as_markup(admin_client):
    make_trades(2)
    paths = [
        "/admin/",
        "/admin/journal/trade/",
        EXPORT,
        "/admin/journal/trade/dashboard/",
        "/admin/journal/trade/flag/",
        "/admin/journal/quarantinedline/",
        "/admin/desk/tradeidea/",
        "/admin/desk/tradeidea/reject-selected/",
        "/admin/models_registry/registeredmodel/",
        "/admin/login/",
    ]
    names = [*FINDING_PARAMETERS, "q", "symbol", "since", "period", "ids", "next", "e", "o", "p"]
    for path in paths:
        for name in names:
            response = admin_client.get(path, {name: PAYLOAD})
            assert_not_reflected(response)
            if response.status_code == 302:
                assert_not_reflected(admin_client.get(response["Location"]))
