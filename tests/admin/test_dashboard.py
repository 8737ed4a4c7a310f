"""The performance dashboard: tiles in the trader's words, the charts' data, the calendar,
the breakdowns, the period form (From / To honoured, bad input refused by name), and the
same figures as GET /api/v1/metrics."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission

from journal.admin.dashboard_figures import DashboardForm, Selection, dashboard_figures
from journal.analytics import charts, metrics
from journal.instruments import forget, instruments_seed
from tests.admin.conftest import make_trades, recent

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("awkward_clock")]

DASHBOARD = "/admin/journal/trade/dashboard/"


@pytest.fixture(autouse=True)
def _instruments(db):
    instruments_seed()
    forget()
    yield
    forget()


def tiles(html: str) -> dict[str, str]:
    """{label: value as read, its currency included}."""
    found = re.findall(r'tile-label">([^<]+)</div><div class="tile-value">(.*?)</div>', html)
    return {label: " ".join(re.sub(r"<[^>]+>", "", value).split()) for label, value in found}


def chart_data(html: str) -> dict:
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)
    assert found, "no chart data"
    return json.loads(found.group(1))


def test_the_dashboard_is_linked_from_the_index_and_the_trade_list(reviewer_client):
    assert f'href="{DASHBOARD}"' in reviewer_client.get("/admin/").content.decode()
    assert f'href="{DASHBOARD}"' in reviewer_client.get("/admin/journal/trade/").content.decode()


def test_tiles_charts_and_tables_show_the_period(reviewer_client):
    make_trades(3, pnl="100.00", strategy="breakout")
    make_trades(2, pnl="-40.00", symbol="GBPUSD", strategy="fade", start_days_ago=5)
    html = reviewer_client.get(DASHBOARD, {"period": "30"}).content.decode()
    shown = tiles(html)
    assert shown["Net P&amp;L"] == "+220.00 USD"
    assert shown["Win rate"] == "60.0 %"
    assert shown["Profit factor"] == "3.75"
    assert shown["Expectancy / trade"] == "+44.00 USD"
    assert shown["Average win"] == "+100.00 USD" and shown["Average loss"] == "-40.00 USD"
    assert shown["Closed trades"] == "5"
    # Days -6, -5 lose 40 each, then three days win 100: the curve falls to -80 first.
    assert shown["Max drawdown"] == "-80.00 USD"
    assert shown["Average holding"] == "1 h 00 min"
    data = chart_data(html)
    assert data["currency"] == "USD" and len(data["days"]) == 5
    assert data["days"] == sorted(data["days"])
    assert all(
        b - a >= 86400 and (b - a) % 86400 == 0
        for a, b in zip(data["days"], data["days"][1:], strict=False)
    )
    assert data["equity"][-1] == 220 and min(data["drawdown"]) == -80
    assert sum(data["net"]) == 220 and data["trades"] == [1] * 5
    strategies = re.search(r'id="table-strategy".*?</table>', html, re.S).group(0)
    assert strategies.index("breakout") < strategies.index("fade")  # best net P&L first
    assert "GBPUSD" in re.search(r'id="table-symbol".*?</table>', html, re.S).group(0)
    for table in ("side", "weekday", "hour"):
        assert f'id="table-{table}"' in html
    assert 'class="calendar"' in html and "cal-up cal-shade-4" in html


def test_the_page_and_the_api_give_the_same_figures(db):
    from rest_framework.test import APIClient

    from apikeys.services import api_key_create

    _, key = api_key_create(name="report-reader", scopes="trades:read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    make_trades(4, pnl="12.34", stop_loss="1.08000")
    make_trades(3, pnl="-5.00", symbol="GBPUSD", start_days_ago=6)
    make_trades(1, pnl="-1.00", strategy="", start_days_ago=12)
    today = datetime.now(UTC).date()
    since, until = today - timedelta(days=29), today + timedelta(days=1)
    page = dashboard_figures(selection=Selection("30", since, until))
    api = reader.get(
        "/api/v1/metrics", {"since": f"{since}T00:00:00Z", "until": f"{until}T00:00:00Z"}
    )
    assert api.status_code == 200
    body = api.json()
    assert body["summary"]["trades"] == page["summary"]["trades"] == 8
    assert body["summary"]["net_pnl"] == f"{page['summary']['net_pnl']:.8f}"
    assert body["summary"]["expectancy_r"] == f"{page['summary']['expectancy_r']:.8f}"
    for name in ("by_day", "by_symbol", "by_strategy", "by_side", "by_hour", "r_histogram"):
        assert len(body[name]) == len(page[name]), name
    assert [row["trades"] for row in body["r_histogram"]] == [
        row["trades"] for row in page["r_histogram"]
    ]


def test_the_figures_are_the_journal_metrics(reviewer_client):
    make_trades(4, pnl="12.34")
    make_trades(3, pnl="-5.00", symbol="GBPUSD", start_days_ago=6)
    make_trades(1, pnl="-1.00", strategy="", start_days_ago=12)
    figures = dashboard_figures(selection=Selection(period="all", since=None, until=None))
    expected = metrics.report()
    for key in ("summary", "by_day", "by_symbol", "by_strategy", "by_weekday", "by_hour"):
        assert figures[key] == expected[key], key


def test_filters_narrow_the_figures(reviewer_client):
    make_trades(2, pnl="100.00")
    make_trades(1, pnl="-30.00", symbol="GBPUSD", account="desk-b", strategy="", start_days_ago=3)
    html = reviewer_client.get(DASHBOARD, {"period": "90", "symbol": "GBPUSD"}).content.decode()
    assert len(chart_data(html)["days"]) == 1
    assert tiles(html)["Net P&amp;L"] == "-30.00 USD"
    no_strategy = reviewer_client.get(DASHBOARD, {"strategy": "__none__"}).content.decode()
    assert tiles(no_strategy)["Net P&amp;L"] == "-30.00 USD" and "strategy (none)" in no_strategy
    account = reviewer_client.get(DASHBOARD, {"account": "desk-main"}).content.decode()
    assert tiles(account)["Net P&amp;L"] == "+200.00 USD"


def test_an_empty_period_says_so(reviewer_client):
    make_trades(2, start_days_ago=200)
    html = reviewer_client.get(DASHBOARD, {"period": "30"}).content.decode()
    assert "No closed trades in this period" in html
    assert "dashboard-data" not in html


def test_from_and_to_are_honoured_whatever_the_period_says(reviewer_client):
    trades = make_trades(5)
    day = trades[2].closed_at.date().isoformat()
    for period in ("custom", "30", "all", ""):
        response = reviewer_client.get(DASHBOARD, {"period": period, "since": day, "until": day})
        assert response.status_code == 200, period
        html = response.content.decode()
        assert chart_data(html)["days"] == [charts.epoch(trades[2].closed_at.date())], period
        assert re.search(rf"from {day}\s+to {day}", html), period
    only_from = reviewer_client.get(DASHBOARD, {"since": day}).content.decode()
    assert tiles(only_from)["Closed trades"] == "3"  # that day and the two after it


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "2026-05-02", "until": "2026-05-01"}, "until", "To is before From."),
        ({"period": "custom"}, "since", "Give a From day, a To day or both."),
        ({"since": "9999-01-01"}, "since", "Give a day in the years 1990 to 2100."),
        ({"until": "0001-01-01"}, "until", "Give a day in the years 1990 to 2100."),
        ({"since": "2026-13-45"}, "since", "Enter a valid date."),
        ({"since": "99999999999999999999"}, "since", "Enter a valid date."),
        ({"until": "05/01/2026"}, "until", "Enter a valid date."),
        ({"period": "99999999999999999999"}, "period", "Select a valid choice."),
        ({"period": "-1"}, "period", "Select a valid choice."),
        ({"symbol": "<script>alert(1)</script>"}, "symbol", "Select a valid choice."),
        ({"account": "x" * 5000}, "account", "Select a valid choice."),
        ("strategy=%ED%A0%80", "strategy", "Select a valid choice."),  # a lone surrogate
        ("since=%FF%FE", "since", "Enter a valid date."),  # not UTF-8
    ],
)
def test_bad_input_is_an_error_on_the_page_not_other_figures(
    reviewer_client, params, field, message
):
    make_trades(3)
    if isinstance(params, str):
        response = reviewer_client.get(f"{DASHBOARD}?{params}")
    else:
        response = reviewer_client.get(DASHBOARD, params)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'id="error-{field}">([^<]*)<', html)
    assert error and message in error.group(1).replace("&#x27;", "'"), html[:2000]
    assert 'id="dashboard-invalid"' in html
    assert "dashboard-data" not in html and "tile-value" not in html
    assert "<script>alert(1)</script>" not in html


def test_a_nul_in_the_query_is_refused_before_the_page(reviewer_client):
    response = reviewer_client.get(DASHBOARD, {"since": "2026-01-01\x00"})
    assert response.status_code == 400


def test_an_unfilled_form_shows_the_default_period(db):
    form = DashboardForm(None)
    selection = form.selection(today=recent(0).date())
    assert selection.period == "90" and selection.since == recent(0).date() - timedelta(days=89)


def test_hundreds_of_days_keep_one_point_a_day(reviewer_client):
    make_trades(400)
    html = reviewer_client.get(DASHBOARD, {"period": "all"}).content.decode()
    data = chart_data(html)
    assert len(data["days"]) == len(data["equity"]) == 400
    # The calendar shows one month, the latest with a trade, and moves by month.
    assert html.count('class="calendar"') == 1
    assert 'id="calendar-previous"' in html and 'id="calendar-next"' in html


def test_only_staff_with_view_permission_on_trades_see_it(client, django_user_model):
    staff = django_user_model.objects.create_user("sam", is_staff=True)
    client.force_login(staff)
    assert client.get(DASHBOARD).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_trade"))
    assert client.get(DASHBOARD).status_code == 200
