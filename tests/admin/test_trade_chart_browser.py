"""A trade on its chart, in Chromium at 1,366 px under the site's CSP.

A reviewer opens a trade that the stored bars cover: the candles are drawn, and the
entry, exit, stop, take-profit, MAE and MFE are each marked where their time and price
are (read back from uPlot's own scales), in the colour the legend gives them. A trade
no bar covers says so in words and draws nothing. Screenshots:
tests/artifacts/screenshots/trade-chart-*.png.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from desk.models import MarketBar, TradeIdea
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.reviews import trade_review
from journal.write.capture import record_trades
from tests.admin.conftest import PASSWORD, staff_member
from tests.admin.test_browser import SCREENSHOTS, chromium_page
from tests.admin.test_csp_browser import BrowserReport
from tests.journal.conftest import trade_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 1366
# Where a mark sits on the canvas (CSS pixels from the plot's top left), from uPlot's
# scales, and the colour of the canvas there.
MARK = """(el) => {
  const u = el.uplot, data = JSON.parse(document.getElementById("trade-chart-data").textContent);
  const m = data.marks, out = {};
  const at = (t, price) => ({x: u.valToPos(t, "x"), y: u.valToPos(price, "y")});
  out.entry = at(m.entry.t, m.entry.price);
  out.exit = at(m.exit.t, m.exit.price);
  out.mae = at(m.mae.t, m.mae.price);
  out.mfe = at(m.mfe.t, m.mfe.price);
  m.levels.forEach((l) => { out[l.kind] = {y: u.valToPos(l.price, "y")}; });
  const ctx = el.querySelector("canvas").getContext("2d"), ratio = devicePixelRatio;
  const colour = (x, y) => Array.from(ctx.getImageData(
      Math.round(u.bbox.left + x * ratio), Math.round(u.bbox.top + y * ratio), 1, 1).data);
  return {at: out, drawn: el.marks,
          plot: {width: u.bbox.width / ratio, height: u.bbox.height / ratio},
          entryColour: colour(out.entry.x, out.entry.y),
          exitColour: colour(out.exit.x, out.exit.y),
          bars: data.bars.t.length, state: el.dataset.state};
}"""


def near(rgba, rgb) -> bool:
    """A pixel of this colour (anti-aliasing and a hairline under it move it a little)."""
    return all(abs(a - b) <= 6 for a, b in zip(rgba[:3], rgb, strict=True))


def seed(reviewer) -> tuple[Trade, Trade]:
    """A long EURUSD trade held 3 hours yesterday, with its idea's stop and target,
    M15 bars a day either side (a gentle climb with a dip after the entry); and a
    gold trade no bar covers."""
    instruments_seed()
    forget()
    opened = (timezone.now() - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    start = opened - timedelta(hours=12)
    made = []
    for n in range(4 * 24):
        at = start + timedelta(minutes=15 * n)
        hours = (at - opened).total_seconds() / 3600
        dip = D("-0.0015") if 0.4 < hours < 1.1 else D(0)
        mid = D("1.08000") + D("0.00010") * n + dip
        made.append(
            MarketBar(
                symbol="EURUSD",
                timeframe="M15",
                captured_at=at,
                open=mid - D("0.00005"),
                close=mid + D("0.00005") if n % 3 else mid - D("0.00008"),
                high=mid + D("0.00030"),
                low=mid - D("0.00030"),
            )
        )
    MarketBar.objects.bulk_create(made)
    TradeIdea.objects.create(
        pk=41,
        symbol="EURUSD",
        direction="long",
        entry_price=D("1.08480"),
        stop_loss=D("1.08250"),
        take_profit=D("1.09000"),
        confidence_score=D("0.64"),
    )
    record_trades(
        [
            trade_data(
                trade_id="CHART-1",
                opened=opened,
                closed_at=(opened + timedelta(hours=3)).isoformat(),
                entry_price="1.08480",
                exit_price="1.08620",
                stop_loss="1.08250",
                quantity="2",
                fees="0",
                pnl="280.00",
                idea_id=41,
            ),
            trade_data(
                trade_id="NO-BARS",
                opened=opened,
                symbol="XAUUSD",
                entry_price="2350.00",
                exit_price="2361.50",
                quantity="1",
                fees="0",
                pnl="1150.00",
            ),
        ]
    )
    charted = Trade.objects.get(trade_id="CHART-1")
    trade_review(trade=charted, reviewer=reviewer, grade="B", tags=["Retest"])
    return charted, Trade.objects.get(trade_id="NO-BARS")


def test_a_trade_is_drawn_on_its_chart_with_every_mark(live_server, django_user_model):
    reviewer = staff_member(django_user_model, "rita-reviewer", "Reviewer")
    charted, bare = seed(reviewer)
    with chromium_page() as page:
        page.set_viewport_size({"width": WIDTH, "height": 1000})
        report = BrowserReport().attach(page)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/journal/trade/{charted.pk}/change/")
        page.fill("#id_username", reviewer.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(rf"/admin/journal/trade/{charted.pk}/change/"))
        page.wait_for_selector("body.trade-chart-drawn")
        assert page.locator("#trade-chart canvas").count() == 1
        found = page.locator(".trade-chart").evaluate(MARK)
        assert found["state"] == "drawn" and found["bars"] >= 40
        plot = found["plot"]
        for name in ("entry", "exit", "stop", "target", "mae", "mfe"):
            drawn, expected = found["drawn"][name], found["at"][name]
            assert 0 <= drawn["y"] <= plot["height"], name  # inside the plot
            assert abs(drawn["y"] - expected["y"]) < 1, (name, drawn, expected)
            if "x" in expected:
                assert abs(drawn["x"] - expected["x"]) < 1, (name, drawn, expected)
        # Entry below the MFE, above the MAE; the stop below the entry, the target above.
        at = found["at"]
        assert at["mae"]["y"] > at["entry"]["y"] > at["mfe"]["y"]
        assert at["stop"]["y"] > at["entry"]["y"] > at["target"]["y"]
        assert at["entry"]["x"] < at["mae"]["x"] < at["exit"]["x"]
        # The entry's mark is blue, the exit's purple, where they are.
        assert near(found["entryColour"], (0x15, 0x65, 0xC0)), found["entryColour"]
        assert near(found["exitColour"], (0x6A, 0x1B, 0x9A)), found["exitColour"]
        legend = page.locator("#trade-chart-legend").inner_text()
        for text in (
            "entry 1.08480",
            "exit 1.08620",
            "initial stop 1.08250",
            "take-profit 1.09000",
        ):
            assert text in legend, legend
        assert "MAE at" in legend and "MFE at" in legend and " R)" in legend
        page.locator("#trade-chart").screenshot(path=str(SCREENSHOTS / "trade-chart-1366.png"))
        page.screenshot(path=str(SCREENSHOTS / "trade-chart-page-1366.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= WIDTH, width

        page.goto(f"{live_server.url}/admin/journal/trade/{bare.pk}/change/")
        none = page.locator("#trade-chart-none")
        assert none.inner_text().startswith("No stored market bars of XAUUSD cover this trade")
        assert page.locator("#trade-chart canvas").count() == 0
        page.locator("#trade-chart").screenshot(path=str(SCREENSHOTS / "trade-chart-none.png"))
        report.assert_clean("the trade's chart")
    assert datetime.now(UTC) > charted.closed_at
