"""The dashboard's comparisons (journal.analytics.comparisons), worked out by hand, and
properties that must hold on any journal: a mistake's trades with it and without it
make up the selection; a mistake's cost is zero when its trades do as well as the rest;
the previous period of a period is as long (or the calendar's week / month before)."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journal.analytics import comparisons

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize(
    ("period", "since", "until", "expected"),
    [
        ("today", date(2026, 6, 10), date(2026, 6, 11), (date(2026, 6, 9), date(2026, 6, 10))),
        # This week so far (Monday 8 June to today) against the whole week before.
        ("week", date(2026, 6, 8), date(2026, 6, 11), (date(2026, 6, 1), date(2026, 6, 8))),
        # This month so far against the whole month before, however long.
        ("month", date(2026, 3, 1), date(2026, 3, 15), (date(2026, 2, 1), date(2026, 3, 1))),
        ("month", date(2026, 1, 1), date(2026, 1, 2), (date(2025, 12, 1), date(2026, 1, 1))),
        ("30", date(2026, 5, 12), date(2026, 6, 11), (date(2026, 4, 12), date(2026, 5, 12))),
        ("custom", date(2026, 6, 1), date(2026, 6, 3), (date(2026, 5, 30), date(2026, 6, 1))),
        ("all", None, None, None),
        ("custom", date(2026, 6, 1), None, None),
    ],
)
def test_the_previous_period_is_the_same_kind_of_period_before(period, since, until, expected):
    assert comparisons.previous_days(period, since, until) == expected


@given(
    since=st.dates(min_value=date(1990, 2, 1), max_value=date(2100, 1, 1)),
    days=st.integers(1, 400),
)
def test_a_number_of_days_is_compared_with_as_many_days_just_before(since, days):
    until = since + timedelta(days=days)
    before, after = comparisons.previous_days("custom", since, until)
    assert after == since and (after - before) == (until - since)


def day(net, trades, wins, holding, r_trades, r_sum, on=date(2026, 6, 1)):
    return {
        "day": on,
        "net_pnl": D(net),
        "trades": trades,
        "wins": wins,
        "holding_seconds": D(holding),
        "r_trades": r_trades,
        "r_sum": D(r_sum),
    }


def test_winning_days_against_losing_days_by_hand():
    days = [
        day("300", 3, 2, 3 * 3600, 2, "2.5"),
        day("100", 1, 1, 600, 1, "1"),
        day("-250", 5, 1, 5 * 60, 5, "-3"),
        day("0", 2, 1, 100, 0, "0"),  # flat: neither
    ]
    groups = comparisons.day_groups(days)
    win, lose = groups["winning"], groups["losing"]
    assert (win["days"], win["trades"], win["net_pnl"]) == (2, 4, D("400"))
    assert (win["trades_per_day"], win["win_rate"], win["per_day"]) == (D(2), D("0.75"), D(200))
    assert win["expectancy"] == D(100) and win["expectancy_r"] == D("3.5") / 3
    assert win["average_holding"] == D(3 * 3600 + 600) / 4
    assert (lose["days"], lose["trades"], lose["win_rate"], lose["expectancy"]) == (
        1,
        5,
        D("0.2"),
        D(-50),
    )
    assert lose["expectancy_r"] == D("-0.6")


def test_what_a_mistake_cost_by_hand():
    # 10 trades: net +500, 8 with a stop summing +4 R. "chased": 4 trades, net -200, 4 with
    # a stop at -1 R each. Without it: 6 trades, +700 (116.67 a trade), 4 stops, +8 R.
    total = {"trades": 10, "wins": 5, "net_pnl": D(500), "r_trades": 8, "expectancy_r": D("0.5")}
    chased = {"mistake": "chased", "trades": 4, "wins": 0, "net_pnl": D(-200), "r_trades": 4}
    chased["expectancy_r"] = D(-1)
    (row,) = comparisons.mistake_rows([chased], [], total)
    assert (row["with"]["trades"], row["without"]["trades"]) == (4, 6)
    assert row["without"]["net_pnl"] == D(700) and row["without"]["r_sum"] == D(8)
    assert row["without"]["expectancy_r"] == D(2)
    # (-50 - 116.67) x 4 and (-1 - 2) x 4.
    assert row["cost"] == (D(-50) - D(700) / 6) * 4
    assert row["cost_r"] == D(-12)
    assert row["with"]["win_rate"] == 0 and row["without"]["win_rate"] == D(5) / 6


def test_any_mistake_comes_first_and_a_side_without_trades_has_no_cost():
    total = {"trades": 3, "wins": 1, "net_pnl": D(-30), "r_trades": 0, "expectancy_r": None}
    every = {"trades": 3, "wins": 1, "net_pnl": D(-30), "r_trades": 0, "expectancy_r": None}
    rows = comparisons.mistake_rows(
        [{"mistake": "fomo", **every}], [{"mistake": "", **every}], total
    )
    assert [row["mistake"] for row in rows] == ["any mistake", "fomo"]
    assert rows[0]["any"] and not rows[1]["any"]
    assert all(row["cost"] is None and row["cost_r"] is None for row in rows)  # none without


money = st.decimals(min_value=-10_000, max_value=10_000, places=2)


@given(
    trades=st.integers(1, 200),
    data=st.data(),
)
def test_with_and_without_make_up_the_selection(trades, data):
    with_trades = data.draw(st.integers(1, trades))
    wins = data.draw(st.integers(0, trades))
    with_wins = data.draw(st.integers(0, min(wins, with_trades)))
    net, with_net = data.draw(money), data.draw(money)
    r_trades = data.draw(st.integers(0, trades))
    with_r = data.draw(st.integers(0, min(r_trades, with_trades)))
    mean_r = data.draw(st.one_of(st.none(), money)) if r_trades else None
    with_mean_r = data.draw(money) if with_r else None
    total = {
        "trades": trades,
        "wins": wins,
        "net_pnl": net,
        "r_trades": r_trades,
        "expectancy_r": mean_r if r_trades else None,
    }
    mistake = {
        "mistake": "x",
        "trades": with_trades,
        "wins": with_wins,
        "net_pnl": with_net,
        "r_trades": with_r,
        "expectancy_r": with_mean_r,
    }
    (row,) = comparisons.mistake_rows([mistake], [], total)
    for name in ("trades", "wins", "net_pnl", "r_trades"):
        assert row["with"][name] + row["without"][name] == total[name], name
    if row["cost"] is not None and row["with"]["expectancy"] == row["without"]["expectancy"]:
        assert row["cost"] == 0
