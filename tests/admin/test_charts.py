"""The dashboard's SVG charts (journal.analytics.charts): pure functions, no database."""

import re
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from journal.analytics import charts

pytestmark = pytest.mark.smoke


def series(days: int, start=date(2026, 1, 1)) -> list[tuple[date, D]]:
    return [(start + timedelta(days=n), D(n % 7 - 3) * 10) for n in range(days)]


def test_a_line_chart_has_one_point_per_day_with_its_data():
    svg = charts.line_chart(
        "equity", "Equity", [(date(2026, 1, 2), D("12.5")), (date(2026, 1, 3), D("-4"))]
    )
    points = re.findall(r'<circle class="point"[^>]*data-day="([^"]+)" data-value="([^"]+)"', svg)
    assert points == [("2026-01-02", "12.5"), ("2026-01-03", "-4")]
    assert "<title>Equity 2026-01-02: 12.50</title>" in svg
    assert charts.plain(D("66.30000000")) == "66.3" and charts.plain(D("2E+2")) == "200"
    assert svg.startswith("<svg") and 'data-chart="equity"' in svg


def test_bars_go_up_green_and_down_red_from_zero():
    svg = charts.bar_chart(
        "daily-pnl", "Daily P&L", [(date(2026, 1, 2), D(5)), (date(2026, 1, 3), D(-5))]
    )
    fills = re.findall(r'<rect class="point"[^>]*fill="([^"]+)"', svg)
    assert fills == [charts.GREEN, charts.RED]
    assert "Daily P&amp;L" in svg and "Daily P&L" not in svg


def test_hundreds_of_days_stay_readable():
    points = series(400)
    bars = charts.bar_chart("daily-pnl", "Daily P&L", points)
    weekly = re.findall(r'<rect class="point"', bars)
    assert len(weekly) <= charts.MAX_BARS and len(weekly) == len(charts.weekly(points))
    assert "summed by week" in bars
    line = charts.line_chart("equity", "Equity", points)
    assert len(re.findall(r'<circle class="point"', line)) == 400
    dates_on_axis = re.findall(r'class="axis">(\d{4}-\d\d-\d\d)<', line)
    assert 2 <= len(dates_on_axis) <= charts.MAX_X_LABELS


def test_weekly_bars_sum_the_days_of_each_week():
    monday = date(2026, 1, 5)
    points = [
        (monday, D(1)),
        (monday + timedelta(days=6), D(2)),
        (monday + timedelta(days=7), D(4)),
    ]
    assert charts.weekly(points) == [(monday, D(3)), (monday + timedelta(days=7), D(4))]


def test_no_points_no_chart():
    assert charts.line_chart("equity", "Equity", []) == ""
    assert charts.bar_chart("daily-pnl", "Daily", []) == ""


def test_a_flat_series_still_has_a_scale():
    svg = charts.line_chart("drawdown", "Drawdown", [(date(2026, 1, 2), D(0))] * 3)
    assert "nan" not in svg.lower() and len(re.findall(r"<circle", svg)) == 3


@pytest.mark.parametrize(("span", "step"), [(9, 5), (100, 50), (0.3, 0.1), (12345, 5000), (0, 1)])
def test_the_axis_steps_are_round(span, step):
    assert charts.nice_step(span) == pytest.approx(step)
