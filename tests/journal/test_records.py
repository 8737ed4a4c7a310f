"""The trade record format: every rule, with the field it names."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from journal.domain.trade_record import RecordError, parse_record
from tests.journal.conftest import open_trade_data, trade_data

pytestmark = pytest.mark.smoke


def errors_of(data) -> dict:
    with pytest.raises(RecordError) as info:
        parse_record(data)
    return info.value.errors


def test_a_valid_closed_trade_parses_to_exact_decimals_and_utc_times():
    record = parse_record(trade_data(executed_at="2026-03-02T10:00:00+01:00", symbol="eurusd"))
    assert record.executed_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert record.quantity == Decimal("1.5") and isinstance(record.pnl, Decimal)
    assert record.symbol == "EURUSD"
    assert record.is_closed


def test_numbers_may_come_as_json_numbers_without_float_noise():
    record = parse_record(trade_data(entry_price=Decimal("1.1"), quantity=3, pnl=0.1))
    assert record.entry_price == Decimal("1.1")
    assert record.quantity == Decimal(3)
    assert record.pnl == Decimal("0.1")


@pytest.mark.parametrize(
    "name", ["trade_id", "executed_at", "symbol", "side", "quantity", "entry_price"]
)
def test_each_required_field_is_named_when_missing(name):
    data = open_trade_data()
    del data[name]
    assert errors_of(data)[name] == "is required"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"side": "up"}, "side", "must be long or short"),
        ({"quantity": "-1"}, "quantity", "greater than 0"),
        ({"quantity": "0"}, "quantity", "greater than 0"),
        ({"entry_price": "abc"}, "entry_price", "decimal number"),
        ({"fees": "-0.5"}, "fees", "must not be negative"),
        ({"quantity": "1.123456789"}, "quantity", "at most 8 decimal places"),
        ({"quantity": "1234567890123"}, "quantity", "at most 12 digits"),
        ({"pnl": "NaN"}, "pnl", "finite"),
        ({"executed_at": "2026-03-02 10:00"}, "executed_at", "needs a UTC offset"),
        ({"executed_at": "yesterday"}, "executed_at", "ISO 8601"),
        ({"executed_at": "2099-01-01T00:00:00Z"}, "executed_at", "in the future"),
        ({"closed_at": "2026-03-01T00:00:00Z"}, "closed_at", "before executed_at"),
        ({"confidence": "1.5"}, "confidence", "between 0 and 1"),
        ({"signals": "[1, 2]"}, "signals", "JSON object"),
        ({"signals": "{bad json"}, "signals", "JSON object"),
        ({"model_version": "xgb-3"}, "model_version", "name@version"),
        ({"symbol": "EUR USD"}, "symbol", "letters, digits"),
        ({"trade_id": "x" * 65}, "trade_id", "at most 64"),
        ({"trade_id": "a\x00b"}, "trade_id", "control characters"),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"pnl": None}, "pnl", "required when closed_at"),
        ({"signals": {"blob": "x" * 17_000}}, "signals", "at most 16384 bytes"),
        # Values PostgreSQL (or Python reading them back) would refuse: never accepted.
        ({"executed_at": "9999-12-31T23:00:00-05:00"}, "executed_at", "1990 to 2100"),
        ({"closed_at": "0001-01-01T00:00:00+05:00"}, "closed_at", "1990 to 2100"),
        ({"signals": {"x": "x\u0000"}}, "signals", "NUL"),
        ({"agent_votes": {"x\u0000": 1}}, "agent_votes", "NUL"),
        ({"signals": {"x": float("inf")}}, "signals", "NaN or Infinity"),
        ({"signals": {"x": Decimal("-Infinity")}}, "signals", "NaN or Infinity"),
        ({"signals": {"x": Decimal("1e5000")}}, "signals", "at most 15 digits"),
        ({"signals": {"x": 10**5000}}, "signals", "at most 15 digits"),
        ({"signals": '{"x": 1e5000}'}, "signals", "NaN or Infinity"),
        ({"signals": '{"x": ' + "9" * 5001 + "}"}, "signals", "JSON object"),
        ({"signals": '{"x": Infinity}'}, "signals", "Infinity"),
        ({"signals": '{"x": "\\u0000"}'}, "signals", "NUL"),
        ({"signals": '{"x": "\\ud800"}'}, "signals", "lone surrogate"),
        ({"signals": "[" * 3000 + "]" * 3000}, "signals", "nested"),
        ({"signals": {"a": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}}, "signals", "nested"),
        ({"signals": {"x": object()}}, "signals", "only JSON values"),
        ({"strategy": "\ud800"}, "strategy", "lone surrogate"),
        ({"trade_id": "T\udfff"}, "trade_id", "lone surrogate"),
        ({"account": "a\u0000b"}, "account", "control characters"),
        ({"quantity": "1e5000"}, "quantity", "at most 12 digits"),
        ({"quantity": "1" * 5000}, "quantity", "at most 100 characters"),
        ({"quantity": True}, "quantity", "decimal number"),
        ({"strategy": True}, "strategy", "must be text"),
        ({"strategy": ["a"]}, "strategy", "must be text"),
    ],
)
def test_bad_values_are_refused_naming_the_field(overrides, field, reason):
    errors = errors_of(trade_data(**overrides))
    assert field in errors, errors
    assert reason in errors[field]
    # The message can be rendered and logged whatever the value held.
    json.dumps(errors, ensure_ascii=False).encode("utf-8")


def test_an_unknown_field_with_a_lone_surrogate_is_named_renderably():
    errors = errors_of(trade_data(**{"bad\ud800": 1}))
    assert errors == {"bad\\ud800": "unknown field"}


def test_an_open_trade_cannot_carry_a_realised_pnl():
    errors = errors_of(open_trade_data(pnl="10"))
    assert errors == {"pnl": "only a closed trade has one (closed_at is empty)"}


def test_every_bad_field_is_reported_at_once():
    errors = errors_of({"trade_id": "x", "side": "up", "quantity": "-2"})
    assert {"executed_at", "symbol", "entry_price", "side", "quantity"} <= set(errors)


def test_a_record_that_is_not_an_object_is_refused():
    assert "non_field_errors" in errors_of(["not", "an", "object"])


def test_as_json_round_trips():
    record = parse_record(trade_data())
    assert parse_record(record.as_json()) == record
