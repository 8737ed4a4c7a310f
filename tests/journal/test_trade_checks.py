"""Trades checked against their instrument, never lost (issue 27).

A price off the tick, a quantity off the quantity step, a P&L that the prices do not
make: the trade is stored as the broker filled it, flagged with the reason, and the
API answers the flags as ``warnings``. Every capture path records the same flags: the
API (small batches in one INSERT, large ones through the staged COPY), the spool's
replay, the exact import (COPY, or batches as on SQLite) and the CSV fast path, each
held to journal.write.checks.flags by a property test.
"""

import csv
import json
import os
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journal.domain.trade_record import FIELDS
from journal.instruments import CATALOGUE, forget, instrument_for, instruments_seed
from journal.models import Trade, TradeCheck
from journal.write import checks
from journal.write.capture import get_spool, record_trades
from journal.write.imports import import_file
from journal.write.replay import spool_replay
from journal.write.storage import COPY_THRESHOLD
from tests.journal.conftest import BASE_TIME

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]

EXAMPLES = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_CHECKS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)


@pytest.fixture
def desk_instruments(db):
    instruments_seed()
    forget()


def us500(**overrides) -> dict:
    """The issue's trade: US500 (tick 0.25, whole contracts, $50 a point)."""
    return {
        "trade_id": "US-1",
        "executed_at": BASE_TIME.isoformat(),
        "closed_at": (BASE_TIME + timedelta(hours=2)).isoformat(),
        "symbol": "US500",
        "side": "long",
        "quantity": "2",
        "entry_price": "5711.25",
        "exit_price": "5720.50",
        "fees": "9.00",
        "pnl": "916.00",  # 9.25 points x 2 x 50 - 9
        "stop_loss": "5700.00",
        **overrides,
    }


def stored_flags() -> dict[str, tuple[str, ...]]:
    return {check.trade_id: check.flagged for check in TradeCheck.objects.all()}


# -- the reproduction ---------------------------------------------------------------


def test_an_off_tick_price_an_odd_size_and_a_wrong_pnl_are_stored_and_flagged(
    bot, desk_instruments
):
    sent = us500(entry_price="5711.123", quantity="0.37", pnl="-99999")
    response = bot.post("/api/v1/trades", sent, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["duplicates"], body["closed"]) == (1, 0, 0)
    assert [(w["index"], w["field"]) for w in body["warnings"]] == [
        (0, "entry_price"),
        (0, "quantity"),
        (0, "pnl"),
    ]
    messages = [w["message"] for w in body["warnings"]]
    assert "5711.123 is off the tick of US500: prices move in steps of 0.25" in messages[0]
    assert "0.37 is off the quantity step of US500" in messages[1]
    assert messages[2].startswith("-99999 USD differs from what the prices make, 164.4745 USD")
    # Stored exactly as sent (a broker filled it), with its flags beside it.
    trade = Trade.objects.get(trade_id="US-1")
    assert (trade.entry_price, trade.quantity, trade.pnl) == (D("5711.123"), D("0.37"), D(-99999))
    assert stored_flags() == {"US-1": ("entry_price_off_tick", "quantity_off_step", "pnl_mismatch")}


def test_a_trade_that_fits_its_instrument_has_no_warning_and_no_flag(bot, desk_instruments):
    response = bot.post("/api/v1/trades", us500(), format="json")
    assert response.json() == {"created": 1, "duplicates": 0, "closed": 0, "warnings": []}
    assert stored_flags() == {}


def test_a_symbol_that_is_no_instrument_gets_no_flag_of_these_kinds(bot, desk_instruments):
    sent = us500(symbol="ES=F", entry_price="5711.123", quantity="0.37", pnl="-99999")
    assert bot.post("/api/v1/trades", sent, format="json").json()["warnings"] == []
    assert stored_flags() == {}


def test_a_pnl_within_the_tolerance_is_not_flagged_and_a_cent_more_is(desk_instruments):
    # Gross 925 USD: the tolerance is 0.925 (0.1 %) around 916.
    record_trades([us500(trade_id="IN", pnl="915.075"), us500(trade_id="OUT", pnl="915.07")])
    assert stored_flags() == {"OUT": ("pnl_mismatch",)}


def test_the_pnl_of_a_short_is_signed_by_its_side(desk_instruments):
    short = us500(side="short", stop_loss="5730", pnl="-934.00")  # -9.25 x 2 x 50 - 9
    wrong_sign = us500(trade_id="US-2", side="short", stop_loss="5730", pnl="916.00")
    result = record_trades([short, wrong_sign])
    assert [(w["index"], w["field"]) for w in result.warnings] == [(1, "pnl")]
    assert stored_flags() == {"US-2": ("pnl_mismatch",)}


def test_closing_an_open_trade_adds_the_pnl_flag_and_keeps_the_entrys(desk_instruments):
    opened = us500(entry_price="5711.10", closed_at=None, exit_price=None, pnl=None)
    opened = {k: v for k, v in opened.items() if v is not None}
    record_trades([opened])
    assert stored_flags() == {"US-1": ("entry_price_off_tick",)}
    closing = us500(entry_price="5711.10", exit_price="5720.50", pnl="1")
    assert record_trades([closing]).closed == 1
    assert stored_flags() == {"US-1": ("entry_price_off_tick", "pnl_mismatch")}
    # Sent again: a duplicate changes nothing, flags included.
    assert record_trades([closing]).duplicates == 1
    assert TradeCheck.objects.count() == 1


# -- the same flags on every path -----------------------------------------------------------

SYMBOLS = ["US500", "EURUSD", "USDJPY", "XAUUSD", "BTCUSD", "GER40", "NOPE"]


def _instrument(symbol: str):
    """(tick, quantity step, point value, minor unit) of the catalogue, or a made-up one
    for a symbol that is no instrument."""
    if symbol not in CATALOGUE:
        return D("0.01"), D("1"), D("1"), D("0.01")
    _name, _cls, currency, tick, _dec, step, _unit, point = CATALOGUE[symbol]
    return D(tick), D(step), D(point), checks.minor_unit(currency)


@st.composite
def odd_trades(draw, n: int) -> dict:
    """A trade with each of its checked values on or off its instrument's grid, and a
    P&L at, near or far from what its prices make."""
    symbol = draw(st.sampled_from(SYMBOLS))
    tick, step, point, minor = _instrument(symbol)
    side = draw(st.sampled_from(["long", "short"]))
    sign = 1 if side == "long" else -1
    off = st.sampled_from([D(0), D(0), D("0.00000001"), tick / 3, tick / 2])

    def price(ticks: int) -> D:
        value = tick * ticks + draw(off)
        return value.quantize(D("0.00000001")).normalize()

    entry_ticks = draw(st.integers(1000, 200_000))
    entry = price(entry_ticks)
    odd_size = draw(st.sampled_from([D(0), D(0), step / 4, D("0.00000001")]))
    quantity = (step * draw(st.integers(1, 50)) + odd_size).quantize(D("0.00000001"))
    quantity = quantity.normalize()
    trade = {
        "trade_id": f"H-{n}",
        "executed_at": (BASE_TIME + timedelta(minutes=n)).isoformat(),
        "symbol": symbol,
        "side": side,
        "quantity": f"{quantity:f}",
        "entry_price": f"{entry:f}",
    }
    if draw(st.booleans()):
        stop = price(entry_ticks - sign * draw(st.integers(1, 500)))
        trade["stop_loss"] = f"{stop:f}"
    if draw(st.booleans()):  # closed
        exit_price = price(entry_ticks + draw(st.integers(-800, 800)))
        fees = D(draw(st.sampled_from(["0", "1.2", "35"])))
        gross = (exit_price - entry) * sign * quantity * point
        tolerance = max(minor, abs(gross) * checks.PNL_TOLERANCE)
        delta = draw(
            st.sampled_from([D(0), tolerance, -tolerance, tolerance + D("0.01"), D(99999)])
        )
        pnl = (gross - fees + delta).quantize(D("0.00000001"))
        if abs(pnl) >= 10**12:
            pnl = D(0)
        trade.update(
            closed_at=(BASE_TIME + timedelta(minutes=n, hours=1)).isoformat(),
            exit_price=f"{exit_price:f}",
            fees=f"{fees:f}",
            pnl=f"{pnl.normalize():f}",
        )
    return trade


@st.composite
def batches(draw):
    size = draw(st.integers(1, 6))
    return [draw(odd_trades(n)) for n in range(size)]


def expected(trades: list[dict]) -> tuple[dict, set]:
    """({trade_id: flagged columns}, {(index, field)}) by journal.write.checks.flags."""
    from journal.domain.trade_record import parse_record

    by_trade, warned = {}, set()
    for index, trade in enumerate(trades):
        record = parse_record(trade)
        found = checks.flags(record, instrument_for(record.symbol))
        if found:
            by_trade[record.trade_id] = found
        warned |= {(index, checks.FIELD_OF[column]) for column in found}
    return by_trade, warned


def write_csv(path, trades) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for trade in trades:
            writer.writerow([trade.get(name, "") for name in FIELDS])


def filler(count: int) -> list[dict]:
    """Clean trades that make a batch large enough for the staged COPY."""
    return [
        us500(
            trade_id=f"FILL-{n}", executed_at=(BASE_TIME - timedelta(days=1, minutes=n)).isoformat()
        )
        for n in range(count)
    ]


@EXAMPLES
@given(trades=batches(), big=st.booleans())
def test_every_capture_path_records_the_flags_that_the_rule_gives(
    trades, big, desk_instruments, bot, spool_dir, tmp_path_factory
):
    want, warned = expected(trades)
    # The API: the warnings, and the stored flags (a large batch takes the staged COPY).
    sent = trades + (filler(COPY_THRESHOLD) if big else [])
    with transaction.atomic():
        response = bot.post("/api/v1/trades", sent, format="json")
        assert response.status_code == 201, response.content
        assert {(w["index"], w["field"]) for w in response.json()["warnings"]} == warned
        assert stored_flags() == want
        transaction.set_rollback(True)
    # The spool's replay.
    with transaction.atomic():
        get_spool().append(trades)
        assert spool_replay().stored.created == len(trades)
        assert stored_flags() == want
        transaction.set_rollback(True)
    # The imports: in batches (the embedded SQLite's way), and on PostgreSQL the exact
    # path's COPY (JSON lines) and the CSV fast path.
    folder = tmp_path_factory.mktemp("checks")
    jsonl, plain = folder / "trades.jsonl", folder / "trades.csv"
    jsonl.write_text("".join(json.dumps(trade) + "\n" for trade in trades))
    write_csv(plain, trades)
    paths = [(jsonl, {"use_copy": False}, "batches")]
    if connection.vendor == "postgresql":
        paths += [(jsonl, {}, "copy"), (plain, {}, "fast_copy")]
    for path, options, method in paths:
        with transaction.atomic():
            result = import_file(path, **options)
            assert (result.method, result.created) == (method, len(trades))
            assert stored_flags() == want, method
            transaction.set_rollback(True)


def test_the_migration_checks_the_trades_stored_before_it(desk_instruments):
    from django.apps import apps

    record_trades([us500(entry_price="5711.123", pnl="928.70"), us500(trade_id="US-2")])
    TradeCheck.objects.all().delete()
    checks.backfill(
        connection,
        apps.get_model("journal", "Trade"),
        apps.get_model("journal", "Instrument"),
        TradeCheck,
    )
    assert stored_flags() == {"US-1": ("entry_price_off_tick",)}


def test_a_checks_flags_are_its_boolean_columns_in_the_order_of_the_checks():
    from django.db.models import BooleanField

    columns = tuple(f.name for f in TradeCheck._meta.concrete_fields if isinstance(f, BooleanField))
    assert columns == tuple(column for column, _field, _label in checks.FLAGS)
    both = TradeCheck(pnl_mismatch=True, entry_price_off_tick=True)
    assert both.flagged == ("entry_price_off_tick", "pnl_mismatch")
