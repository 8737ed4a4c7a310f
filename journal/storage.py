"""Idempotent SQL for storing trades: PostgreSQL statements, and the SQLite equivalent.

Both paths do the same thing inside the caller's transaction, for records applied in
their order:
1. a key met several times in the batch counts once, in its latest state: an open trade
   followed by its close is stored closed (a second close changes nothing);
2. insert every record whose key (trade_id, executed_at) is new, skipping the others;
3. complete, once, a stored open trade that arrives again with its closing fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.utils import timezone

from journal.models import Trade, TradeStatus
from journal.records import TradeRecord

COLUMNS = (
    "trade_id",
    "executed_at",
    "closed_at",
    "symbol",
    "side",
    "quantity",
    "entry_price",
    "exit_price",
    "fees",
    "pnl",
    "status",
    "strategy",
    "account",
    "broker_order_id",
    "agent_votes",
    "signals",
    "model_version",
    "confidence",
    "recorded_at",
)
CLOSING = ("closed_at", "exit_price", "pnl", "fees")


def row_values(record: TradeRecord, recorded_at, json_adapter=lambda v: v) -> tuple:
    """The record as a tuple in COLUMNS order."""
    status = TradeStatus.CLOSED if record.is_closed else TradeStatus.OPEN
    return (
        record.trade_id,
        record.executed_at,
        record.closed_at,
        record.symbol,
        record.side,
        record.quantity,
        record.entry_price,
        record.exit_price,
        record.fees,
        record.pnl,
        status.value,
        record.strategy,
        record.account,
        record.broker_order_id,
        json_adapter(record.agent_votes),
        json_adapter(record.signals),
        record.model_version,
        record.confidence,
        recorded_at,
    )


def insert_trades(records: Sequence[TradeRecord]) -> tuple[int, int]:
    """Store records in order; returns (created, closed). Duplicates are the rest.

    ``closed`` counts the trades this batch completed: stored open before, or opened
    earlier in the same batch.
    """
    latest, closed_in_batch = latest_states(records)
    if connection.vendor == "postgresql":
        created_keys, closed = _insert_postgres(latest)
    else:
        created_keys, closed = _insert_orm(latest)
    return len(created_keys), closed + len(closed_in_batch & created_keys)


def latest_states(records: Sequence[TradeRecord]) -> tuple[list[TradeRecord], set]:
    """One record per key, in first-seen order: the first closed version of a key wins
    over its open one. Also the keys whose open version this batch itself closed."""
    latest: dict[tuple, TradeRecord] = {}
    closed_in_batch: set = set()
    for record in records:
        seen = latest.get(record.key)
        if seen is None:
            latest[record.key] = record
        elif record.is_closed and not seen.is_closed:
            latest[record.key] = record
            closed_in_batch.add(record.key)
    return list(latest.values()), closed_in_batch


INSERT_SQL = (
    "INSERT INTO journal_trade ({columns}) VALUES {rows} "
    "ON CONFLICT (trade_id, executed_at) DO NOTHING RETURNING trade_id, executed_at"
)
CLOSE_SQL = """
    UPDATE journal_trade AS t
    SET closed_at = v.closed_at, exit_price = v.exit_price, pnl = v.pnl, fees = v.fees,
        status = 'closed'
    FROM (VALUES {rows}) AS v (trade_id, executed_at, closed_at, exit_price, pnl, fees)
    WHERE t.trade_id = v.trade_id AND t.executed_at = v.executed_at AND t.status = 'open'
    RETURNING t.trade_id
"""
CLOSE_ROW = "(%s, %s::timestamptz, %s::timestamptz, %s::numeric, %s::numeric, %s::numeric)"


def _insert_postgres(records: Sequence[TradeRecord]) -> tuple[set, int]:
    from psycopg.types.json import Jsonb

    now = timezone.now()
    placeholders = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    params: list = []
    for record in records:
        params.extend(row_values(record, now, Jsonb))
    sql = INSERT_SQL.format(
        columns=", ".join(COLUMNS), rows=", ".join([placeholders] * len(records))
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created_keys = set(cursor.fetchall())
        closing = [r for r in records if r.is_closed and r.key not in created_keys]
        if not closing:
            return created_keys, 0
        close_params: list = []
        for record in closing:
            close_params.extend(
                [
                    record.trade_id,
                    record.executed_at,
                    record.closed_at,
                    record.exit_price,
                    record.pnl,
                    record.fees,
                ]
            )
        cursor.execute(CLOSE_SQL.format(rows=", ".join([CLOSE_ROW] * len(closing))), close_params)
        return created_keys, len(cursor.fetchall())


def _insert_orm(records: Sequence[TradeRecord]) -> tuple[set, int]:
    """The same semantics through the ORM, for the embedded SQLite default."""
    keys = {record.key for record in records}
    existing = {
        (trade_id, executed_at): status
        for trade_id, executed_at, status in Trade.objects.filter(
            trade_id__in={key[0] for key in keys}
        ).values_list("trade_id", "executed_at", "status")
        if (trade_id, executed_at) in keys
    }
    now = timezone.now()
    new, closed = [], 0
    for record in records:  # one record per key (latest_states)
        status = existing.get(record.key)
        if status is None:
            new.append(Trade(**dict(zip(COLUMNS, row_values(record, now), strict=True))))
        elif status == TradeStatus.OPEN and record.is_closed:
            closed += Trade.objects.filter(
                trade_id=record.trade_id, executed_at=record.executed_at, status=TradeStatus.OPEN
            ).update(status=TradeStatus.CLOSED, **{name: getattr(record, name) for name in CLOSING})
    Trade.objects.bulk_create(new, batch_size=500)
    return {record.key for record in new}, closed
