"""Each rule of the risk gate at its boundaries, its figures against hand-worked cases.

The gate is pure: these tests build the observations by hand (tests/desk/test_gate_desk.py
has them read from a real desk). The desk: a USD account with 100,000 equity; EURUSD
at 1.0850 with a 50-pip stop; point value 100,000 a lot.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from desk.gate import Observations, in_window, judge
from desk.models import IdeaStatus, RiskConfig, Strategy
from journal.instruments import catalogue_instrument
from tests.desk.conftest import EQUITY, idea

pytestmark = pytest.mark.smoke

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, before New York's DST (8 March)
EURUSD = catalogue_instrument("EURUSD")
CALM = Observations(
    now=NOW,
    open_trades=0,
    today_pnl=Decimal(0),
    drawdown=Decimal(0),
    instrument=EURUSD,
    to_account=Decimal(1),
    equity=EQUITY,
    equity_at=NOW - timedelta(minutes=5),
    bar_at=NOW - timedelta(minutes=1),
)


def config(**overrides) -> RiskConfig:
    """The model's defaults (250 USD and 1 % a trade, 500 USD a day, inputs within an
    hour, a stop required) with AI trading on and EURUSD on the watchlist."""
    values = {
        "ai_trading_enabled": True,
        "max_lot_size": Decimal(2),
        "max_concurrent_trades": 3,
        "daily_profit_target": Decimal(5000),
        "watchlist": ["EURUSD", "USDJPY", "USDCHF", "GER40"],
    }
    values.update(overrides)
    return RiskConfig(**values)


def verdict_of(observed=CALM, settings=None, **proposal):
    return judge(idea(**proposal), config(**(settings or {})), observed)


def check(verdict, rule):
    (found,) = [c for c in verdict.checks if c.rule == rule]
    return found


def failing(verdict) -> list[str]:
    return [c.rule for c in verdict.failed]


# -- the reproduction: no stop, no lot -----------------------------------------------


def test_an_idea_without_stop_or_lot_is_never_auto_executed():
    verdict = verdict_of(stop_loss=None, lot_size=None, take_profit=None)
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL
    assert check(verdict, "require_stop_loss").passed is False
    lot = check(verdict, "lot_size")
    assert (lot.passed, lot.effect) == (False, "approval")
    assert "no lot size proposed" in lot.note
    assert "risk unknown: no stop loss" in check(verdict, "max_risk_per_trade").note


def test_with_the_stop_rule_off_and_no_risk_limits_an_unstopped_idea_may_execute():
    settings = {
        "require_stop_loss": False,
        "max_risk_per_trade": None,
        "max_risk_pct_of_equity": None,
    }
    verdict = verdict_of(settings=settings, stop_loss=None)
    assert verdict.status == IdeaStatus.AUTO_EXECUTED


# -- sizing ------------------------------------------------------------------------------------


def test_a_missing_lot_takes_the_default_lot_and_is_judged_with_it():
    verdict = verdict_of(settings={"default_lot_size": Decimal("0.3")}, lot_size=None)
    assert verdict.status == IdeaStatus.AUTO_EXECUTED
    assert verdict.lot_size == Decimal("0.3")
    assert "default lot 0.3 is used" in check(verdict, "lot_size").note
    # 0.0050 x 0.3 x 100,000 = 150 USD
    assert check(verdict, "max_risk_per_trade").observed == Decimal("150.00")


def test_a_default_lot_above_the_maximum_is_rejected():
    verdict = verdict_of(settings={"default_lot_size": Decimal(3)}, lot_size=None)
    assert "max_lot_size" in failing(verdict)


# -- risk per trade: money and share of equity --------------------------------------------


@pytest.mark.parametrize(
    ("lot", "risk", "passed"),
    [("0.5", "250.00", True), ("0.51", "255.00", False), ("0.1", "50.00", True)],
)
def test_risk_per_trade_in_money_at_its_limit(lot, risk, passed):
    verdict = verdict_of(lot_size=Decimal(lot), settings={"max_risk_pct_of_equity": None})
    rule = check(verdict, "max_risk_per_trade")
    assert (rule.limit, rule.observed, rule.passed) == (Decimal(250), Decimal(risk), passed)
    assert verdict.status == (IdeaStatus.AUTO_EXECUTED if passed else IdeaStatus.REJECTED)


@pytest.mark.parametrize(
    ("equity", "observed", "passed"),
    [("25000", "1.00", True), ("24999", "1.01", False), ("50000", "0.50", True)],
)
def test_risk_as_a_share_of_equity_at_its_limit(equity, observed, passed):
    """250 USD of risk against the equity: exactly 1 % passes, a cent less equity fails
    (the share shown rounds up, so a failure never reads 1.00)."""
    verdict = verdict_of(
        replace(CALM, equity=Decimal(equity)),
        lot_size=Decimal("0.5"),
        settings={"max_risk_per_trade": None},
    )
    rule = check(verdict, "max_risk_pct_of_equity")
    assert (rule.observed, rule.passed) == (Decimal(observed), passed)
    assert "250 USD of equity" in rule.note


def test_without_equity_the_share_cannot_be_judged_and_a_person_decides():
    verdict = verdict_of(replace(CALM, equity=None, equity_at=None))
    rule = check(verdict, "max_risk_pct_of_equity")
    assert (rule.passed, rule.effect, rule.note) == (False, "approval", "no account equity known")
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL


def test_risk_in_another_quote_currency_is_converted_to_the_account_currency():
    """USDJPY: 0.500 yen x 0.2 lot x 100,000 = 10,000 JPY; at 150 yen a dollar that is
    66.666… USD, shown rounded up: 66.67."""
    observed = replace(CALM, instrument=catalogue_instrument("USDJPY"), to_account=1 / Decimal(150))
    verdict = verdict_of(
        observed,
        symbol="USDJPY",
        entry_price=Decimal("150.000"),
        stop_loss=Decimal("149.500"),
        take_profit=Decimal("151.000"),
        lot_size=Decimal("0.2"),
    )
    assert check(verdict, "max_risk_per_trade").observed == Decimal("66.67")
    assert verdict.status == IdeaStatus.AUTO_EXECUTED


def test_without_a_rate_to_the_account_currency_a_person_decides():
    observed = replace(CALM, instrument=catalogue_instrument("USDCHF"), to_account=None)
    verdict = verdict_of(
        observed,
        symbol="USDCHF",
        entry_price=Decimal("0.88000"),
        stop_loss=Decimal("0.87500"),
        take_profit=Decimal("0.89000"),
    )
    assert "no rate from CHF to USD" in check(verdict, "max_risk_per_trade").note
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL


def test_an_index_risk_uses_its_point_value():
    """GER40: 40 points x 2 contracts x 25 EUR = 2,000 EUR; at 1.0850 that is 2,170 USD."""
    observed = replace(CALM, instrument=catalogue_instrument("GER40"), to_account=Decimal("1.0850"))
    verdict = verdict_of(
        observed,
        symbol="GER40",
        direction="short",
        entry_price=Decimal("18000"),
        stop_loss=Decimal("18040"),
        take_profit=Decimal("17900"),
        lot_size=Decimal(2),
    )
    assert check(verdict, "max_risk_per_trade").observed == Decimal("2170.00")
    assert verdict.status == IdeaStatus.REJECTED


def test_an_unknown_instrument_is_flagged_for_a_person():
    verdict = verdict_of(replace(CALM, instrument=None), symbol="EURUSD")
    assert check(verdict, "instrument").passed is False
    assert "no instrument of the desk" in check(verdict, "max_risk_per_trade").note
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL


# -- levels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "stop", "target", "failed"),
    [
        ("long", "1.0800", "1.0950", []),
        ("long", "1.0850", "1.0950", ["stop_loss_side"]),  # at the entry: no stop at all
        ("long", "1.0900", "1.0950", ["stop_loss_side"]),
        ("long", "1.0800", "1.0850", ["take_profit_side"]),
        ("short", "1.0900", "1.0800", []),
        ("short", "1.0800", "1.0900", ["stop_loss_side", "take_profit_side"]),
    ],
)
def test_a_stop_or_target_on_the_wrong_side_is_rejected(direction, stop, target, failed):
    verdict = verdict_of(
        direction=direction,
        stop_loss=Decimal(stop),
        take_profit=Decimal(target),
        settings={"max_risk_per_trade": None, "max_risk_pct_of_equity": None},
    )
    assert [r for r in failing(verdict) if r.endswith("_side")] == failed
    if failed:
        assert verdict.status == IdeaStatus.REJECTED


@pytest.mark.parametrize(
    ("low", "high", "passed"),
    [("1.0850", "1.0860", True), ("1.0840", "1.0850", True), ("1.0851", "1.0860", False)],
)
def test_an_entry_outside_its_range_is_rejected_and_the_ends_count_as_inside(low, high, passed):
    verdict = verdict_of(entry_range_low=Decimal(low), entry_range_high=Decimal(high))
    assert check(verdict, "entry_range").passed is passed


# -- the strategy: R:R, sessions, forbidden conditions, caps -----------------------------------


def strategy(**fields) -> Strategy:
    return Strategy(name="breakout", **fields)


@pytest.mark.parametrize(
    ("target", "observed", "status"),
    [
        ("1.0950", "2.00", IdeaStatus.AUTO_EXECUTED),  # 100 pips for 50: exactly 2 R
        ("1.0949", "1.98", IdeaStatus.REJECTED),
        ("1.1000", "3.00", IdeaStatus.AUTO_EXECUTED),
    ],
)
def test_reward_to_risk_below_the_strategys_expectation_is_rejected(target, observed, status):
    verdict = verdict_of(
        strategy=strategy(rr_expectation=Decimal("2.0")), take_profit=Decimal(target)
    )
    assert check(verdict, "strategy_reward_to_risk").observed == Decimal(observed)
    assert verdict.status == status


def test_without_a_target_the_strategys_rr_cannot_be_judged():
    verdict = verdict_of(strategy=strategy(rr_expectation=Decimal(2)), take_profit=None)
    assert check(verdict, "strategy_reward_to_risk").effect == "approval"
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL


LONDON = {"start": "07:00", "end": "16:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


@pytest.mark.parametrize(
    ("window", "at", "inside"),
    [
        (LONDON, NOW, True),
        (LONDON, NOW.replace(hour=7), True),  # the start is inside
        (LONDON, NOW.replace(hour=16), False),  # the end is not
        (LONDON, NOW.replace(hour=6, minute=59), False),
        (LONDON, NOW + timedelta(days=5), False),  # Saturday
        ({"start": "22:00", "end": "02:00", "days": ["sun"]}, NOW.replace(hour=1), True),
        ({"start": "22:00", "end": "02:00", "days": ["mon"]}, NOW.replace(hour=1), False),
        ({"start": "22:00", "end": "02:00"}, NOW.replace(hour=22), True),
        (
            {"start": "09:30", "end": "16:00", "timezone": "America/New_York"},
            NOW.replace(hour=14, minute=30),
            True,
        ),
        (
            {"start": "09:30", "end": "16:00", "timezone": "America/New_York"},
            NOW.replace(hour=14, minute=29),
            False,
        ),
    ],
)
def test_session_windows(window, at, inside):
    assert in_window(window, at) is inside
    fresh = replace(CALM, now=at, equity_at=at, bar_at=at)
    verdict = verdict_of(fresh, strategy=strategy(session_windows=[window]))
    assert check(verdict, "strategy_session").passed is inside
    assert verdict.status == (IdeaStatus.AUTO_EXECUTED if inside else IdeaStatus.REJECTED)


NEWS = {"indicator": "impact_level", "operator": "==", "value": "high"}
OVERBOUGHT = {"indicator": "rsi_14", "operator": ">", "value": 70, "timeframe": "H1"}


@pytest.mark.parametrize(
    ("condition", "market", "status"),
    [
        (NEWS, {"impact_level": "high"}, IdeaStatus.REJECTED),
        (NEWS, {"impact_level": "medium"}, IdeaStatus.AUTO_EXECUTED),
        # "high" is also a bar's high: the word is compared as a word
        (NEWS, {"impact_level": "none", "high": Decimal("1.09")}, IdeaStatus.AUTO_EXECUTED),
        (OVERBOUGHT, {"rsi_14:H1": Decimal("70.5")}, IdeaStatus.REJECTED),
        (OVERBOUGHT, {"rsi_14:H1": Decimal(70)}, IdeaStatus.AUTO_EXECUTED),
        (OVERBOUGHT, {"rsi_14": Decimal(80)}, IdeaStatus.NEEDS_APPROVAL),  # no H1 figure
        (
            {"indicator": "close", "operator": "<", "value": "sma_200"},
            {"close": Decimal("1.08"), "sma_200": Decimal("1.09")},
            IdeaStatus.REJECTED,
        ),
        (
            {"indicator": "close", "operator": "crosses_below", "value": 1.08},
            {"close": Decimal("1.07")},
            IdeaStatus.NEEDS_APPROVAL,
        ),
    ],
)
def test_forbidden_conditions(condition, market, status):
    verdict = verdict_of(
        replace(CALM, market=market), strategy=strategy(forbidden_conditions=[condition])
    )
    assert verdict.status == status


@pytest.mark.parametrize(
    ("caps", "observed", "rule", "passed"),
    [
        ({"max_open_trades": 2}, {"strategy_open_trades": 1}, "strategy_max_open_trades", True),
        ({"max_open_trades": 2}, {"strategy_open_trades": 2}, "strategy_max_open_trades", False),
        (
            {"max_trades_per_day": 5},
            {"strategy_trades_today": 5},
            "strategy_max_trades_per_day",
            False,
        ),
        (
            {"max_daily_loss": 300},
            {"strategy_today_pnl": Decimal("-299.99")},
            "strategy_max_daily_loss",
            True,
        ),
        (
            {"max_daily_loss": 300},
            {"strategy_today_pnl": Decimal(-300)},
            "strategy_max_daily_loss",
            False,
        ),
    ],
)
def test_a_strategys_own_caps(caps, observed, rule, passed):
    verdict = verdict_of(replace(CALM, **observed), strategy=strategy(risk_caps=caps))
    assert check(verdict, rule).passed is passed


# -- the day: loss limit, target, drawdown ---------------------------------------------------------


@pytest.mark.parametrize(
    ("pnl", "status"), [("-499.99", IdeaStatus.AUTO_EXECUTED), ("-500", IdeaStatus.HALTED_BY_RISK)]
)
def test_the_daily_loss_limit_halts_like_the_drawdown_limit(pnl, status):
    verdict = verdict_of(replace(CALM, today_pnl=Decimal(pnl)))
    assert verdict.status == status
    if status == IdeaStatus.HALTED_BY_RISK:
        assert verdict.halt_reason == "today's loss 500 reached the daily limit 500"


def test_a_daily_loss_limit_left_empty_is_off():
    verdict = verdict_of(replace(CALM, today_pnl=Decimal(-5000)), {"max_daily_loss": None})
    assert "max_daily_loss" not in [c.rule for c in verdict.checks]


def test_both_halts_are_named_in_the_reason():
    observed = replace(CALM, today_pnl=Decimal(-600), drawdown=Decimal(1000))
    assert verdict_of(observed).halt_reason == (
        "drawdown 1000 reached the maximum 1000; today's loss 600 reached the daily limit 500"
    )


# -- stale inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "status"), [(60, IdeaStatus.AUTO_EXECUTED), (61, IdeaStatus.NEEDS_APPROVAL)]
)
def test_stale_inputs_go_to_approval(minutes, status):
    for field in ("equity_at", "bar_at"):
        observed = replace(CALM, **{field: NOW - timedelta(minutes=minutes)})
        assert verdict_of(observed).status == status


def test_missing_inputs_go_to_approval_and_no_age_limit_means_no_check():
    verdict = verdict_of(replace(CALM, bar_at=None))
    assert check(verdict, "market_bar_age").note == "no market bar of the symbol"
    assert verdict.status == IdeaStatus.NEEDS_APPROVAL
    relaxed = verdict_of(replace(CALM, bar_at=None), {"max_input_age_minutes": None})
    assert "market_bar_age" not in [c.rule for c in relaxed.checks]


# -- the stored result ---------------------------------------------------------------------------


def test_the_stored_result_reads_as_plain_figures_with_their_units():
    result = verdict_of(lot_size=Decimal("0.50000000")).as_json()
    rows = {row["rule"]: row for row in result["checks"]}
    assert rows["max_risk_per_trade"] == {
        "rule": "max_risk_per_trade",
        "limit": "250",
        "observed": "250",
        "passed": True,
        "effect": "reject",
        "note": "USD",
        "unit": "money",
    }
    assert rows["max_lot_size"]["observed"] == "0.5"
    assert result["lot_size"] == "0.5"
