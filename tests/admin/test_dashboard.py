"""The performance dashboard: tiles, charts with their data points, tables, periods."""

import re
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Permission

from journal.analytics import metrics
from journal.analytics.dashboard import DashboardForm, Selection, dashboard_figures
from tests.admin.conftest import make_trades, recent

pytestmark = pytest.mark.smoke

DASHBOARD = "/admin/journal/trade/dashboard/"


def points(html: str, chart: str, tag: str) -> list[tuple[str, str]]:
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', html, re.S)
    assert svg, f"no {chart} chart"
    return re.findall(
        rf'<{tag} class="point"[^>]*data-day="([^"]+)" data-value="([^"]+)"', svg.group(0)
    )


def test_the_dashboard_is_linked_from_the_index_and_the_trade_list(reviewer_client):
    assert f'href="{DASHBOARD}"' in reviewer_client.get("/admin/").content.decode()
    assert f'href="{DASHBOARD}"' in reviewer_client.get("/admin/journal/trade/").content.decode()


def test_tiles_charts_and_tables_show_the_period(reviewer_client):
    make_trades(3, pnl="100.00", strategy="breakout")
    make_trades(2, pnl="-40.00", symbol="GBPUSD", strategy="fade", start_days_ago=5)
    html = reviewer_client.get(DASHBOARD, {"period": "30"}).content.decode()
    tiles = dict(re.findall(r'tile-label">([^<]+)</div><div class="tile-value">([^<]+)<', html))
    assert tiles["Net P&amp;L"] == "220.00"
    assert tiles["Win rate"] == "60.0%"
    assert tiles["Profit factor"] == "3.75"
    assert tiles["Expectancy"] == "44.00"
    assert tiles["Closed trades"] == "5"
    equity = points(html, "equity", "circle")
    assert len(equity) == 5 and equity[-1][1] == "220"
    daily = points(html, "daily-pnl", "rect")
    assert len(daily) == 5
    assert sum(D(value) for _, value in daily) == D("220")
    drawdown = points(html, "drawdown", "circle")
    assert len(drawdown) == 5 and all(D(value) <= 0 for _, value in drawdown)
    strategies = re.search(r'id="table-strategy".*?</table>', html, re.S).group(0)
    assert strategies.index("breakout") < strategies.index("fade")  # best net P&L first
    assert "GBPUSD" in re.search(r'id="table-symbol".*?</table>', html, re.S).group(0)


FIGURES = ("trades", "wins", "losses", "net_pnl", "gross_profit", "gross_loss", "win_rate")
RATIOS = ("profit_factor", "expectancy")


def test_the_figures_are_the_journal_metrics(reviewer_client):
    make_trades(4, pnl="12.34")
    make_trades(3, pnl="-5.00", symbol="GBPUSD", start_days_ago=6)
    make_trades(2, pnl="7.00", symbol="GBPUSD", strategy="fade", start_days_ago=9)
    make_trades(1, pnl="-1.00", strategy="", start_days_ago=12)
    figures = dashboard_figures(selection=Selection(period="all", since=None, until=None))
    expected = metrics.summary()
    for name in FIGURES + RATIOS:
        assert figures["summary"][name] == expected[name], name
    for field in ("symbol", "strategy"):
        rows = [{k: row[k] for k in (field, *FIGURES, *RATIOS)} for row in figures[f"by_{field}"]]
        want = [
            {k: row[k] for k in (field, *FIGURES, *RATIOS)} for row in metrics.by_field(None, field)
        ]
        assert rows == want, field
    html = reviewer_client.get(DASHBOARD, {"period": "all"}).content.decode()
    assert f'tile-value">{expected["net_pnl"]:,.2f}<' in html


def test_filters_narrow_the_figures(reviewer_client):
    make_trades(2, pnl="100.00")
    make_trades(1, pnl="-30.00", symbol="GBPUSD", account="desk-b", strategy="", start_days_ago=3)
    html = reviewer_client.get(DASHBOARD, {"period": "90", "symbol": "GBPUSD"}).content.decode()
    assert len(points(html, "equity", "circle")) == 1
    assert 'tile-value">-30.00<' in html
    no_strategy = reviewer_client.get(DASHBOARD, {"strategy": "__none__"}).content.decode()
    assert 'tile-value">-30.00<' in no_strategy and "strategy (none)" in no_strategy
    account = reviewer_client.get(DASHBOARD, {"account": "desk-main"}).content.decode()
    assert 'tile-value">200.00<' in account


def test_an_empty_period_says_so(reviewer_client):
    make_trades(2, start_days_ago=200)
    html = reviewer_client.get(DASHBOARD, {"period": "30"}).content.decode()
    assert "No closed trades in this period" in html
    assert "data-chart=" not in html


def test_a_from_to_period_includes_both_days(reviewer_client):
    trades = make_trades(5)
    day = trades[2].closed_at.date().isoformat()
    html = reviewer_client.get(
        DASHBOARD, {"period": "custom", "since": day, "until": day}
    ).content.decode()
    assert points(html, "equity", "circle") == [(day, "66.3")]


def test_bad_input_falls_back_to_the_default_period(db):
    form = DashboardForm({"period": "custom", "since": "2026-05-02", "until": "2026-05-01"})
    assert not form.is_valid()
    selection = form.selection(today=recent(0).date())
    assert selection.period == "90" and selection.since is not None


def test_hundreds_of_days_stay_readable(reviewer_client):
    make_trades(400)
    html = reviewer_client.get(DASHBOARD, {"period": "all"}).content.decode()
    assert len(points(html, "equity", "circle")) == 400
    bars = points(html, "daily-pnl", "rect")
    assert 50 <= len(bars) <= 180 and "summed by week" in html


def test_only_staff_with_view_permission_on_trades_see_it(client, django_user_model):
    staff = django_user_model.objects.create_user("sam", is_staff=True)
    client.force_login(staff)
    assert client.get(DASHBOARD).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_trade"))
    assert client.get(DASHBOARD).status_code == 200
