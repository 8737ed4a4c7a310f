"""The Content-Security-Policy in Chromium (issue 15): every page works under it, and
the finding's payload never runs.

A superuser opens every admin page (tests/admin/every_page.py, built from
admin.site._registry, with a row of every model, some of their text hostile), uses the
admin's scripts (action checkboxes, filters, the date widgets, the permission picker,
the dashboard's charts, approve, reject, flag, the alias move, a new API key) and
Swagger UI at /api/docs/. The browser's own reports decide: a `securitypolicyviolation`
listener installed before any page script runs, CSP messages on the console, script
errors and failed subresources all fail the test. A reviewer then opens the finding's export URLs
with a payload that would retitle the page, set a global and fetch a URL the test
watches: none of it happens. Screenshots go to tests/artifacts/screenshots/csp-*.png.
"""

import base64
import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import pytest

from desk.models import IdeaStatus, TradeIdea
from journal.models import ReviewStatus, TradeReview
from models_registry.models import ModelAlias
from tests.admin.conftest import PASSWORD, make_trades, staff_member
from tests.admin.every_page import admin_pages, approvable_idea_pk, one_of_everything
from tests.admin.test_browser import SCREENSHOTS, chromium_page, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set up before any page script: every violation the document reports reaches the test.
LISTEN = """
document.addEventListener("securitypolicyviolation", (event) => {
  if (window.__probing) return;  // the test's own probe (PROBE)
  window.__cspViolation({
    page: location.pathname + location.search,
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    source: event.sourceFile + ":" + event.lineNumber,
  });
});
"""
# Inserts an inline script into the page: under the policy it never runs, and the
# browser reports the violation; without one it runs. The console names its hash.
PROBE_SCRIPT = "window.__probeRan = true"
PROBE_HASH = base64.b64encode(hashlib.sha256(PROBE_SCRIPT.encode()).digest()).decode()
PROBE = """(source) => new Promise((resolve) => {
  window.__probing = true;
  const finish = (outcome) => { window.__probing = false; resolve(outcome); };
  document.addEventListener("securitypolicyviolation",
    (event) => finish(event.effectiveDirective), {once: true});
  const script = document.createElement("script");
  script.textContent = source;
  document.body.append(script);
  setTimeout(() => finish(window.__probeRan ? "ran" : "no report"), 3000);
})"""
NOT_PAGES = {"journal_trade_export", "jsi18n"}  # a CSV download, a script


@dataclass
class BrowserReport:
    """What the browser said while the test drove it."""

    violations: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def attach(self, page) -> "BrowserReport":
        page.expose_function("__cspViolation", lambda violation: self.violations.append(violation))
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)
        return self

    def _request_failed(self, request) -> None:
        # net::ERR_ABORTED is the browser cancelling a request of a page it is leaving
        # (the walk's next page, on a loaded machine), not a refusal: a blocked resource
        # is a violation above, a missing one a response of 400 or more below.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url}: {request.failure}")

    def _console(self, message) -> None:
        source = message.location.get("url", "")
        if source.endswith("/favicon.ico"):
            return  # Chromium asks every site for one; the admin has none
        if PROBE_HASH in message.text:
            return  # open_page's own probe
        if "Content Security Policy" in message.text or message.type == "error":
            self.console.append(f"{message.type}: {message.text} ({source})")

    def _response(self, response) -> None:
        if response.request.resource_type != "document" and response.status >= 400:
            self.failed.append(f"{response.url}: {response.status}")

    def take(self) -> dict[str, list]:
        found = {
            name: list(getattr(self, name))
            for name in ("violations", "console", "errors", "failed")
            if getattr(self, name)
        }
        for name in ("violations", "console", "errors", "failed"):
            getattr(self, name).clear()
        return found

    def assert_clean(self, where: str) -> None:
        found = self.take()
        assert not found, f"{where}: {found}"


def log_in(page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))


def visit(page, url: str):
    """page.goto, or None when the URL answers a download instead of a page."""
    from playwright.sync_api import Error

    try:
        response = page.goto(url)
    except Error as exc:
        if "Download is starting" in str(exc):
            return None
        raise
    page.wait_for_load_state("load")
    return response


def open_page(page, url: str):
    """Open ``url``; it must answer a page that carries the policy and obeys it."""
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    page.wait_for_load_state("load")
    assert "default-src 'none'" in response.headers.get("content-security-policy", ""), url
    assert page.evaluate(PROBE, PROBE_SCRIPT) == "script-src-elem", f"{url}: an inline script ran"
    return response


def test_the_recorder_hears_a_violation(live_server):
    # The walk below passes when the browser reports nothing: show that it would report.
    with chromium_page() as page:
        report = BrowserReport().attach(page)
        open_page(page, f"{live_server.url}/admin/login/")
        report.assert_clean("the login page")
        ran = page.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.__ran = true";
              document.body.append(script);
              const span = document.createElement("span");
              span.setAttribute("style", "color: red");
              document.body.append(span);
              return window.__ran === true;
            }"""
        )
        page.wait_for_timeout(200)  # violation events are queued as tasks
        found = report.take()
    assert ran is False
    directives = sorted(v["directive"] for v in found["violations"])
    assert directives == ["script-src-elem", "style-src-attr"], found
    assert any("Content Security Policy" in line for line in found["console"]), found


def test_every_admin_page_and_swagger_ui_work_under_the_policy(live_server, django_user_model):
    superuser = django_user_model.objects.create_superuser("sam-super", password=PASSWORD)
    rows = one_of_everything(superuser)
    pages = [p for p in admin_pages(superuser, rows) if p.status == 200]
    pages = [p for p in pages if p.name not in NOT_PAGES]
    idea_pk = approvable_idea_pk()
    url = live_server.url
    with chromium_page() as page:
        report = BrowserReport().attach(page)
        log_in(page, url, superuser.username)
        report.assert_clean("login")
        for number, admin_page in enumerate(pages):
            open_page(page, url + admin_page.url)
            assert page.locator("#content").count() == 1, admin_page
            report.assert_clean(f"{admin_page.name} {admin_page.url}")
            shot(page, f"csp-{number:03d}-{admin_page.name}")
        use_the_admins_scripts(page, url, report)
        decide_and_move(page, url, report, idea_pk)
        use_swagger_ui(page, url, report)
    assert TradeIdea.objects.get(pk=idea_pk).status == IdeaStatus.APPROVED
    assert TradeReview.objects.filter(status=ReviewStatus.FLAGGED).count() >= 2
    assert ModelAlias.objects.get(model__name="edge", name="staging").version.version == 1


def use_the_admins_scripts(page, url: str, report: BrowserReport) -> None:
    # The trade list: the select-all checkbox and the counter (actions.js), then the
    # "flag with reason" action through its own page.
    open_page(page, f"{url}/admin/journal/trade/")
    rows = page.locator("#result_list tbody tr").count()
    assert rows >= 5
    page.click("#action-toggle")
    assert page.locator("input.action-select:checked").count() == rows
    assert re.search(rf"{rows} of {rows} selected", page.locator(".action-counter").inner_text())
    page.click("#action-toggle")
    page.locator("input.action-select").last.check()  # the oldest trade, not yet flagged
    page.select_option("select[name=action]", "flag_with_reason")
    page.click("button[name=index]")
    page.wait_for_url(re.compile(r"/admin/journal/trade/flag/"))
    page.fill("#id_reason", "entered before the news")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/journal/trade/$"))
    assert "Flagged 1 trade(s)" in page.locator(".messagelist").inner_text()
    shot(page, "csp-flagged")
    report.assert_clean("the trade list's action")

    # Filters: a symbol from the sidebar, then the time filter's date range.
    page.locator("#changelist-filter a", has_text="GBPUSD").first.click()
    page.wait_for_url(re.compile(r"symbol=GBPUSD"))
    assert page.locator("#result_list tbody tr").count() == 2
    page.fill("form.time-range input.vDateField >> nth=0", "2001-01-01")  # yyyy-mm-dd
    page.click("form.time-range input[type=submit]")
    page.wait_for_url(re.compile(r"executed_from=2001-01-01"))
    assert "symbol=GBPUSD" in page.url
    shot(page, "csp-filtered")
    report.assert_clean("the trade list's filters")

    # Date widgets (DateTimeShortcuts.js): "Today" fills the date, the calendar opens.
    open_page(page, f"{url}/admin/auth/user/")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_url(re.compile(r"/admin/auth/user/\d+/change/"))
    page.fill("#id_date_joined_0", "")
    page.locator("#id_date_joined_0 + .datetimeshortcuts a", has_text="Today").click()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", page.input_value("#id_date_joined_0"))
    page.locator("#id_date_joined_0 + .datetimeshortcuts a[id^=calendarlink]").click()
    assert page.locator(".calendarbox >> visible=true").count() == 1
    shot(page, "csp-date-widget")
    page.keyboard.press("Escape")
    # The permission picker (SelectFilter2.js) turns the multiple select into two lists.
    assert page.locator("#id_user_permissions_from").count() == 1
    assert page.locator("#id_user_permissions_filter input").count() == 1
    report.assert_clean("the user's page widgets")

    # The dashboard's charts and its filter form.
    open_page(page, f"{url}/admin/journal/trade/dashboard/")
    page.wait_for_selector("body.charts-drawn")
    assert page.locator(".chart[data-chart=equity] canvas").count() == 1
    assert page.locator(".chart[data-chart=daily-pnl]").evaluate("e => e.uplot.data[0].length") >= 2
    # uPlot's own stylesheet (a static file) placed its layers.
    over = page.locator(".chart[data-chart=equity] .u-over")
    assert over.evaluate("e => getComputedStyle(e).position") == "absolute"
    shot(page, "csp-dashboard")
    report.assert_clean("the dashboard")


def decide_and_move(page, url: str, report: BrowserReport, idea_pk: int) -> None:
    # Approve an idea with its page's button (a form posting to the approve view).
    open_page(page, f"{url}/admin/desk/tradeidea/{idea_pk}/change/")
    # Its colours come from backoffice/static/backoffice/admin.css, not a style attribute.
    colour = page.locator("#approve-idea").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(26, 127, 55)"
    shot(page, "csp-idea")
    # Approving is a decision: the gate runs again on a confirmation page that asks why
    # (and why again, if the approval overrides what the gate or the idea's age says).
    page.click("#approve-idea")
    page.wait_for_selector("#approve-form")
    assert page.locator("table.gate-table").count() == 1
    report.assert_clean("the approval's confirmation page")
    shot(page, "csp-idea-approve")
    page.fill("#id_reason", "level held after the data")
    if page.locator("#id_override_reason").count():
        page.fill("#id_override_reason", "desk lead's call: the stop is set at the broker")
    page.click("#approve-form input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    page.wait_for_url(re.compile(rf"/admin/desk/tradeidea/{idea_pk}/change/"))
    assert page.locator("#approve-idea").count() == 0
    report.assert_clean("approving an idea")

    # Reject another through the bulk action's page.
    open_page(page, f"{url}/admin/desk/tradeidea/?status__exact=needs_approval")
    page.locator("input.action-select").first.check()
    page.select_option("select[name=action]", "reject_selected")
    page.click("button[name=index]")
    page.wait_for_url(re.compile(r"/admin/desk/tradeidea/reject-selected/"))
    page.fill("#id_reason", "spread too wide")
    page.click("input[type=submit]")
    # Back to the list with its filter (the queue the person was working through).
    page.wait_for_url(re.compile(r"/admin/desk/tradeidea/\?status__exact=needs_approval$"))
    report.assert_clean("rejecting ideas")

    # Move an alias: choose, confirm on the second page.
    open_page(page, f"{url}/admin/models_registry/registeredmodel/")
    page.locator("#result_list tbody tr th a").first.click()
    page.click("text=Move an alias")
    page.wait_for_url(re.compile(r"/move-alias/"))
    page.fill("#id_alias", "staging")
    page.select_option("#id_version", label="edge@1")
    page.fill("#id_reason", "back to the first version")
    page.click("input[type=submit]")
    page.wait_for_selector("text=Confirm the move")
    shot(page, "csp-move-alias-confirm")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/models_registry/registeredmodel/\d+/change/"))
    report.assert_clean("moving an alias")

    # Create an API key: the answer shows it once.
    open_page(page, f"{url}/admin/apikeys/apikey/add/")
    page.fill("#id_name", "bot-csp")
    page.check("input[name=scopes][value='trades:read']")
    page.click("input[name=_save]")
    page.wait_for_selector("#api-key")
    assert page.input_value("#api-key").startswith("bo_")
    shot(page, "csp-api-key-created")
    report.assert_clean("creating an API key")


def use_swagger_ui(page, url: str, report: BrowserReport) -> None:
    open_page(page, f"{url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    # Swagger UI breaks paths with zero-width spaces.
    texts = page.locator(".opblock-summary-path").all_inner_texts()
    paths = [text.replace("\u200b", "") for text in texts]
    assert len(paths) >= 10 and "/api/v1/trades" in paths, paths
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".try-out__btn")
    shot(page, "csp-swagger-ui")
    page.screenshot(path=str(SCREENSHOTS / "csp-swagger-ui-top.png"))  # the first screen
    report.assert_clean("Swagger UI")


EXPORT = "/admin/journal/trade/export.csv"
PAYLOAD = (
    "<script>document.title='xss-ran';window.__xss=1;fetch('/xss-marker')</script>"
    '<img src=/xss-marker-img onerror="window.__xss=2">'
)


def test_the_findings_payload_never_runs_in_the_browser(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    make_trades(2)
    markers: list[str] = []
    with chromium_page() as page:
        report = BrowserReport().attach(page)
        page.on(
            "request",
            lambda r: urlsplit(r.url).path.startswith("/xss-marker") and markers.append(r.url),
        )
        log_in(page, live_server.url, reviewer.username)
        for parameter in ("quantity", "id", "executed", "executed_from", "review"):
            response = visit(page, f"{live_server.url}{EXPORT}?{parameter}={quote(PAYLOAD)}")
            if response is not None:  # else a CSV download: nothing was rendered
                content_type = response.headers.get("content-type", "")
                assert not (content_type.startswith("text/html") and PAYLOAD in response.text())
                shot(page, f"csp-xss-{parameter}")
            assert page.evaluate("window.__xss") is None, parameter
            assert page.title() != "xss-ran", parameter
        assert markers == [], markers
        # The policy is the second wall: markup that did reach a page would not run.
        page.goto(f"{live_server.url}/admin/journal/trade/")
        report.take()
        page.evaluate(
            """(payload) => {
              document.getElementById("content").insertAdjacentHTML("beforeend", payload);
              const script = document.createElement("script");
              script.textContent = payload.slice(8, payload.indexOf("</script>"));
              document.body.append(script);
            }""",
            PAYLOAD,
        )
        page.wait_for_timeout(300)
        assert page.evaluate("window.__xss") is None
        blocked = {v["directive"] for v in report.take().get("violations", [])}
        assert {"script-src-elem", "script-src-attr"} <= blocked, blocked
        assert page.title() != "xss-ran"
    # The <img> loads (this origin), its onerror does not run; the fetch never happens.
    assert not [m for m in markers if urlsplit(m).path == "/xss-marker"], markers
    assert TradeReview.objects.filter(status=ReviewStatus.FLAGGED).count() == 0
