"""Capture's checks of a trade against its instrument: flags kept with the trade, never refusals.

A broker really filled what it reports, so an odd trade is stored as it came and
flagged, with the reason:

- a price (``entry_price``, ``exit_price``, ``stop_loss``) off the instrument's tick (not
  a multiple of ``tick_size``);
- a ``quantity`` off the instrument's ``quantity_step``;
- a stated ``pnl`` that differs from (exit - entry) x quantity x point value (the move
  negated for a short), less fees, by more than the tolerance: one minor unit of the
  quote currency (0.01 USD, 1 JPY) or PNL_TOLERANCE of the gross amount, the larger.

A trade on a symbol that is no active instrument gets no flag of these kinds. Flags are
derived data: the trade itself is never changed. They live in ``journal_tradecheck``
(journal.models.TradeCheck), one row per flagged trade, keyed like the trade; a flag
once raised stays (the close of an open trade adds the P&L's, never clears the entry's).

One rule, two spellings, held to the same answers by tests/journal/test_trade_checks.py:
``flags`` in Python (the API's warnings, the embedded SQLite's storage) and
``record_sql`` in PostgreSQL, which the statements that store trades run in the same
statement (journal.write.storage, journal.write.fast_import), on the values stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, localcontext
from typing import Any

from backoffice.core.formatting import CURRENCY_DECIMALS
from journal.models import TradeCheck

# A P&L may differ from the prices' by this share of the gross amount (a broker's
# rounding of a converted amount) or by one minor unit of the currency, the larger.
PNL_TOLERANCE = Decimal("0.001")
# Digits the arithmetic keeps: amounts of 20 digits multiplied by each other stay exact
# (Decimal's default context rounds past 28).
PRECISION = 80

# (column of journal_tradecheck, the trade's field it flags, a short label), in the
# order fields are listed.
FLAGS = (
    ("entry_price_off_tick", "entry_price", "entry off tick"),
    ("exit_price_off_tick", "exit_price", "exit off tick"),
    ("stop_loss_off_tick", "stop_loss", "stop off tick"),
    ("quantity_off_step", "quantity", "quantity off step"),
    ("pnl_mismatch", "pnl", "P&L ≠ prices"),
)
COLUMNS = tuple(column for column, _field, _label in FLAGS)
FIELD_OF = {column: field for column, field, _label in FLAGS}
LABEL_OF = {column: label for column, _field, label in FLAGS}
PRICE_FIELDS = ("entry_price", "exit_price", "stop_loss")
# The trade's columns the checks read (what a storing statement returns for them).
CHECKED = (
    "trade_id",
    "executed_at",
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "exit_price",
    "fees",
    "pnl",
    "stop_loss",
)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 USD, 1 JPY (ISO 4217 minor units)."""
    return Decimal(1).scaleb(-CURRENCY_DECIMALS.get(currency, 2))


def pnl_from_prices(trade: Any, instrument: Any) -> tuple[Decimal, Decimal] | None:
    """(the P&L the prices make, the tolerance around it) of a closed trade; None while
    it is open. The P&L is (exit - entry) x quantity x point value, negated for a short,
    less fees."""
    if trade.exit_price is None:
        return None
    with localcontext() as context:
        context.prec = PRECISION
        move = trade.exit_price - trade.entry_price
        if trade.side == "short":
            move = -move
        gross = move * trade.quantity * instrument.point_value
        tolerance = max(minor_unit(instrument.quote_currency), abs(gross) * PNL_TOLERANCE)
        return gross - (trade.fees or 0), tolerance


def flags(trade: Any, instrument: Any) -> tuple[str, ...]:
    """The flagged columns (of COLUMNS, in order) of ``trade`` (a TradeRecord, a Trade,
    anything with its fields) against ``instrument``; none when it is None."""
    if instrument is None:
        return ()
    found = []
    with localcontext() as context:
        context.prec = PRECISION
        for column, name, _label in FLAGS:
            value = getattr(trade, name)
            if value is None:
                continue
            if name in PRICE_FIELDS:
                odd = value % instrument.tick_size != 0
            elif name == "quantity":
                odd = value % instrument.quantity_step != 0
            else:
                expected = pnl_from_prices(trade, instrument)
                odd = expected is not None and abs(value - expected[0]) > expected[1]
            if odd:
                found.append(column)
    return tuple(found)


def exact(value: Decimal) -> str:
    """A decimal as stored, without padding zeros and never in scientific notation."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def message(column: str, trade: Any, instrument: Any) -> str:
    """Why ``column`` flags ``trade``, in words a person can check."""
    name = FIELD_OF[column]
    value = getattr(trade, name)
    shown = exact(value) if value is not None else "—"
    if instrument is None:
        return f"{shown}: {LABEL_OF[column]} (the instrument {trade.symbol} is no longer active)"
    if name in PRICE_FIELDS:
        return (
            f"{shown} is off the tick of {trade.symbol}: prices move in steps of "
            f"{exact(instrument.tick_size)}"
        )
    if name == "quantity":
        return (
            f"{shown} is off the quantity step of {trade.symbol}: quantities move in steps "
            f"of {exact(instrument.quantity_step)} {instrument.quantity_unit}"
        )
    expected = pnl_from_prices(trade, instrument)
    if expected is None:  # pragma: no cover - a P&L flag needs an exit price
        return f"{shown}: {LABEL_OF[column]}"
    made, tolerance = expected
    currency = instrument.quote_currency
    return (
        f"{shown} {currency} differs from what the prices make, {exact(made)} {currency} "
        f"((exit - entry) x quantity x point value {exact(instrument.point_value)}, "
        f"{'negated for a short, ' if trade.side == 'short' else ''}less fees), by more "
        f"than {exact(tolerance)} {currency}"
    )


def warnings(records: Iterable[Any], instrument_for) -> list[dict[str, Any]]:
    """[{index, field, message}] of every flag of ``records`` (the API's ``warnings``);
    ``instrument_for(symbol)`` gives a symbol's active instrument or None."""
    out = []
    for index, record in enumerate(records):
        instrument = instrument_for(record.symbol)
        for column in flags(record, instrument):
            out.append(
                {
                    "index": index,
                    "field": FIELD_OF[column],
                    "message": message(column, record, instrument),
                }
            )
    return out


# -- the same rule in PostgreSQL ---------------------------------------------------------


def _minor_unit_sql(currency: str) -> str:
    cases = " ".join(f"WHEN '{code}' THEN {minor_unit(code)}" for code in sorted(CURRENCY_DECIMALS))
    return f"(CASE {currency} {cases} ELSE {minor_unit('')} END)"


def flag_sql(trade: str = "t", instrument: str = "i") -> dict[str, str]:
    """{column: a boolean SQL expression} over a row ``trade`` with the trade's columns
    (typed as journal_trade's) and a row ``instrument`` of journal_instrument."""
    t, i = trade, instrument
    gross = (
        f"((CASE WHEN {t}.side = 'short' THEN {t}.entry_price - {t}.exit_price "
        f"ELSE {t}.exit_price - {t}.entry_price END) * {t}.quantity * {i}.point_value)"
    )
    minor = _minor_unit_sql(f"{i}.quote_currency")
    tolerance = f"greatest({minor}, abs({gross}) * {PNL_TOLERANCE})"
    out = {}
    for column, name, _label in FLAGS:
        if name in PRICE_FIELDS:
            condition = f"mod({t}.{name}, {i}.tick_size) <> 0"
        elif name == "quantity":
            condition = f"mod({t}.quantity, {i}.quantity_step) <> 0"
        else:
            condition = f"abs({t}.pnl - ({gross} - {t}.fees)) > {tolerance}"
        # NULL (an open trade's exit, no stop) is no flag.
        out[column] = f"coalesce({condition}, false)"
    return out


def record_sql(stored: str) -> str:
    """Record the flags of the trades of ``stored`` (a name in the statement: the rows a
    storing statement returned, with the CHECKED columns), in journal_tradecheck; a flag
    already recorded for a trade stays."""
    columns = ", ".join(COLUMNS)
    computed = ", ".join(f"{sql} AS {column}" for column, sql in flag_sql("s", "i").items())
    kept = ", ".join(f"{c} = journal_tradecheck.{c} OR EXCLUDED.{c}" for c in COLUMNS)
    return f"""
        INSERT INTO journal_tradecheck (trade_id, executed_at, {columns}, checked_at)
        SELECT trade_id, executed_at, {columns}, statement_timestamp() FROM (
            SELECT s.trade_id, s.executed_at, {computed}
            FROM {stored} AS s
            JOIN journal_instrument AS i ON i.symbol = s.symbol AND i.is_active
        ) AS c
        WHERE {" OR ".join(COLUMNS)}
        ON CONFLICT (trade_id, executed_at) DO UPDATE SET {kept},
            checked_at = EXCLUDED.checked_at
    """  # noqa: S608 - fixed names


def with_checks(statement: str, *, returning_prefix: str = "") -> str:
    """``statement`` (an INSERT into or UPDATE of journal_trade without RETURNING) that
    also records the flags of the trades it stores; it selects how many it stored."""
    returning = ", ".join(f"{returning_prefix}{name}" for name in CHECKED)
    return (
        f"WITH stored AS ({statement} RETURNING {returning}), "  # noqa: S608 - fixed names
        f"checks AS ({record_sql('stored')}) "
        "SELECT count(*) FROM stored"
    )


# -- the embedded SQLite default: the Python rule, through the ORM ------------------------


def record_orm(trades: Iterable[Any], instrument_for, *, model=None) -> int:
    """Record the flags of ``trades`` (stored trades, or records as they were stored)
    through the ORM, as record_sql does; returns how many trades were flagged.
    ``model``: the TradeCheck model to write (a migration passes its historical one)."""
    from django.utils import timezone

    if model is None:
        model = TradeCheck
    flagged = {}
    for trade in trades:
        found = flags(trade, instrument_for(trade.symbol))
        if found:
            flagged[(trade.trade_id, trade.executed_at)] = found
    if not flagged:
        return 0
    now = timezone.now()
    existing = {
        (check.trade_id, check.executed_at): check
        for check in model.objects.filter(trade_id__in={key[0] for key in flagged})
    }
    for key, found in flagged.items():
        check = existing.get(key) or model(trade_id=key[0], executed_at=key[1])
        for column in found:
            setattr(check, column, True)
        check.checked_at = now
        check.save()
    return len(flagged)


def backfill(connection, trade_model, instrument_model, check_model) -> None:
    """Record the flags of every stored trade (the migration that made the table): one
    statement on PostgreSQL, the ORM on SQLite (the embedded default holds few trades)."""
    if connection.vendor == "postgresql":
        stored = f"(SELECT {', '.join(CHECKED)} FROM journal_trade)"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(record_sql(stored))
        return
    active = {i.symbol: i for i in instrument_model.objects.filter(is_active=True)}
    trades = trade_model.objects.filter(symbol__in=list(active)).only(*CHECKED)
    record_orm(trades.iterator(chunk_size=2000), active.get, model=check_model)
