"""The dashboard's drill-down in Chromium at 1,366 px, as a reviewer answers "which of
this week's trades were worst, what did each mistake cost, where do my positions stand".

A reviewer opens the dashboard filtered in its URL (side and a tag typed in another
case), reads the comparisons and the open positions, opens a calendar day (the list of
the trades that closed that day, with that day's notes linked and a way back to the
dashboard with the same filters), sorts that day's trades by P&L, opens a breakdown row
and a mistake's row, and moves the calendar by month. Every page fits the window and
runs under the CSP. Screenshots: tests/artifacts/screenshots/drill-*.png.
"""

import re
from datetime import timedelta
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from desk.models import MarketBar
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.reviews import trade_review
from journal.write.capture import record_trades
from tests.admin.conftest import PASSWORD, make_trades, staff_member
from tests.admin.test_browser import SCREENSHOTS, chromium_page
from tests.admin.test_csp_browser import BrowserReport
from tests.admin.test_dashboard_browser import WIDEST
from tests.journal.conftest import open_trade_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1366


def shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"drill-{name}.png"), full_page=True)


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, (page.url, width, page.evaluate(WIDEST))


def seed(reviewer) -> dict:
    """Longs that win and shorts that lose over two weeks; three losing longs reviewed
    with the mistake "chased" (typed three ways) and the tag "Late Entry"; two open
    positions with a recent bar."""
    instruments_seed()
    forget()
    wins = make_trades(8, pnl="150.00", stop_loss="1.08150", exit_price="1.08900")
    losses = make_trades(
        3, pnl="-120.00", stop_loss="1.08150", exit_price="1.08150", start_days_ago=2
    )
    make_trades(
        4, side="short", pnl="-40.00", exit_price="1.08700", stop_loss="1.08800", start_days_ago=9
    )
    for trade, spelling in zip(losses, ("Chased", " chased ", "CHASED"), strict=True):
        trade_review(
            trade=trade, reviewer=reviewer, grade="C", tags=["Late Entry"], mistakes=[spelling]
        )
    now = timezone.now()
    record_trades(
        [
            open_trade_data(
                trade_id="OPEN-EUR",
                opened=now - timedelta(hours=3),
                entry_price="1.08400",
                stop_loss="1.08100",
                quantity="1",
                fees="0",
            ),
            open_trade_data(
                trade_id="OPEN-GOLD",
                opened=now - timedelta(hours=26),
                symbol="XAUUSD",
                entry_price="2350.00",
                stop_loss="2340.00",
                quantity="1",
                fees="0",
            ),
        ]
    )
    MarketBar.objects.bulk_create(
        [
            MarketBar(
                symbol=symbol,
                timeframe="M5",
                captured_at=now - timedelta(minutes=10),
                open=D(price),
                high=D(price),
                low=D(price),
                close=D(price),
            )
            for symbol, price in (("EURUSD", "1.08550"), ("XAUUSD", "2337.50"))
        ]
    )
    loss_day = losses[0].closed_at.date()
    return {
        "loss_day": loss_day,
        "day_trades": Trade.objects.filter(
            closed_at__date=loss_day, status="closed", side="long"
        ).count(),
        "wins": wins,
    }


def test_a_reviewer_drills_down_from_the_dashboard(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    seeded = seed(reviewer)
    day = seeded["loss_day"].isoformat()
    url = live_server.url
    with chromium_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 900})
        report = BrowserReport().attach(page)
        page.goto(f"{url}/admin/login/?next=/admin/journal/trade/dashboard/")
        page.fill("#id_username", reviewer.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("body.charts-drawn")

        # Filters kept in the URL: long trades, a tag typed in another case.
        page.goto(f"{url}/admin/journal/trade/dashboard/?period=30&side=long&tag=LATE%20ENTRY")
        page.wait_for_selector("body.charts-drawn")
        assert page.input_value("#id_side") == "long"
        assert page.input_value("#id_tag") == "late entry"  # the stored spelling
        tiles = page.locator(".tile").all_inner_texts()
        assert any(t.startswith("Closed trades") and t.strip().endswith("3") for t in tiles), tiles
        fits(page)
        shot(page, "01-dashboard-filtered")

        # The whole desk: comparisons, positions, the calendar of this month.
        page.goto(f"{url}/admin/journal/trade/dashboard/?period=30")
        page.wait_for_selector("body.charts-drawn")
        mistakes = page.locator("#table-mistakes").inner_text()
        assert "any mistake" in mistakes and "chased" in mistakes
        assert "Chased" not in mistakes and "CHASED" not in mistakes  # one spelling
        days = page.locator("#compare-days").inner_text().lower()  # headers: capitals
        assert "winning days" in days and "losing days" in days
        assert "long" in page.locator("#compare-sides").inner_text().lower()
        assert page.locator("#compare-period table").count() == 1
        positions = page.locator("#table-positions").inner_text()
        assert "OPEN-EUR" in positions and "+150.00 USD" in positions  # (1.0855 - 1.0840) x 1 lot
        assert "OPEN-GOLD" in positions and "-1,250.00 USD" in positions
        assert "past the stop" in positions  # gold at 2,337.50, its stop 2,340.00
        fits(page)
        shot(page, "02-dashboard")
        for box in ("pnl-calendar", "compare-period", "open-positions", "comparisons"):
            page.locator(f"#{box}").screenshot(path=str(SCREENSHOTS / f"drill-02-{box}.png"))
        page.locator("#compare-mistakes").screenshot(
            path=str(SCREENSHOTS / "drill-02-compare-mistakes.png")
        )
        # No box is cut: each table fits its box.
        cut = page.evaluate(
            """() => [...document.querySelectorAll(
                      '.dashboard-pair .module, .dashboard-single .module')]
                 .filter((m) => m.scrollWidth > m.clientWidth + 1).map((m) => m.id)"""
        )
        assert cut == [], cut
        report.assert_clean("the dashboard")

        # A calendar day opens the trades that closed that day, with that day's notes.
        cell = page.locator(f'table.calendar td[data-day="{day}"]')
        if cell.count() == 0:  # the loss day is in the month before
            page.click("#calendar-previous")
            page.wait_for_selector("body.charts-drawn")
            cell = page.locator(f'table.calendar td[data-day="{day}"]')
        assert cell.locator("a.cal-notes").get_attribute("href") == (
            f"/admin/journal/dailynote/?day={day}"
        )
        cell.locator("a.cal-pnl").click()
        page.wait_for_url(re.compile(rf"closed_from={day}&closed_to={day}"))
        assert page.locator("#result_list tbody tr").count() == seeded["day_trades"]
        notes = page.locator("#day-notes a")
        assert notes.get_attribute("href") == f"/admin/journal/dailynote/?day={day}"
        back = parse_qs(urlsplit(page.locator("#dashboard-link").get_attribute("href")).query)
        assert back["since"] == [day] and back["until"] == [day]
        fits(page)
        shot(page, "03-calendar-day")

        # Sorted by P&L, worst first: the day's losses lead, and the note says why open
        # trades are not listed.
        page.locator("#result_list thead th.column-pnl_checks a").first.click()
        page.wait_for_url(re.compile(r"o=\d"))
        assert "closed_from" in page.url  # the day's bound is kept
        first = page.locator("#result_list tbody tr").first.inner_text()
        assert "-120.00 USD" in first, first
        assert "Sorted by P&L" in page.locator("#order-note").inner_text()
        shot(page, "04-day-sorted-by-pnl")

        # A breakdown row opens its trades; a mistake's row too.
        page.goto(f"{url}/admin/journal/trade/dashboard/?period=30")
        page.wait_for_selector("body.charts-drawn")
        page.locator("#table-side a", has_text="Short").click()
        page.wait_for_url(re.compile(r"side=short"))
        assert page.locator("#result_list tbody tr").count() == 4
        page.goto(f"{url}/admin/journal/trade/dashboard/?period=30")
        page.wait_for_selector("body.charts-drawn")
        page.locator("#table-mistakes a", has_text="chased").click()
        page.wait_for_url(re.compile(r"mistake=chased"))
        assert page.locator("#result_list tbody tr").count() == 3
        assert page.locator("#result_list .mistake-chip").count() == 3
        shot(page, "05-mistake-trades")

        # The calendar moves by month and keeps the filters.
        page.goto(f"{url}/admin/journal/trade/dashboard/?period=30&side=long")
        page.wait_for_selector("body.charts-drawn")
        title = page.locator("#calendar-month").inner_text()
        page.click("#calendar-previous")
        page.wait_for_selector("body.charts-drawn")
        assert page.locator("#calendar-month").inner_text() != title
        assert "side=long" in page.url and "month=" in page.url
        report.assert_clean("the drill-down")
