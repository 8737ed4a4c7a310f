"""The pure trading maths, against figures worked out by hand."""

import math
from decimal import Decimal as D

import pytest

from journal.analytics import performance as p

pytestmark = pytest.mark.smoke

DAILY = [D("100"), D("-50"), D("30"), D("-120"), D("200")]


def test_equity_curve_is_the_running_sum():
    assert p.equity_curve(DAILY) == [D(100), D(50), D(80), D(-40), D(160)]


def test_max_drawdown_is_the_largest_fall_from_a_peak():
    # peak 100 after day 1; lowest point -40 after day 4: a fall of 140.
    assert p.drawdowns(DAILY) == [D(0), D(50), D(20), D(140), D(0)]
    assert p.max_drawdown(DAILY) == D(140)


def test_a_curve_that_starts_with_a_loss_draws_down_from_zero():
    assert p.max_drawdown([D(-30), D(10)]) == D(30)


def test_sharpe_is_the_annualised_mean_over_sample_deviation():
    mean = 32.0
    sample_sd = math.sqrt(sum((x - mean) ** 2 for x in [100, -50, 30, -120, 200]) / 4)
    assert p.sharpe(DAILY) == pytest.approx(mean / sample_sd * math.sqrt(252))
    assert p.sharpe(DAILY) == pytest.approx(4.0580, abs=1e-4)


def test_sortino_uses_the_downside_deviation_over_all_days():
    downside = math.sqrt((50**2 + 120**2) / 5)  # 58.137...
    assert p.sortino(DAILY) == pytest.approx(32 / downside * math.sqrt(252))


def test_ratios_without_a_denominator_are_none():
    assert p.profit_factor(D(10), D(0)) is None
    assert p.profit_factor(D(300), D(-120)) == D("2.5")
    assert p.sharpe([D(5)]) is None
    assert p.sortino([D(5), D(7)]) is None
