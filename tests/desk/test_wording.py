"""The words of the desk (pure functions): the gate's checks written by unit, and which
changes of the risk config loosen it."""

from decimal import Decimal

from desk.domain.limits import audit_text, loosened, value_text
from desk.gate_table import gate_rows, rule_label


def check(rule, limit, observed, passed=True, effect="reject", note="", unit=""):
    return {
        "rule": rule,
        "limit": limit,
        "observed": observed,
        "passed": passed,
        "effect": effect,
        "note": note,
        "unit": unit,
    }


def rows(*checks, **kwargs):
    return {row.rule: row for row in gate_rows({"checks": list(checks)}, **kwargs)}


def test_each_unit_is_written_as_a_trader_reads_it():
    found = rows(
        check("max_risk_per_trade", "750", "477.250000000000000", unit="money", note="USD"),
        check("max_drawdown", "20000", "391.71", effect="halt", unit="money"),
        check("max_daily_loss", "2500", "-120.5", effect="halt", unit="money"),
        check("daily_profit_target", "5000", "46.38", effect="halt", unit="money"),
        check("entry_range", ["1.084", "1.086"], "1.085", unit="price"),
        check("stop_loss_side", "below the entry 1.085", "1.08", unit="price"),
        check("max_lot_size", "2", "0.50000000", unit="lots"),
        check(
            "max_risk_pct_of_equity", "1", "0.11", unit="percent", note="104 USD of equity 100200"
        ),
        check("min_confidence", "0.7", "0.6", passed=False, unit="ratio"),
        check("max_concurrent_trades", 40, 16, unit="count"),
        check("market_bar_age", 60, 75, passed=False, effect="approval", unit="minutes"),
        check(
            "watchlist", ["EURUSD", "XAUUSD"], "US500", passed=False, effect="approval", unit="text"
        ),
        check("ai_trading_enabled", True, False, passed=False, effect="halt"),
        check("require_stop_loss", True, None, passed=False, effect="approval", unit="price"),
        currency="USD",
        price_decimals=5,
    )
    written = {rule: (row.limit, row.observed) for rule, row in found.items()}
    assert written == {
        "max_risk_per_trade": ("750.00 USD", "477.25 USD"),
        "max_drawdown": ("-20,000.00 USD", "-391.71 USD"),  # a drawdown is a loss
        "max_daily_loss": ("-2,500.00 USD", "-120.50 USD"),
        "daily_profit_target": ("5,000.00 USD", "+46.38 USD"),
        "entry_range": ("1.08400 to 1.08600", "1.08500"),
        "stop_loss_side": ("below the entry 1.08500", "1.08000"),
        "max_lot_size": ("2 lots", "0.5 lots"),
        "max_risk_pct_of_equity": ("1.00 %", "0.11 %"),
        "min_confidence": ("0.70", "0.60"),
        "max_concurrent_trades": ("40", "16"),
        "market_bar_age": ("60 min", "75 min"),
        "watchlist": ("EURUSD, XAUUSD", "US500"),
        "ai_trading_enabled": ("on", "off"),
        "require_stop_loss": ("required", "none"),
    }
    assert found["max_risk_pct_of_equity"].note == "104 USD of equity 100,200"
    assert found["market_bar_age"].effect == "sends to a person"
    assert found["ai_trading_enabled"].effect == "halts AI trading"
    assert found["min_confidence"].effect == "rejects" and not found["min_confidence"].passed
    assert found["max_risk_per_trade"].label == "Risk per trade"


def test_odd_stored_results_never_break_the_page():
    assert gate_rows(None) == [] and gate_rows({}) == [] and gate_rows({"checks": "x"}) == []
    odd = gate_rows(
        {
            "checks": [
                "not a check",
                check("a_rule_of_the_future", "NaN", "1e999999", unit="money"),
                check("max_lot_size", ["x"] * 50, {"a": 1}, unit="lots"),
            ]
        }
    )
    assert [row.label for row in odd] == ["A rule of the future", "Maximum lot size"]
    assert odd[1].limit.endswith("and 42 more")
    assert rule_label("strategy_session") == "Trading session"


def test_loosening_is_told_apart_from_tightening():
    before = {
        "ai_trading_enabled": False,
        "max_lot_size": Decimal(1),
        "min_confidence_threshold": Decimal("0.7"),
        "max_risk_per_trade": Decimal(250),
        "max_daily_loss": None,
        "require_stop_loss": True,
        "default_lot_size": None,
        "watchlist": ["EURUSD"],
        "risk_account": "main",
    }
    after = {
        "ai_trading_enabled": True,  # on: looser
        "max_lot_size": Decimal("0.5"),  # lower: tighter
        "min_confidence_threshold": Decimal("0.6"),  # lower: looser
        "max_risk_per_trade": None,  # off: looser
        "max_daily_loss": Decimal(100),  # from off to a limit: tighter
        "require_stop_loss": False,  # off: looser
        "default_lot_size": Decimal("0.1"),  # unsized ideas now trade: looser
        "watchlist": ["EURUSD", "GBPUSD"],  # a symbol added: looser
        "risk_account": "other",  # no direction
    }
    found = {item.name: (item.old, item.new) for item in loosened(before, after, "USD")}
    assert found == {
        "ai_trading_enabled": ("off", "on"),
        "min_confidence_threshold": ("0.7", "0.6"),
        "default_lot_size": ("none", "0.1 lots"),
        "require_stop_loss": ("on", "off"),
        "max_risk_per_trade": ("250.00 USD", "off (not limited)"),
        "watchlist": ("EURUSD", "EURUSD, GBPUSD"),
    }
    assert loosened(after, before, "USD") != []  # the way back loosens other limits
    assert [i.name for i in loosened(before, {"watchlist": []}, "USD")] == []


def test_the_audit_reads_its_stored_text():
    assert audit_text("max_drawdown_amount", "20000.00000000", "USD") == "20,000.00 USD"
    assert audit_text("watchlist", "['EURUSD', 'XAUUSD']") == "EURUSD, XAUUSD"
    assert audit_text("watchlist", "[]") == "none"
    assert audit_text("ai_trading_enabled", "True") == "on"
    assert audit_text("max_daily_loss", "None", "USD") == "off (not limited)"
    assert audit_text("max_lot_size", "not a number") == "not a number"
    assert value_text("max_input_age_minutes", Decimal(60)) == "60 min"
