"""The maths of judging a version live (serving.live.judging), on cases worked by hand."""

from decimal import Decimal

import pytest

from serving.live.judging import LiveTrade, calibration, r_multiple, trade_figures

pytestmark = pytest.mark.smoke

D = Decimal

# Ten trades: (predicted probability, won). By hand, per bin:
#   [0.1, 0.2): 0.15 x 4, one won        mean 0.15,  win rate 0.25
#   [0.7, 0.8): 0.72 x 3, 0.78, 3 won    mean 0.735, win rate 0.75
#   [0.9, 1.0]: 0.95 x 2, both won       mean 0.95,  win rate 1.0
# Brier: (0.85² + 3 x 0.15²) + (2 x 0.28² + 0.72² + 0.22²) + 2 x 0.05²
#      = 0.79 + 0.7236 + 0.005 = 1.5186, / 10 = 0.15186
# ECE:   (4 x 0.10 + 4 x 0.015 + 2 x 0.05) / 10 = 0.056
PAIRS = [
    (0.15, True),
    (0.15, False),
    (0.15, False),
    (0.15, False),
    (0.72, True),
    (0.72, True),
    (0.72, False),
    (0.78, True),
    (0.95, True),
    (0.95, True),
]


def test_calibration_by_deciles_brier_and_ece_are_the_hand_worked_figures():
    result = calibration(PAIRS)
    assert result.trades == 10
    assert result.brier == pytest.approx(0.15186, abs=1e-12)
    assert result.ece == pytest.approx(0.056, abs=1e-12)
    filled = [(b.low, b.trades, b.mean_predicted, b.win_rate) for b in result.bins if b.trades]
    assert filled == [
        (0.1, 4, pytest.approx(0.15), 0.25),
        (0.7, 4, pytest.approx(0.735), 0.75),
        (0.9, 2, pytest.approx(0.95), 1.0),
    ]
    assert len(result.bins) == 10 and sum(b.trades for b in result.bins) == 10


def test_bin_edges_unknown_and_out_of_range_probabilities():
    result = calibration([(0.1, True), (1.0, False), (0.0, False), (None, True), (1.7, True)])
    by_low = {round(b.low, 1): b.trades for b in result.bins}
    assert (by_low[0.1], by_low[0.9], by_low[0.0]) == (1, 1, 1)
    assert result.trades == 3  # None and 1.7 are no probabilities
    assert calibration([]).brier is None and calibration([]).trades == 0


# Four trades, by hand:
#   long  1.1000 -> 1.1100, stop 1.0950: +0.0100 / 0.0050 = +2.0 R, pnl +100   (a win)
#   short 2000 -> 2005,     stop 2010:   -5 / 10           = -0.5 R, pnl -50    (a loss)
#   long, no stop, pnl 0: neither a win nor a loss, no R
#   long  100 -> 95,        stop 95:     -5 / 5            = -1.0 R, pnl -5.20  (a loss)
# trades 4, wins 1, losses 2, win rate 0.25, net 44.80, expectancy 11.20,
# 3 with a stop, mean R (2 - 0.5 - 1) / 3 = 0.1667, total R 0.5
TRADES = [
    LiveTrade("long", D("1.1000"), D("1.1100"), D("1.0950"), D("100"), 0.7),
    LiveTrade("short", D("2000"), D("2005"), D("2010"), D("-50"), 0.6),
    LiveTrade("long", D("1.2"), D("1.2"), None, D("0"), None),
    LiveTrade("long", D("100"), D("95"), D("95"), D("-5.20"), 0.4),
]


def test_trade_figures_and_r_are_the_hand_worked_figures():
    figures = trade_figures(TRADES)
    assert (figures.trades, figures.wins, figures.losses) == (4, 1, 2)
    assert figures.win_rate == 0.25
    assert (figures.net_pnl, figures.expectancy) == (D("44.80"), D("11.20"))
    assert figures.trades_with_stop == 3
    assert figures.average_r == pytest.approx(0.5 / 3)
    assert figures.total_r == pytest.approx(0.5)
    assert [r_multiple(t) for t in TRADES] == [2.0, -0.5, None, -1.0]


def test_a_stop_on_the_wrong_side_or_at_the_entry_has_no_r():
    assert r_multiple(LiveTrade("long", D(100), D(110), D(101), D(10), None)) is None
    assert r_multiple(LiveTrade("short", D(100), D(90), D(100), D(10), None)) is None
    assert trade_figures([]).trades == 0 and trade_figures([]).win_rate is None
