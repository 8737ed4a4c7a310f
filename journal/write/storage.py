"""Idempotent SQL for storing trades: PostgreSQL statements, and the SQLite equivalent.

Every path does the same thing inside the caller's transaction, for records applied in
their order:
1. a key met several times in the batch counts once, in its latest state: an open trade
   followed by its close is stored closed (a second close changes nothing);
2. insert every record whose key (trade_id, executed_at) is new, skipping the others;
3. complete, once, a stored open trade that arrives again with its closing fields.

On PostgreSQL a small batch (an API request) is one INSERT ... VALUES; a large one (a
spool replay, the exact import path) is COPied into a temporary stage table and moved
with one INSERT ... SELECT, which costs a fraction of binding tens of thousands of
parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import orjson
from django.db import connection
from django.utils import timezone

from journal.models import Trade, TradeStatus
from journal.write.records import TradeRecord

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
    if connection.vendor != "postgresql":
        created_keys, closed = _insert_orm(latest)
    elif len(latest) >= COPY_THRESHOLD:
        return _copy_batch(latest, closed_in_batch)
    else:
        created_keys, closed = _insert_postgres(latest)
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


# -- the staged COPY: large batches and the import's exact path -------------------------

STAGE = "journal_trade_stage"
_STAGE_COLUMNS = ", ".join(COLUMNS)
# ON COMMIT DROP does not fire inside an outer transaction (two batches in one): the
# stage is dropped first, and after each use.
CREATE_STAGE = f"""
    CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS
    SELECT {_STAGE_COLUMNS} FROM journal_trade WITH NO DATA
"""  # noqa: S608 - fixed names
COPY_STAGE = f"COPY {STAGE} ({_STAGE_COLUMNS}) FROM STDIN"
# A key met twice in the stage: the open version first, so that the closing one
# completes it.
MOVE_STAGE = f"""
    INSERT INTO journal_trade ({_STAGE_COLUMNS})
    SELECT DISTINCT ON (trade_id, executed_at) {_STAGE_COLUMNS} FROM {STAGE}
    ORDER BY trade_id, executed_at, closed_at NULLS FIRST
    ON CONFLICT (trade_id, executed_at) DO NOTHING
"""  # noqa: S608
CLOSE_FROM_STAGE = f"""
    UPDATE journal_trade AS t
    SET closed_at = s.closed_at, exit_price = s.exit_price, pnl = s.pnl, fees = s.fees,
        status = 'closed'
    FROM (SELECT DISTINCT ON (trade_id, executed_at) * FROM {STAGE}
          WHERE closed_at IS NOT NULL ORDER BY trade_id, executed_at) AS s
    WHERE t.trade_id = s.trade_id AND t.executed_at = s.executed_at AND t.status = 'open'
"""  # noqa: S608
COPY_THRESHOLD = 200  # rows from which the staged COPY beats one INSERT ... VALUES


def _json_text(value) -> str:
    # orjson: several times json.dumps's speed; the record rules keep every number within
    # its range (journal.write.records.storable_json).
    return orjson.dumps(value).decode()


def stage(cursor, records: Iterable[TradeRecord], on_record=None) -> None:
    """Create the stage and COPY ``records`` into it (``on_record`` sees each one)."""
    now = timezone.now()
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(CREATE_STAGE)
    with cursor.copy(COPY_STAGE) as copy:
        for record in records:
            if on_record is not None:
                on_record(record)
            copy.write_row(row_values(record, now, _json_text))


def move_stage(cursor) -> tuple[int, int]:
    """Insert the staged trades and complete stored open ones; drop the stage.

    Returns (created, closed).
    """
    cursor.execute(MOVE_STAGE)
    created = max(cursor.rowcount, 0)
    cursor.execute(CLOSE_FROM_STAGE)
    closed = max(cursor.rowcount, 0)
    cursor.execute(f"DROP TABLE {STAGE}")
    return created, closed


# The staged batch (one record per key) inserted, counting in SQL the created trades
# whose open version the batch itself closed (their keys are passed as two arrays).
_MOVE_COUNTING = f"""
    WITH created AS (
        INSERT INTO journal_trade ({_STAGE_COLUMNS}) SELECT {_STAGE_COLUMNS} FROM {STAGE}
        ON CONFLICT (trade_id, executed_at) DO NOTHING
        RETURNING trade_id, executed_at
    )
    SELECT count(*), count(*) FILTER (WHERE (trade_id, executed_at) IN (
        SELECT * FROM unnest(%s::text[], %s::timestamptz[])))
    FROM created
"""  # noqa: S608


def _copy_batch(records: Sequence[TradeRecord], closed_here: set) -> tuple[int, int]:
    """A large batch (one record per key) through the stage; (created, closed)."""
    with connection.cursor() as cursor:
        stage(cursor, records)
        keys = list(closed_here)
        cursor.execute(_MOVE_COUNTING, [[k[0] for k in keys], [k[1] for k in keys]])
        created, closed_created = cursor.fetchone()
        cursor.execute(CLOSE_FROM_STAGE)
        closed = max(cursor.rowcount, 0) + closed_created
        cursor.execute(f"DROP TABLE {STAGE}")
    return created, closed


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
    new, created, closed = [], set(), 0
    for record in records:  # one record per key (latest_states)
        status = existing.get(record.key)
        if status is None:
            new.append(Trade(**dict(zip(COLUMNS, row_values(record, now), strict=True))))
            created.add(record.key)
        elif status == TradeStatus.OPEN and record.is_closed:
            closed += Trade.objects.filter(
                trade_id=record.trade_id, executed_at=record.executed_at, status=TradeStatus.OPEN
            ).update(status=TradeStatus.CLOSED, **{name: getattr(record, name) for name in CLOSING})
    Trade.objects.bulk_create(new, batch_size=500)
    return created, closed
