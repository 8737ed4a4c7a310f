"""The data of the dashboard's charts (journal.analytics.charts): pure functions."""

from datetime import date
from decimal import Decimal as D

import pytest

from journal.analytics import charts

pytestmark = pytest.mark.smoke


def report(days):
    equity, peak, rows = D(0), D(0), []
    for day, net in days:
        equity += net
        peak = max(peak, equity)
        rows.append(
            {"day": day, "trades": 2, "net_pnl": net, "equity": equity, "drawdown": peak - equity}
        )
    return {
        "by_day": rows,
        "r_histogram": [
            {"low": None, "high": D(-3), "trades": 1},
            {"low": D(-3), "high": D("-2.5"), "trades": 0},
            {"low": D("0.5"), "high": D(1), "trades": 4},
            {"low": D(5), "high": None, "trades": 2},
        ],
        "by_hour": [{"hour": 9, "trades": 3, "net_pnl": D("12.5")}],
    }


def test_days_are_utc_midnights_on_a_real_time_axis():
    data = charts.payload(report([(date(2026, 3, 6), D(10)), (date(2026, 3, 9), D(-30))]), "USD")
    # Friday and the Monday after: three days apart on the axis, not one slot.
    assert data["days"] == [1772755200, 1773014400]
    assert data["days"][1] - data["days"][0] == 3 * 86400
    assert data["net"] == [10.0, -30.0] and data["equity"] == [10.0, -20.0]
    assert data["drawdown"] == [0.0, -30.0]  # drawn as a fall below zero
    assert data["currency"] == "USD" and data["trades"] == [2, 2]


def test_the_r_histogram_is_labelled_in_r():
    histogram = charts.payload(report([]), "")["r_histogram"]
    assert histogram["labels"] == ["< -3R", "-3R to -2.5R", "+0.5R to +1R", "≥ +5R"]
    assert histogram["counts"] == [1, 0, 4, 2]
    assert histogram["centres"] == [-3.25, -2.75, 0.75, 5.25]


def test_plain_decimals_lose_trailing_zeros():
    assert charts.plain(D("66.30000000")) == "66.3" and charts.plain(D("2E+2")) == "200"
    assert charts.plain(D("-0.0")) == "0"
