"""The gate's clock sanity and its figures (issue 27).

"Account snapshot age -336 min" and "market bar age -4,846 min" were marked passed: the
freshness check compared only age <= limit, so data from the future passed as fresh. Gate
values came back as "1088.760000000002": now every figure is a decimal string at its
account currency's or instrument's places. Both are properties over generated inputs.
"""

import json
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.gate import judge
from journal.instruments import catalogue_instrument
from tests.desk.conftest import idea
from tests.desk.test_gate_rules import CALM, NOW, check, config

pytestmark = pytest.mark.smoke

SKEW = 300


@pytest.mark.parametrize(
    "offset_seconds, passed, note",
    [
        (-4846 * 60, False, "the latest market bar of the symbol is dated 4846 min in the future"),
        (-(SKEW + 1), False, "dated 6 min in the future"),
        (-SKEW, True, ""),  # within the clock-skew allowance
        (0, True, ""),
        (60 * 60, True, ""),  # the limit itself
        (61 * 60, False, "is stale"),
    ],
)
def test_a_bar_from_the_future_is_not_fresh(offset_seconds, passed, note):
    observed = replace(CALM, bar_at=NOW - timedelta(seconds=offset_seconds))
    found = check(judge(idea(), config(), observed), "market_bar_age")
    assert found.passed is passed
    assert note in found.note


def test_an_account_snapshot_from_the_future_sends_the_idea_to_a_person():
    observed = replace(CALM, equity_at=NOW + timedelta(minutes=336))
    verdict = judge(idea(), config(), observed)
    found = check(verdict, "account_snapshot_age")
    assert (found.passed, found.effect) == (False, "approval")
    assert "dated 336 min in the future" in found.note
    assert verdict.status == "needs_approval"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    bar=st.integers(-10 * 86400, 10 * 86400),
    account=st.integers(-10 * 86400, 10 * 86400),
    limit=st.integers(1, 24 * 60),
    skew=st.integers(0, 3600),
)
def test_freshness_passes_exactly_the_inputs_neither_stale_nor_from_the_future(
    bar, account, limit, skew
):
    observed = replace(
        CALM,
        bar_at=NOW - timedelta(seconds=bar),
        equity_at=NOW - timedelta(seconds=account),
        clock_skew_seconds=skew,
    )
    verdict = judge(idea(), config(max_input_age_minutes=limit), observed)
    for rule, seconds in (("market_bar_age", bar), ("account_snapshot_age", account)):
        fresh = -skew <= seconds and seconds // 60 <= limit
        assert check(verdict, rule).passed is fresh, (rule, seconds, limit, skew)


MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _floats(value) -> list:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


amounts = st.decimals(min_value=-(10**7), max_value=10**7, places=8)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    pnl=amounts,
    drawdown=st.decimals(min_value=0, max_value=10**7, places=8),
    equity=st.decimals(min_value=1, max_value=10**8, places=8),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=1000, places=6),
    entry=st.decimals(min_value=Decimal("0.5"), max_value=2, places=5),
    stop_pips=st.integers(1, 500),
    lot=st.decimals(min_value=Decimal("0.01"), max_value=5, places=2),
)
def test_every_figure_of_the_gate_is_a_decimal_at_its_places(
    pnl, drawdown, equity, rate, entry, stop_pips, lot
):
    """No float, no exponent, no artefact: money at the currency's 2 places, prices at
    EURUSD's 5 (or all their own digits where they have more)."""
    observed = replace(
        CALM,
        today_pnl=pnl,
        drawdown=drawdown,
        equity=equity,
        to_account=rate,
        instrument=catalogue_instrument("EURUSD"),
    )
    proposal = idea(
        entry_price=entry,
        stop_loss=entry - Decimal(stop_pips) / 10000,
        take_profit=entry + Decimal(stop_pips) / 5000,
        lot_size=lot,
    )
    verdict = judge(proposal, config(max_daily_loss=Decimal(500)), observed)
    stored = verdict.as_json(money_places=2, price_places=5)
    assert not _floats(stored)
    text = json.dumps(stored)
    assert not re.search(r"\d[eE][+-]?\d", text), text
    for row in stored["checks"]:
        for name in ("limit", "observed"):
            value = row[name]
            if row["unit"] == "money" and isinstance(value, str):
                assert MONEY.match(value), (row["rule"], value)
            if row["unit"] == "price" and isinstance(value, str):
                # A price, or words around one ("below the entry 1.08500").
                for number in re.findall(r"-?\d+(?:\.\d+)?", value):
                    assert re.match(r"^-?\d+\.\d{5,}$", number), (row["rule"], value)
