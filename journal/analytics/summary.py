"""The daily summary of closed trades on plain PostgreSQL, kept by the database itself.

``journal_daily_summary`` holds, per closing day (UTC) and grain (every symbol, strategy
and account; per symbol; per strategy; per account; the whole day), the measures of
``journal.analytics.aggregates`` that every figure of the reports is made of: its SQL is
derived from there, as the continuous aggregates' is. Statement triggers on
``journal_trade`` keep it, in the writer's own transaction, whatever the path (API
capture, spool replay, either import, a SQL console):

- after an INSERT, one row per key of the statement's closed trades is appended;
- after an UPDATE, the trades that closed are appended; a change to an already closed
  trade (which the application never makes) rebuilds the days it touches from the
  trades, in one statement;
- after a DELETE, the days touched are rebuilt; after a TRUNCATE, the summary is emptied.

Rows are only ever appended (no upsert), so writers never wait for each other on it;
``compact()`` (``manage.py compact_trade_summary``, run by import_trades and
replay_spool, and hourly by an operator's timer) folds each key's rows into one, in
one statement, safe while trades arrive. A read folds the rows of each key
(journal.analytics.sources).

TimescaleDB refuses transition tables on hypertables; there the continuous aggregates
``journal_daily_pnl*`` (journal.timescale) play this part. On SQLite there is no
summary: reads aggregate the trades.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import connection, transaction

from journal.analytics import aggregates

logger = logging.getLogger(__name__)

TABLE = "journal_daily_summary"
_KEY = "grain, closed_day, symbol, strategy, account"
_COLUMNS = f"{_KEY}, {', '.join(aggregates.NAMES)}"
_DAY = aggregates.DIALECTS["postgresql"]["day"]

# Rebuilds and compactions take this transaction lock first: each deletes rows and
# inserts their replacement in one statement, and two of them at once (or one with the
# other) would each miss the other's replacement and count a key twice.
_LOCK = "pg_advisory_xact_lock(hashtext('journal_daily_summary'))"
LOCK_SQL = f"SELECT {_LOCK}"


def _rebuild(touched_days: str) -> str:
    """One statement (one snapshot, taken after the lock): drop the rows of the days in
    ``touched_days`` (a query of closed_day) and aggregate those days again."""
    return f"""
        PERFORM {_LOCK};
        WITH touched AS ({touched_days}),
        gone AS (
            DELETE FROM {TABLE} s USING touched t WHERE s.closed_day = t.closed_day
            RETURNING 1
        )
        INSERT INTO {TABLE} ({_COLUMNS})
        {
        aggregates.grouping_sets_sql("journal_trade", f"{_DAY} IN (SELECT closed_day FROM touched)")
    }
    """  # noqa: S608


_DAYS_OF = "SELECT DISTINCT {day} AS closed_day FROM {rows} WHERE status = 'closed' {extra}"
# What the measures read of a trade: a closed trade whose row changed in any of these
# (never done by the application) has its days rebuilt.
_MEASURED = (
    "status, closed_at, executed_at, pnl, symbol, strategy, account, side, entry_price, "
    "exit_price, stop_loss"
)
# Closed trades (before_rows b) that an UPDATE changed (after_rows a).
_CLOSED_CHANGED = f"""
    SELECT b.id FROM before_rows b JOIN after_rows a ON a.id = b.id
    WHERE b.status = 'closed'
      AND ({", ".join("a." + c.strip() for c in _MEASURED.split(","))})
          IS DISTINCT FROM
          ({", ".join("b." + c.strip() for c in _MEASURED.split(","))})
"""  # noqa: S608 - fixed names
_CHANGED = f"AND id IN ({_CLOSED_CHANGED})"

CREATE_SQL = f"""
CREATE TABLE {TABLE} (
    grain smallint NOT NULL,
    closed_day date NOT NULL,
    symbol varchar(32),
    strategy varchar(64),
    account varchar(64),
    {aggregates.columns_ddl()}
);
-- Every read: one grain, a range of days.
CREATE INDEX {TABLE}_grain_day ON {TABLE} (grain, closed_day);

CREATE FUNCTION journal_summary_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} ({_COLUMNS}) {aggregates.grouping_sets_sql("after_rows")};
    RETURN NULL;
END $$;

CREATE FUNCTION journal_summary_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Trades close: add them.
    INSERT INTO {TABLE} ({_COLUMNS}) {
    aggregates.grouping_sets_sql(
        "after_rows",
        "id IN (SELECT b.id FROM before_rows b WHERE b.status <> 'closed')",
    )
};
    -- A closed trade changed (never done by the application): rebuild its days.
    IF EXISTS ({_CLOSED_CHANGED}) THEN
        {
    _rebuild(
        _DAYS_OF.format(day=_DAY, rows="before_rows", extra=_CHANGED)
        + " UNION "
        + _DAYS_OF.format(day=_DAY, rows="after_rows", extra=_CHANGED)
    )
};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION journal_summary_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_rebuild(_DAYS_OF.format(day=_DAY, rows="before_rows", extra=""))};
    RETURN NULL;
END $$;

CREATE FUNCTION journal_summary_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {TABLE};
    RETURN NULL;
END $$;

CREATE TRIGGER journal_summary_insert AFTER INSERT ON journal_trade
    REFERENCING NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_summary_inserted();
CREATE TRIGGER journal_summary_update AFTER UPDATE ON journal_trade
    REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_summary_updated();
CREATE TRIGGER journal_summary_delete AFTER DELETE ON journal_trade
    REFERENCING OLD TABLE AS before_rows
    FOR EACH STATEMENT EXECUTE FUNCTION journal_summary_deleted();
CREATE TRIGGER journal_summary_truncate AFTER TRUNCATE ON journal_trade
    FOR EACH STATEMENT EXECUTE FUNCTION journal_summary_truncated();

-- The trades stored before this table.
INSERT INTO {TABLE} ({_COLUMNS}) {aggregates.grouping_sets_sql("journal_trade")};
"""  # noqa: S608 - fixed names

DROP_SQL = f"""
DROP TRIGGER IF EXISTS journal_summary_insert ON journal_trade;
DROP TRIGGER IF EXISTS journal_summary_update ON journal_trade;
DROP TRIGGER IF EXISTS journal_summary_delete ON journal_trade;
DROP TRIGGER IF EXISTS journal_summary_truncate ON journal_trade;
DROP FUNCTION IF EXISTS journal_summary_inserted();
DROP FUNCTION IF EXISTS journal_summary_updated();
DROP FUNCTION IF EXISTS journal_summary_deleted();
DROP FUNCTION IF EXISTS journal_summary_truncated();
DROP TABLE IF EXISTS {TABLE};
"""

# Each key's rows folded into one, older days only (today's keep arriving), in one
# statement: rows appended meanwhile are not in its snapshot and stay as they are.
COMPACT_SQL = f"""
    WITH gone AS (
        DELETE FROM {TABLE} WHERE closed_day < %s RETURNING *
    )
    INSERT INTO {TABLE} ({_COLUMNS})
    SELECT {_KEY}, {aggregates.fold_sql()}
    FROM gone GROUP BY {_KEY}
"""  # noqa: S608


def available() -> bool:
    """True where the database keeps the summary (plain PostgreSQL, migrated)."""
    if connection.vendor != "postgresql":
        return False
    cached = getattr(connection, "_journal_summary", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
            cached = bool(cursor.fetchone()[0])
        connection._journal_summary = cached
    return cached


def compact(before: date | None = None) -> tuple[int, int]:
    """Fold each key's rows before ``before`` (default: today, UTC) into one.

    Returns (rows before, rows after) of the folded days.
    """
    from django.utils import timezone

    if not available():
        return 0, 0
    day = before or timezone.now().date()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LOCK_SQL)
        cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE closed_day < %s", [day])  # noqa: S608
        rows_before = cursor.fetchone()[0]
        cursor.execute(COMPACT_SQL, [day])
        rows_after = cursor.rowcount
    logger.info(
        "trade summary compacted", extra={"rows_before": rows_before, "rows_after": rows_after}
    )
    return rows_before, rows_after


def day_filters(since, until, symbol, strategy, account) -> tuple[str, list]:
    """A WHERE clause and its parameters over closed_day, symbol, strategy and account,
    for this table and the continuous aggregate alike; ``until`` is exclusive."""
    conditions, params = [], []
    for column, value in (("symbol", symbol), ("strategy", strategy), ("account", account)):
        if value is not None:
            conditions.append(f"{column} = %s")
            params.append(value)
    if since is not None:
        conditions.append("closed_day >= %s")
        params.append(since)
    if until is not None:
        conditions.append("closed_day < %s")
        params.append(until)
    return ("WHERE " + " AND ".join(conditions)) if conditions else "", params
