"""The dashboard in Chromium at 1,366 px, as a trader opens it on a laptop.

A reviewer logs in and opens the dashboard over a journal with stops, reviews, wins and
losses: the page fits the window, the charts are drawn under the site's CSP, hovering
the last point of the equity curve shows that day and its equity in a tooltip, and a
single day draws a narrow bar, not one across the chart. Screenshots:
tests/artifacts/screenshots/dashboard-*.png.
"""

import re

import pytest

from journal.instruments import forget, instruments_seed
from journal.reviews import trade_review
from tests.admin.conftest import PASSWORD, make_trades, staff_member
from tests.admin.test_browser import SCREENSHOTS, chromium_page, shot
from tests.admin.test_csp_browser import BrowserReport

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1366


def seed_journal(reviewer) -> list:
    instruments_seed()
    forget()
    wins = make_trades(14, pnl="180.00", stop_loss="1.08150", exit_price="1.08900")
    losses = make_trades(
        9, pnl="-95.50", stop_loss="1.08150", exit_price="1.08150", start_days_ago=15
    )
    gold = make_trades(
        6,
        symbol="XAUUSD",
        entry_price="2350.00",
        exit_price="2362.50",
        stop_loss="2340.00",
        pnl="1250.00",
        strategy="trend-follow",
        start_days_ago=20,
    )
    for trade in wins[:5]:
        trade_review(trade=trade, reviewer=reviewer, grade="A", tags=["breakout", "london"])
    for trade in losses[:4]:
        trade_review(trade=trade, reviewer=reviewer, grade="C", tags=["chased"])
    return wins + losses + gold


def log_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/journal/trade/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/journal/trade/dashboard/$"))
    page.wait_for_selector("body.charts-drawn")


# What sticks out on the right: the deepest elements whose right edge passes the window.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter((e) => ![...e.children].some(
    (c) => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 8).map((e) => e.tagName + "#" + e.id + "." + e.className + " " +
                         Math.round(e.getBoundingClientRect().right))"""

HOVER_LAST_POINT = """(el) => {
  const u = el.uplot, i = u.data[0].length - 1;
  const box = u.over.getBoundingClientRect();
  return {x: box.left + u.valToPos(u.data[0][i], "x"), y: box.top + u.valToPos(u.data[1][i], "y"),
          day: new Date(u.data[0][i] * 1000).toISOString().slice(0, 10), value: u.data[1][i]};
}"""

# The width in CSS pixels of the bar across the middle of a one-day daily P&L chart.
BAR_WIDTH = """(el) => {
  const u = el.uplot, canvas = el.querySelector("canvas"), ratio = canvas.width / u.width;
  const value = u.data[1][0] !== null ? u.data[1][0] : u.data[2][0];
  const y = Math.round((u.valToPos(value / 2, "y", true)));
  const row = canvas.getContext("2d").getImageData(0, y, canvas.width, 1).data;
  let coloured = 0;
  for (let i = 0; i < row.length; i += 4) {
    const [r, g, b, a] = [row[i], row[i + 1], row[i + 2], row[i + 3]];
    if (a > 200 && Math.abs(r - g) > 60) coloured += 1;  // the green or red of a bar
  }
  return {bar: coloured / ratio, chart: u.bbox.width / ratio};
}"""


def test_a_trader_reads_the_dashboard_at_1366_px(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    trades = seed_journal(reviewer)
    one_day = trades[0].closed_at.date().isoformat()
    with chromium_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 900})
        report = BrowserReport().attach(page)
        log_in(page, live_server.url, reviewer.username)
        page.goto(f"{live_server.url}/admin/journal/trade/dashboard/?period=all")
        page.wait_for_selector("body.charts-drawn")
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= WIDTH, (
            f"the page is {overflow} px wide in a {WIDTH} px window",
            page.evaluate(WIDEST),
        )
        assert page.locator(".chart canvas").count() == 4  # equity, daily, drawdown, R
        tiles = page.locator(".tile").all_inner_texts()
        assert any(t.startswith("Net P&L") and "USD" in t for t in tiles), tiles
        assert any(t.startswith("Expectancy (R)") and t.strip().endswith("R") for t in tiles), tiles

        equity = page.locator(".chart[data-chart=equity]")
        point = equity.evaluate(HOVER_LAST_POINT)
        page.mouse.move(point["x"], point["y"])
        tip = equity.locator(".chart-tooltip.shown")
        tip.wait_for()
        text = tip.inner_text()
        assert point["day"] in text and "Equity +" in text and "USD" in text, text
        shot(page, "dashboard-1366-hover")
        page.screenshot(path=str(SCREENSHOTS / "dashboard-1366-top.png"))

        page.goto(
            f"{live_server.url}/admin/journal/trade/dashboard/?since={one_day}&until={one_day}"
        )
        page.wait_for_selector("body.charts-drawn")
        width = page.locator(".chart[data-chart=daily-pnl]").evaluate(BAR_WIDTH)
        assert 4 <= width["bar"] <= 40, width  # one narrow bar, not the chart's width
        shot(page, "dashboard-1366-one-day")
        report.assert_clean("the dashboard")
