"""The dashboard's filters, calendar and links to the trade list (issue 29).

- The dashboard filters by the trade list's filters, under the same names, kept in the
  URL: side, model version, tag and mistake (any case), grade; its figures are then the
  journal's report of exactly those trades.
- The calendar shows one month with each week's total (the whole week's) and moves by
  month; a day opens the list of the trades that closed that day (the same count the
  calendar shows) and links its notes.
- A breakdown row opens its trades; the list opens the dashboard with its filters.
"""

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from journal.analytics import metrics
from journal.instruments import forget, instruments_seed
from journal.models import Trade
from journal.reviews import trade_review
from tests.admin.conftest import make_trades, recent
from tests.admin.test_dashboard import tiles

pytestmark = [pytest.mark.smoke]

DASHBOARD = "/admin/journal/trade/dashboard/"
LIST = "/admin/journal/trade/"


@pytest.fixture(autouse=True)
def _instruments(db):
    instruments_seed()
    forget()
    yield
    forget()


def links(html: str, pattern: str) -> list[str]:
    return [unescape(u) for u in re.findall(rf'href="({pattern}[^"]*)"', html)]


def trade_ids(client, url: str) -> list[str]:
    html = client.get(url).content.decode()
    pks = re.findall(r'href="/admin/journal/trade/(\d+)/change/', html)
    names = dict(Trade.objects.filter(pk__in=pks).values_list("pk", "trade_id"))
    return [names[int(pk)] for pk in dict.fromkeys(pks)]


@pytest.fixture
def journal(reviewer):
    longs = make_trades(4, pnl="100.00", model_version="edge@2")
    shorts = make_trades(3, side="short", pnl="-20.00", exit_price="1.08600", start_days_ago=6)
    for trade in shorts[:2]:
        trade_review(trade=trade, reviewer=reviewer, grade="D", tags=["Late Entry"])
    trade_review(trade=longs[0], reviewer=reviewer, grade="A", mistakes=["Moved Stop"])
    return {"longs": longs, "shorts": shorts}


@pytest.mark.parametrize(
    ("params", "chosen"),
    [
        ({"side": "short"}, lambda j: j["shorts"]),
        ({"model_version": "edge@2"}, lambda j: j["longs"]),
        ({"tag": "LATE entry"}, lambda j: j["shorts"][:2]),  # any case
        ({"mistake": "moved STOP"}, lambda j: j["longs"][:1]),
        ({"grade": "__none__"}, lambda j: j["longs"][1:] + j["shorts"][2:]),
        ({"grade": "D", "side": "short"}, lambda j: j["shorts"][:2]),
    ],
)
def test_the_lists_filters_narrow_the_dashboard(reviewer_client, journal, params, chosen):
    html = reviewer_client.get(DASHBOARD, {"period": "30", **params}).content.decode()
    expected = chosen(journal)
    report = metrics.report(Trade.objects.filter(pk__in=[t.pk for t in expected]))
    assert tiles(html)["Closed trades"] == str(report["summary"]["trades"]) == str(len(expected))
    assert tiles(html)["Net P&amp;L"].startswith(
        f"{'+' if report['summary']['net_pnl'] > 0 else ''}{report['summary']['net_pnl']:,.2f}"
    )
    # The same filter, by the same name, opens the same trades in the list.
    these = links(html, "/admin/journal/trade/\\?")
    period_link = next(u for u in these if "closed_from" in u and "weekday" not in u)
    listed = trade_ids(reviewer_client, period_link)
    assert sorted(listed) == sorted(t.trade_id for t in expected)


def test_a_tag_is_shown_as_it_is_spelled_and_a_bad_one_is_refused(reviewer_client, journal):
    html = reviewer_client.get(DASHBOARD, {"tag": " Late  ENTRY "}).content.decode()
    assert '<option value="late entry" selected>' in html
    bad = reviewer_client.get(DASHBOARD, {"tag": "late, entry"})
    assert bad.status_code == 400 and 'id="error-tag"' in bad.content.decode()


def test_a_calendar_day_opens_the_trades_that_closed_that_day(reviewer_client, journal):
    html = reviewer_client.get(DASHBOARD, {"period": "30", "side": "long"}).content.decode()
    day = journal["longs"][1].closed_at.date()
    cell = re.search(rf'<td class="[^"]*" title="[^"]*" data-day="{day}">(.*?)</td>', html, re.S)
    assert cell, f"no cell for {day}"
    notes = links(cell.group(1), "/admin/journal/dailynote/")
    assert notes == [f"/admin/journal/dailynote/?day={day}"]
    (opened,) = links(cell.group(1), "/admin/journal/trade/")
    query = parse_qs(urlsplit(opened).query)
    assert query == {"side": ["long"], "closed_from": [str(day)], "closed_to": [str(day)]}
    assert trade_ids(reviewer_client, opened) == [journal["longs"][1].trade_id]
    page = reviewer_client.get(opened).content.decode()
    assert f'href="/admin/journal/dailynote/?day={day}"' in page  # the day's notes
    back = links(page, "/admin/journal/trade/dashboard/")
    assert any("since=" + str(day) in u and "side=long" in u for u in back), back


@pytest.mark.clock("2026-07-15T12:00:00+00:00")  # July 2026 begins on a Wednesday
def test_the_calendar_shows_each_weeks_whole_total_and_moves_by_month(reviewer_client):
    now = timezone.now()
    first = now.date().replace(day=1)
    monday = first - timedelta(days=first.weekday())
    # A trade closed in the last days of the month before, in the first week of this one.
    before = monday
    assert before < first
    opened = now.replace(
        year=before.year, month=before.month, day=before.day, hour=9, minute=0, second=0
    )
    make_trades(1, pnl="70.00", start_days_ago=(now - opened).days)
    make_trades(1, pnl="30.00", start_days_ago=(now.date() - first).days)
    html = reviewer_client.get(DASHBOARD, {"month": f"{first:%Y-%m}"}).content.decode()
    assert f"{first:%B %Y}" in html
    week = re.search(r'<td class="cal-week[^"]*" title="([^"]*)">(.*?)</td>', html, re.S)
    assert "+100.00" in week.group(2), week.group(0)  # both days: the whole week
    assert "all of it" in week.group(1)
    previous = re.search(r'href="([^"]+)" id="calendar-previous"', html).group(1)
    moved = reviewer_client.get(DASHBOARD + unescape(previous)).content.decode()
    month_before = (first - timedelta(days=1)).replace(day=1)
    assert f'id="calendar-month">{month_before:%B %Y}<' in moved


@pytest.mark.parametrize("month", ["2026-13", "99999-01", "1800-01", "x"])
def test_a_bad_month_is_an_error_on_the_page(reviewer_client, journal, month):
    response = reviewer_client.get(DASHBOARD, {"month": month})
    assert response.status_code == 400
    assert 'id="error-month"' in response.content.decode()


def test_each_breakdown_row_opens_its_trades(reviewer_client, journal):
    html = reviewer_client.get(DASHBOARD, {"period": "30"}).content.decode()
    table = re.search(r'id="table-side".*?</table>', html, re.S).group(0)
    (short_link,) = links(table, "/admin/journal/trade/\\?side=short")
    assert sorted(trade_ids(reviewer_client, short_link)) == sorted(
        t.trade_id for t in journal["shorts"]
    )
    hours = re.search(r'id="table-hour".*?</table>', html, re.S).group(0)
    for link in links(hours, "/admin/journal/trade/\\?"):
        hour = int(parse_qs(urlsplit(link).query)["hour"][0])
        for trade_id in trade_ids(reviewer_client, link):
            assert Trade.objects.get(trade_id=trade_id).executed_at.hour == hour
    weekdays = re.search(r'id="table-weekday".*?</table>', html, re.S).group(0)
    for link in links(weekdays, "/admin/journal/trade/\\?"):
        weekday = int(parse_qs(urlsplit(link).query)["weekday"][0])
        for trade_id in trade_ids(reviewer_client, link):
            assert Trade.objects.get(trade_id=trade_id).closed_at.isoweekday() == weekday


def test_the_list_opens_the_dashboard_with_its_filters(reviewer_client, journal):
    html = reviewer_client.get(
        LIST, {"side": "short", "tag": "late entry", "closed_from": "2026-01-01"}
    ).content.decode()
    link = re.search(r'href="([^"]+)" class="viewlink" id="dashboard-link"', html).group(1)
    query = parse_qs(urlsplit(unescape(link)).query)
    assert query == {
        "side": ["short"],
        "tag": ["late entry"],
        "period": ["custom"],
        "since": ["2026-01-01"],
    }
    assert reviewer_client.get(unescape(link)).status_code == 200


def test_the_week_against_last_week(reviewer_client):
    make_trades(1, pnl="20.00")  # yesterday: this week (the clock stands on a Wednesday)
    make_trades(2, pnl="50.00", start_days_ago=8)  # last week
    html = reviewer_client.get(DASHBOARD, {"period": "week"}).content.decode()
    box = re.search(r'id="compare-period".*?</section>', html, re.S).group(0)
    today = recent(0).date()
    monday = today - timedelta(days=today.weekday())
    assert f"{monday - timedelta(days=7):%Y-%m-%d} to {monday - timedelta(days=1):%Y-%m-%d}" in box
    rows = dict(re.findall(r"<td>([^<]+)</td><td class=\"num\">([^<]+)</td>", box))
    assert rows["Net P&amp;L"] == "+20.00 USD" and rows["Closed trades"] == "1"
