"""A reviewer's day in a real browser: Debian's Chromium driven by Playwright.

Against pytest-django's live server on the tier's database: log in, filter the list,
open a trade, review it, see the new status in the list and the change in its history,
then open the dashboard and count the data points of its charts. Screenshots go to
tests/artifacts/screenshots/ (git-ignored) for people to look at.

The postgres tier runs with DJANGO_DEBUG=0, so the session and CSRF cookies are Secure
while the live server speaks plain http. No setting is relaxed for that: Chromium
treats http://localhost as a secure context and stores and sends Secure cookies to it,
which this test relies on (the login would fail otherwise).
"""

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from journal.models import ReviewChange, TradeReview
from tests.admin.conftest import PASSWORD, make_trades, staff_member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page():
    """A page of a fresh headless Chromium; fails (never skips) without the browser.

    Playwright's sync API runs an event loop on this thread while it is open, and Django
    then gives ORM calls a connection of their own that nobody closes: the test touches
    the database only before and after this block.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; "
            "`make test` does it when run as root)"
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_a_reviewer_reviews_a_trade_and_reads_the_dashboard(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    make_trades(6, pnl="120.00")
    gbp = make_trades(4, symbol="GBPUSD", pnl="-35.50", start_days_ago=8)
    with chromium_page() as page:
        review_in_the_browser(page, live_server.url, reviewer.username)
    review = TradeReview.objects.get(trade_id=gbp[0].pk)
    assert (review.status, review.grade, review.reviewed_by_id) == ("reviewed", "B", reviewer.pk)
    assert review.tags == ["patience", "retest"]
    assert ReviewChange.objects.filter(review=review).count() == 4


def review_in_the_browser(page, url: str, username: str) -> None:

    # Log in through the login page (real session and CSRF cookies).
    page.goto(f"{url}/admin/login/?next=/admin/journal/trade/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/journal/trade/$"))
    assert page.locator("#result_list tbody tr").count() == 10
    assert "rita-reviewer" in page.locator("#user-tools").inner_text().lower()
    shot(page, "01-trade-list")
    cookies = {c["name"]: c for c in page.context.cookies()}
    # True in the postgres tier (DEBUG off): Chromium kept and sent them over http://localhost.
    assert cookies[settings.SESSION_COOKIE_NAME]["secure"] == settings.SESSION_COOKIE_SECURE

    # Filter the list by clicking a symbol in the sidebar.
    page.locator("#changelist-filter a", has_text="GBPUSD").first.click()
    page.wait_for_url(re.compile(r"symbol=GBPUSD"))
    assert page.locator("#result_list tbody tr").count() == 4
    assert page.locator("#result_list .review-unreviewed").count() == 4
    shot(page, "02-filtered-by-symbol")

    # Open the newest GBPUSD trade and review it.
    page.locator("#result_list tbody tr").first.locator("th a").click()
    page.wait_for_url(re.compile(r"/admin/journal/trade/\d+/change/"))
    assert page.locator("input[name=quantity]").count() == 0  # execution data is read-only
    page.select_option("#id_review_status", "reviewed")
    page.select_option("#id_grade", "B")
    page.fill("#id_notes", "Entered on the retest, sized right.")
    page.fill("#id_tags", "retest, patience")
    shot(page, "03-review-form")
    page.click("input[name=_save]")

    # Back on the (still filtered) list: the trade now shows as reviewed.
    page.wait_for_url(re.compile(r"/admin/journal/trade/\?.*symbol=GBPUSD"))
    first_row = page.locator("#result_list tbody tr").first
    assert first_row.locator(".review-reviewed").inner_text() == "Reviewed"
    assert page.locator("#result_list .review-unreviewed").count() == 3
    shot(page, "04-list-after-review")

    # The trade's page shows the change in its history.
    first_row.locator("th a").click()
    page.wait_for_url(re.compile(r"/admin/journal/trade/\d+/change/"))
    history = page.locator("#review-history tr.review-change")
    assert history.count() == 4
    fields = {history.nth(i).get_attribute("data-field") for i in range(4)}
    assert fields == {"status", "grade", "notes", "tags"}
    assert "rita-reviewer" in page.locator("#review-history").inner_text()
    shot(page, "05-trade-history")

    # The dashboard, from the list's button: charts with one data point per day.
    page.goto(f"{url}/admin/journal/trade/")
    page.click("#dashboard-link")
    page.wait_for_url(re.compile(r"/admin/journal/trade/dashboard/"))
    page.wait_for_selector("body.charts-drawn")
    for chart in ("equity", "daily-pnl", "drawdown"):
        points = page.locator(f".chart[data-chart={chart}]").evaluate("e => e.uplot.data[0].length")
        assert points == 10, chart
        assert page.locator(f".chart[data-chart={chart}] canvas").count() == 1
    assert page.locator(".tile").first.inner_text().startswith("Net P&L")
    shot(page, "06-dashboard")

    # The empty period says so.
    page.fill("#id_since", "2001-01-01")
    page.fill("#id_until", "2001-01-31")
    page.click("#dashboard-filters input[type=submit]")
    page.wait_for_selector("#dashboard-empty")
    assert page.locator(".chart canvas").count() == 0
    shot(page, "07-dashboard-empty")
