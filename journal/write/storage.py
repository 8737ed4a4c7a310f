"""Idempotent SQL for storing trades: PostgreSQL statements, and the SQLite equivalent.

Every path does the same thing inside the caller's transaction, for records applied in
their order:
1. a key met several times in the batch counts once, in its latest state: an open trade
   followed by its close is stored closed (a second close changes nothing);
2. insert every record whose key (trade_id, executed_at) is new, skipping the others;
3. complete, once, a stored open trade that arrives again with its closing fields;
4. record, in the same statement as 2. and 3., the flags of capture's checks of the
   trades stored against their instruments (journal.write.checks).

On PostgreSQL a small batch (an API request) is one INSERT ... VALUES; a large one (a
spool replay, the exact import path) is COPied into a temporary stage table and moved
with one INSERT ... SELECT, which costs a fraction of binding tens of thousands of
parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter

import orjson
from django.db import connection
from django.utils import timezone

from journal import instruments
from journal.domain.trade_record import FIELDS, JSON_FIELDS, TradeRecord
from journal.models import Trade, TradeStatus
from journal.write import checks

# journal_trade's columns of the format (journal.domain.trade_record.FIELDS), then its own.
COLUMNS = (*FIELDS, "status", "recorded_at")
CLOSING = ("closed_at", "exit_price", "pnl", "fees")
_values = attrgetter(*FIELDS)
_JSON_POSITIONS = tuple(FIELDS.index(name) for name in JSON_FIELDS)


def row_values(record: TradeRecord, recorded_at, json_adapter=lambda v: v) -> tuple:
    """The record as a tuple in COLUMNS order."""
    values = list(_values(record))
    for position in _JSON_POSITIONS:
        values[position] = json_adapter(values[position])
    status = TradeStatus.CLOSED if record.is_closed else TradeStatus.OPEN
    return (*values, status.value, recorded_at)


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


# -- the statements that write journal_trade, each written once ---------------------------

_COLUMN_LIST = ", ".join(COLUMNS)
_KEY = "(trade_id, executed_at)"


def insert_sql(source: str, *, distinct: bool = False, on_conflict: bool = True) -> str:
    """INSERT the trades of ``source`` (a table or a subquery with COLUMNS, typed).

    ``distinct``: a key met twice in the source is inserted in its open version first,
    so that closing it (close_sql) completes it. ``on_conflict=False``: a plain INSERT,
    for sources known to hold only new keys (a unique violation then aborts it).
    """
    # Fixed names: ``source`` is one of this package's tables or subqueries.
    select = f"SELECT {_COLUMN_LIST} FROM {source}"  # noqa: S608
    if distinct:
        select = (
            f"SELECT DISTINCT ON {_KEY} {_COLUMN_LIST} FROM {source} "  # noqa: S608
            "ORDER BY trade_id, executed_at, closed_at NULLS FIRST"
        )
    conflict = f" ON CONFLICT {_KEY} DO NOTHING" if on_conflict else ""
    return f"INSERT INTO journal_trade ({_COLUMN_LIST}) {select}{conflict}"


def close_sql(source: str) -> str:
    """Complete, once, the stored open trades that ``source`` holds closed (the first
    close of a key wins), and record their checks; selects how many it completed.
    ``source`` has trade_id, executed_at and CLOSING, typed."""
    update = f"""
        UPDATE journal_trade AS t
        SET closed_at = s.closed_at, exit_price = s.exit_price, pnl = s.pnl, fees = s.fees,
            status = 'closed'
        FROM (SELECT DISTINCT ON {_KEY} trade_id, executed_at, {", ".join(CLOSING)}
              FROM {source} WHERE closed_at IS NOT NULL ORDER BY trade_id, executed_at) AS s
        WHERE t.trade_id = s.trade_id AND t.executed_at = s.executed_at
          AND t.status = 'open'
    """  # noqa: S608
    # The stored trade's values (its entry and quantity as first stored), qualified: the
    # source has columns of the same names.
    return checks.with_checks(update, returning_prefix="t.")


def checked_insert_sql(source: str, *, distinct: bool = False, on_conflict: bool = True) -> str:
    """insert_sql that also records the checks of the trades it stores; selects how
    many it stored."""
    return checks.with_checks(insert_sql(source, distinct=distinct, on_conflict=on_conflict))


# A small batch (one record per key) in one statement of VALUES, with its checks;
# selects the keys it stored.
INSERT_SQL = f"""
    WITH stored AS (
        INSERT INTO journal_trade ({_COLUMN_LIST}) VALUES {{rows}}
        ON CONFLICT {_KEY} DO NOTHING RETURNING {", ".join(checks.CHECKED)}
    ),
    checks AS ({checks.record_sql("stored")})
    SELECT trade_id, executed_at FROM stored
"""  # noqa: S608 - fixed names; the values are parameters
_CLOSE_VALUES = "(VALUES {rows}) AS v (trade_id, executed_at, closed_at, exit_price, pnl, fees)"
CLOSE_ROW = "(%s, %s::timestamptz, %s::timestamptz, %s::numeric, %s::numeric, %s::numeric)"


# -- the staged COPY: large batches and the import's exact path -------------------------

STAGE = "journal_trade_stage"
# ON COMMIT DROP does not fire inside an outer transaction (two batches in one): the
# stage is dropped first, and after each use.
CREATE_STAGE = f"""
    CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS
    SELECT {_COLUMN_LIST} FROM journal_trade WITH NO DATA
"""  # noqa: S608 - fixed names
COPY_STAGE = f"COPY {STAGE} ({_COLUMN_LIST}) FROM STDIN"
MOVE_STAGE = checked_insert_sql(STAGE, distinct=True)
CLOSE_FROM_STAGE = close_sql(STAGE)
COPY_THRESHOLD = 200  # rows from which the staged COPY beats one INSERT ... VALUES


def _json_text(value) -> str:
    # orjson: several times json.dumps's speed; the record rules keep every number within
    # its range (journal.domain.trade_record._storable_json).
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
    """Insert the staged trades and complete stored open ones, with their checks; drop
    the stage.

    Returns (created, closed).
    """
    cursor.execute(MOVE_STAGE)
    created = cursor.fetchone()[0]
    cursor.execute(CLOSE_FROM_STAGE)
    closed = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {STAGE}")
    return created, closed


# The staged batch (one record per key) inserted with its checks, counting in SQL the
# created trades whose open version the batch itself closed (their keys are passed as
# two arrays).
_MOVE_COUNTING = f"""
    WITH stored AS ({insert_sql(STAGE)} RETURNING {", ".join(checks.CHECKED)}),
    checks AS ({checks.record_sql("stored")})
    SELECT count(*), count(*) FILTER (WHERE (trade_id, executed_at) IN (
        SELECT * FROM unnest(%s::text[], %s::timestamptz[])))
    FROM stored
"""  # noqa: S608


def _copy_batch(records: Sequence[TradeRecord], closed_here: set) -> tuple[int, int]:
    """A large batch (one record per key) through the stage; (created, closed)."""
    with connection.cursor() as cursor:
        stage(cursor, records)
        keys = list(closed_here)
        cursor.execute(_MOVE_COUNTING, [[k[0] for k in keys], [k[1] for k in keys]])
        created, closed_created = cursor.fetchone()
        cursor.execute(CLOSE_FROM_STAGE)
        closed = cursor.fetchone()[0] + closed_created
        cursor.execute(f"DROP TABLE {STAGE}")
    return created, closed


def _insert_postgres(records: Sequence[TradeRecord]) -> tuple[set, int]:
    from psycopg.types.json import Jsonb

    now = timezone.now()
    placeholders = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    params: list = []
    for record in records:
        params.extend(row_values(record, now, Jsonb))
    sql = INSERT_SQL.format(rows=", ".join([placeholders] * len(records)))
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
        values = _CLOSE_VALUES.format(rows=", ".join([CLOSE_ROW] * len(closing)))
        cursor.execute(close_sql(values), close_params)
        return created_keys, cursor.fetchone()[0]


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
    new, created, closed, completed = [], set(), 0, []
    for record in records:  # one record per key (latest_states)
        status = existing.get(record.key)
        if status is None:
            new.append(Trade(**dict(zip(COLUMNS, row_values(record, now), strict=True))))
            created.add(record.key)
        elif status == TradeStatus.OPEN and record.is_closed:
            done = Trade.objects.filter(
                trade_id=record.trade_id, executed_at=record.executed_at, status=TradeStatus.OPEN
            ).update(status=TradeStatus.CLOSED, **{name: getattr(record, name) for name in CLOSING})
            closed += done
            if done:
                completed.append(record.key)
    Trade.objects.bulk_create(new, batch_size=500)
    # The checks of what was stored: the new trades as given, the completed ones as the
    # database now holds them (their entry and quantity as first stored).
    stored = list(new)
    for trade_id, executed_at in completed:
        stored.extend(Trade.objects.filter(trade_id=trade_id, executed_at=executed_at))
    checks.record_orm(stored, instruments.instrument_for)
    return created, closed
