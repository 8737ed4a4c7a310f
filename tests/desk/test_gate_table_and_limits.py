"""Hand-worked cases at the edges of desk.gate_table and desk.domain.limits (pure functions):
rounding at the half, zero that never reads -0.00, currencies without minor units,
instruments with 0 and 3 decimals, lists at the listing limit, limits changed by one
step either way, equal values written differently."""

from decimal import Decimal

import pytest

from desk.domain.limits import LIMITS, audit_text, limit_label, loosened, value_text
from desk.gate_table import MAX_LISTED, effect_words, gate_rows


def row(rule, limit, observed, unit, **kwargs):
    check = {"rule": rule, "limit": limit, "observed": observed, "unit": unit}
    check.update(kwargs.pop("check", {}))
    (only,) = gate_rows({"checks": [check]}, **kwargs)
    return only


@pytest.mark.parametrize(
    ("rule", "limit", "observed", "currency", "written"),
    [
        # Half-even at the currency's last decimal: 0.005 -> 0.00, 0.015 -> 0.02.
        ("max_risk_per_trade", "250", "0.005", "USD", ("250.00 USD", "0.00 USD")),
        ("max_risk_per_trade", "250", "0.015", "USD", ("250.00 USD", "0.02 USD")),
        # Yen have no minor unit: 9,999.5 rounds to the even 10,000, 9,998.5 to 9,998.
        ("max_risk_per_trade", "10000", "9999.5", "JPY", ("10,000 JPY", "10,000 JPY")),
        ("max_risk_per_trade", "10000", "9998.5", "JPY", ("10,000 JPY", "9,998 JPY")),
        # Three decimals for the Kuwaiti dinar.
        ("max_risk_per_trade", "1.5", "1.2345", "KWD", ("1.500 KWD", "1.234 KWD")),
        # A profit that rounds to nothing carries no sign; a small loss no "-0.00".
        ("daily_profit_target", "0", "0.004", "USD", ("0.00 USD", "0.00 USD")),
        ("daily_profit_target", "5000", "-0.004", "USD", ("5,000.00 USD", "0.00 USD")),
        ("daily_profit_target", "5000", "0.01", "USD", ("5,000.00 USD", "+0.01 USD")),
        # A loss limit of 0 is no "-0.00"; a loss limit reads as the loss it stops at.
        ("max_daily_loss", "0", "0", "USD", ("0.00 USD", "0.00 USD")),
        ("max_daily_loss", "2500", "-2500", "USD", ("-2,500.00 USD", "-2,500.00 USD")),
        # A drawdown stored positive reads negative, limit and observed alike.
        ("max_drawdown", "0.01", "0.01", "USD", ("-0.01 USD", "-0.01 USD")),
        # 40 digits past the default 28-digit context, written exactly.
        (
            "max_risk_per_trade",
            "1" + "0" * 39,
            "1" + "0" * 39,
            "USD",
            ("1" + ",000" * 13 + ".00 USD",) * 2,
        ),
    ],
)
def test_money_at_its_edges(rule, limit, observed, currency, written):
    found = row(rule, limit, observed, "money", currency=currency)
    assert (found.limit, found.observed) == written


def test_prices_take_the_instruments_decimals_whatever_they_are():
    # An index quoted in whole points: 5,201.5 rounds to the even 5,202.
    assert row("entry_range", ["5201.5", "5210"], "5202.5", "price", price_decimals=0).limit == (
        "5,202 to 5,210"
    )
    assert row("entry_range", ["5201", "5210"], "5202.5", "price", price_decimals=0).observed == (
        "5,202"
    )
    # A yen pair with three: 150.1234 -> 150.123, 150.2 -> 150.200.
    yen = row("entry_range", ["150.1234", "150.2"], "150.1235", "price", price_decimals=3)
    assert (yen.limit, yen.observed) == ("150.123 to 150.200", "150.124")
    # An unknown instrument: the price as stored, without padding zeros.
    assert row("stop_loss_side", "1.08450000", "1.0", "price").limit == "1.0845"
    assert row("stop_loss_side", "1.08450000", "1.0", "price").observed == "1"
    # Prices inside words get the decimals too, other words stay as they are.
    side = row("stop_loss_side", "above the entry 150.1", "150", "price", price_decimals=3)
    assert (side.limit, side.observed) == ("above the entry 150.100", "150.000")


def test_lots_and_counts_read_in_their_unit():
    assert row("max_lot_size", "1.00000000", "1", "lots").observed == "1 lot"
    assert row("max_lot_size", "1.5", "0.01000000", "lots").limit == "1.5 lots"
    assert row("max_lot_size", "1.5", "0.01000000", "lots").observed == "0.01 lots"
    assert row("max_lot_size", "10", "3", "lots", quantity_unit="contracts").observed == (
        "3 contracts"
    )
    assert row("max_concurrent_trades", 1000, 999, "count").limit == "1,000"
    assert row("market_bar_age", "60.0", "1440", "minutes").observed == "1,440 min"
    # Percent and ratio have two decimals, half-even at the third.
    assert row("max_risk_pct_of_equity", "1", "0.105", "percent").observed == "0.10 %"
    assert row("max_risk_pct_of_equity", "1", "0.115", "percent").observed == "0.12 %"
    assert row("strategy_reward_to_risk", "1.5", "1.499", "ratio").observed == "1.50"


def test_lists_are_cut_exactly_past_the_listing_limit():
    symbols = [f"S{n}" for n in range(MAX_LISTED + 1)]
    assert row("watchlist", symbols[:MAX_LISTED], "X", "text").limit == ", ".join(
        symbols[:MAX_LISTED]
    )
    assert row("watchlist", symbols, "X", "text").limit == (
        ", ".join(symbols[:MAX_LISTED]) + " and 1 more"
    )
    assert row("watchlist", [], "X", "text").limit == "none"


def test_switches_missing_values_and_words():
    assert row("strategy_active", True, False, "").observed == "inactive"
    assert row("strategy_active", True, True, "").limit == "active"
    assert row("require_stop_loss", False, "1.08", "price").limit == "not required"
    assert row("max_risk_per_trade", None, None, "money", currency="USD").limit == "—"
    assert row("max_risk_per_trade", "250", None, "money", currency="USD").observed == "none"
    # Text that is no number stays text (the gate's notes name indicators).
    assert row("strategy_forbidden", "rsi_14 > 70", "rsi_14 = 71.5", "").observed == (
        "rsi_14 = 71.5"
    )
    counted = row("max_concurrent_trades", 3, 3, "count", check={"note": "rsi_14 above 70"})
    assert counted.note == "rsi_14 above 70"
    money = row("max_risk_per_trade", 1, 1, "money", check={"note": "50 USD of equity 20000.5"})
    assert money.note == "50 USD of equity 20,000.5"
    # A note naming only the account currency is dropped; another currency is kept.
    assert (
        row("max_risk_per_trade", 1, 1, "money", currency="USD", check={"note": "USD"}).note == ""
    )
    assert row("max_risk_per_trade", 1, 1, "money", currency="USD", check={"note": "JPY"}).note == (
        "JPY"
    )
    assert effect_words("log_only") == "log only" and effect_words("halt") == "halts AI trading"
    # Non-finite figures are never taken for numbers (no "-Infinity USD").
    assert row("max_drawdown", "Infinity", "NaN", "money", currency="USD").limit == "Infinity"


@pytest.mark.parametrize(
    ("name", "old", "new", "looser"),
    [
        ("max_lot_size", Decimal("1"), Decimal("1.00"), False),  # the same, written otherwise
        ("max_lot_size", Decimal("1"), Decimal("1.00000001"), True),  # one step up
        ("max_lot_size", Decimal("1"), Decimal("0.99999999"), False),
        ("min_confidence_threshold", Decimal("0.7"), Decimal("0.70"), False),
        ("min_confidence_threshold", Decimal("0.7"), Decimal("0.69"), True),  # lower: looser
        ("min_confidence_threshold", Decimal("0.7"), Decimal("0.71"), False),
        ("max_risk_per_trade", None, "", False),  # off stays off
        ("max_risk_per_trade", None, Decimal("100"), False),  # a limit where none was
        ("max_risk_per_trade", Decimal("100"), None, True),  # switched off
        ("max_risk_per_trade", Decimal("100"), Decimal("100.01"), True),
        ("max_input_age_minutes", 60, 61, True),
        ("max_input_age_minutes", 60, None, True),
        ("max_concurrent_trades", 5, 4, False),
        ("max_daily_loss", Decimal("2500"), Decimal("2500.00"), False),
        ("max_drawdown_amount", Decimal("20000"), Decimal("20000.01"), True),
        ("ai_trading_enabled", True, True, False),
        ("ai_trading_enabled", True, False, False),  # switching off is safer
        ("ai_trading_enabled", False, True, True),
        ("halt_on_drawdown", True, False, True),
        ("halt_on_drawdown", False, True, False),
        ("allow_off_watchlist_autotrade", False, True, True),
        ("watchlist", ["EURUSD", "XAUUSD"], ["XAUUSD", "EURUSD"], False),  # reordered
        ("watchlist", ["EURUSD", "XAUUSD"], ["EURUSD"], False),  # removed
        ("watchlist", [], ["EURUSD"], True),
        ("currency", "USD", "EUR", False),  # no direction
        ("risk_account", "", "main", False),
    ],
)
def test_one_step_either_way(name, old, new, looser):
    assert bool(loosened({name: old}, {name: new}, "USD")) is looser


def test_a_loosening_names_the_limit_and_both_values_and_ignores_unchanged_fields():
    (item,) = loosened(
        {"max_daily_loss": Decimal("2500"), "max_lot_size": Decimal(2)},
        {"max_daily_loss": Decimal("3000")},  # max_lot_size not in the form: not compared
        "JPY",
    )
    assert (item.label, item.old, item.new) == ("Daily loss limit", "2,500 JPY", "3,000 JPY")
    assert item.key == "max_daily_loss:2,500 JPY>3,000 JPY"
    # LIMITS' order, whatever order the form gives.
    found = loosened(
        {"watchlist": [], "ai_trading_enabled": False},
        {"watchlist": ["EURUSD"], "ai_trading_enabled": True},
    )
    assert [item.name for item in found] == ["ai_trading_enabled", "watchlist"]


def test_values_and_the_audit_in_words():
    assert value_text("max_concurrent_trades", 1) == "1 trade"
    assert value_text("max_concurrent_trades", Decimal(40)) == "40 trades"
    assert value_text("max_lot_size", Decimal("1.00000000")) == "1 lot"
    assert value_text("max_risk_pct_of_equity", Decimal("0.50")) == "0.5 %"
    assert value_text("max_risk_per_trade", Decimal("1234.5"), "JPY") == "1,234 JPY"
    assert value_text("max_risk_per_trade", "", "USD") == "off (not limited)"
    assert value_text("default_lot_size", None) == "none"  # empty is not "off" here
    assert value_text("risk_account", "") == "—"
    assert value_text("watchlist", []) == "none"
    assert audit_text("watchlist", "['EURUSD', 'BRK.B']") == "EURUSD, BRK.B"
    assert audit_text("max_concurrent_trades", "1") == "1 trade"
    assert audit_text("max_input_age_minutes", "") == "off (not limited)"
    assert audit_text("currency", "EUR") == "EUR"
    assert audit_text("a_setting_of_the_future", "x") == "x"
    assert limit_label("a_setting_of_the_future") == "A setting of the future"


def test_every_limit_has_words_a_risk_manager_reads():
    for name, limit in LIMITS.items():
        assert limit.label and limit.label[0].isupper() and "_" not in limit.label, name
        assert limit.help.endswith(".") and "_" not in limit.help, name
        assert limit.unit in {
            "money",
            "lots",
            "ratio",
            "percent",
            "count",
            "minutes",
            "switch",
            "symbols",
            "text",
            "currency",
        }, name
