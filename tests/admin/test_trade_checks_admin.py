"""Capture's instrument checks in the admin: a column with the reason, a filter by
flagged, clean or reason, the reasons in full on the trade's page, and an off-tick
price shown as stored, never rounded onto the tick (issue 27)."""

import html as html_lib
import re

import pytest

from journal.instruments import instruments_seed
from journal.models import Trade
from tests.admin.conftest import make_trades
from tests.admin.test_trade_list import LIST, rows

pytestmark = pytest.mark.smoke


@pytest.fixture
def flagged_and_clean(db):
    """The issue's US500 trade (5711.123, 0.37 contracts, P&L -99,999 on a gain), one
    off its tick only, and a clean one."""
    instruments_seed()
    odd = make_trades(
        1,
        trade_id="ODD",
        symbol="US500",
        quantity="0.37",
        entry_price="5711.123",
        exit_price="5720.50",
        fees="0",
        pnl="-99999",
    )[0]
    tick = make_trades(
        1,
        trade_id="TICK",
        symbol="US500",
        quantity="1",
        entry_price="5711.25",
        exit_price="5720.60",
        fees="0",
        pnl="467.50",
        start_days_ago=2,
    )[0]
    clean = make_trades(
        1,
        trade_id="CLEAN",
        symbol="US500",
        quantity="2",
        entry_price="5711.25",
        exit_price="5720.50",
        fees="0",
        pnl="925",
        start_days_ago=3,
    )[0]
    return odd, tick, clean


def test_the_list_shows_each_flag_with_its_reason_under_the_pnl(reviewer_client, flagged_and_clean):
    html = reviewer_client.get(LIST).content.decode()
    cells = re.findall(r'<td class="field-pnl_checks">(.*?)</td>', html, re.S)
    assert len(cells) == 3
    odd, tick, clean = cells  # newest first
    assert odd.count('class="check-flag"') == 3
    assert "⚠ entry off tick" in odd and "⚠ quantity off step" in odd
    assert "⚠ P&amp;L ≠ prices" in odd and "-99,999.00 USD" in odd
    assert tick.count('class="check-flag"') == 1 and "⚠ exit off tick" in tick
    assert "check-flag" not in clean
    reasons = html_lib.unescape(odd)
    assert 'title="5711.123 is off the tick of US500: prices move in steps of 0.25"' in reasons


def test_an_off_tick_price_is_shown_as_stored_not_rounded_onto_the_tick(
    reviewer_client, flagged_and_clean
):
    html = reviewer_client.get(LIST).content.decode()
    assert ">5,711.123 → " in html  # not 5,711.12, which would look like a fill on tick
    assert "→ 5,720.60<" in html and ">5,711.25 → " in html  # two decimals where exact
    assert ">0.37 contracts<" in html


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("flagged", ["ODD", "TICK"]),
        ("clean", ["CLEAN"]),
        ("off_tick", ["ODD", "TICK"]),
        ("quantity", ["ODD"]),
        ("pnl", ["ODD"]),
    ],
)
def test_the_filter_finds_flagged_clean_or_by_reason(
    reviewer_client, flagged_and_clean, choice, expected
):
    response = reviewer_client.get(LIST, {"checks": choice})
    assert response.status_code == 200
    assert rows(response) == expected


@pytest.mark.parametrize("value", ["everything", "<script>alert(1)</script>", "%00"])
def test_an_unknown_check_is_a_clear_bad_request(reviewer_client, flagged_and_clean, value):
    response = reviewer_client.get(f"{LIST}?checks={value}")
    assert response.status_code == 400
    assert b"<script>alert" not in response.content


def test_the_trade_page_gives_every_reason_in_full(reviewer_client, flagged_and_clean):
    odd, _tick, clean = flagged_and_clean
    page = html_lib.unescape(
        reviewer_client.get(f"/admin/journal/trade/{odd.pk}/change/").content.decode()
    )
    assert "Instrument checks" in page
    assert "entry_price: 5711.123 is off the tick of US500" in page
    assert "quantity: 0.37 is off the quantity step of US500" in page
    assert "pnl: -99999 USD differs from what the prices make, 173.4745 USD" in page
    assert ">5,711.123<" in page
    clean_page = reviewer_client.get(f"/admin/journal/trade/{clean.pk}/change/")
    assert "clean: prices on the tick" in clean_page.content.decode()


def test_a_trade_of_no_instrument_says_it_was_not_checked(reviewer_client, db):
    trade = make_trades(1, symbol="ZZZUSD")[0]
    page = reviewer_client.get(f"/admin/journal/trade/{trade.pk}/change/").content.decode()
    assert "not checked: ZZZUSD is no active instrument of the desk" in page
    assert Trade.objects.count() == 1
