"""The daily summary of closed trades on plain PostgreSQL, kept by the database itself.

``journal_daily_summary`` holds, per closing day (UTC), symbol, strategy and account,
the counts, sums and extremes that every figure of ``journal.analytics.metrics.report`` is made
of. Statement triggers on ``journal_trade`` keep it, in the writer's own transaction,
whatever the path (API capture, spool replay, either import, a SQL console):

- after an INSERT, one row per key of the statement's closed trades is appended;
- after an UPDATE, the trades that closed are appended; a change to an already closed
  trade (which the application never makes) rebuilds the keys it touches from the
  trades, in one statement;
- after a DELETE, the keys touched are rebuilt; after a TRUNCATE, the summary is emptied.

Rows are only ever appended (no upsert), so writers never wait for each other on it;
``compact()`` (``manage.py compact_trade_summary``, run by import_trades and
replay_spool, and hourly by an operator's timer) folds each key's rows into one, in
one statement, safe while trades arrive. A report sums the rows of each key.

TimescaleDB refuses transition tables on hypertables; there the continuous aggregate
``journal_daily_pnl`` plays this part for the dashboard and the report reads the
trades. On SQLite there is no summary either.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.db import connection, transaction

logger = logging.getLogger(__name__)

TABLE = "journal_daily_summary"
_KEY = "closed_day, symbol, strategy, account"
_FIGURES = (
    "trades, wins, losses, net_pnl, gross_profit, gross_loss, largest_win, largest_loss, holding_us"
)


def _aggregate(source: str, where: str = "TRUE") -> str:
    """The summary rows of the closed trades in ``source`` (a table or transition table)."""
    return f"""
        SELECT (closed_at AT TIME ZONE 'UTC')::date, symbol, strategy, account,
               count(*), count(*) FILTER (WHERE pnl > 0), count(*) FILTER (WHERE pnl < 0),
               sum(pnl), coalesce(sum(pnl) FILTER (WHERE pnl > 0), 0),
               coalesce(sum(pnl) FILTER (WHERE pnl < 0), 0), max(pnl), min(pnl),
               sum((extract(epoch FROM closed_at - executed_at) * 1000000)::bigint)
        FROM {source} WHERE status = 'closed' AND ({where})
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - fixed names


# Rebuilds and compactions take this transaction lock first: each deletes rows and
# inserts their replacement in one statement, and two of them at once (or one with the
# other) would each miss the other's replacement and count a key twice.
_LOCK = "pg_advisory_xact_lock(hashtext('journal_daily_summary'))"
LOCK_SQL = f"SELECT {_LOCK}"


def _rebuild(touched: str) -> str:
    """One statement (one snapshot, taken after the lock): drop the rows of the keys in
    ``touched`` and aggregate those keys again from the trades."""
    return f"""
        PERFORM {_LOCK};
        WITH touched AS ({touched}),
        gone AS (
            DELETE FROM {TABLE} s USING touched t
            WHERE (s.closed_day, s.symbol, s.strategy, s.account)
                = (t.closed_day, t.symbol, t.strategy, t.account)
            RETURNING 1
        )
        INSERT INTO {TABLE} ({_KEY}, {_FIGURES})
        {
        _aggregate(
            "journal_trade",
            "((closed_at AT TIME ZONE 'UTC')::date, symbol, strategy, account) IN "
            "(SELECT closed_day, symbol, strategy, account FROM touched)",
        )
    }
    """  # noqa: S608


_KEYS_OF = """
    SELECT DISTINCT (closed_at AT TIME ZONE 'UTC')::date AS closed_day, symbol, strategy,
           account
    FROM {rows} WHERE status = 'closed' {extra}
"""
# Closed trades (before_rows b) that an UPDATE changed (after_rows a).
_CLOSED_CHANGED = """
    SELECT b.id FROM before_rows b JOIN after_rows a ON a.id = b.id
    WHERE b.status = 'closed'
      AND (a.status, a.closed_at, a.executed_at, a.pnl, a.symbol, a.strategy, a.account)
          IS DISTINCT FROM
          (b.status, b.closed_at, b.executed_at, b.pnl, b.symbol, b.strategy, b.account)
"""
_CHANGED = f"AND id IN ({_CLOSED_CHANGED})"

CREATE_SQL = f"""
CREATE TABLE {TABLE} (
    closed_day date NOT NULL,
    symbol varchar(32) NOT NULL,
    strategy varchar(64) NOT NULL,
    account varchar(64) NOT NULL,
    trades bigint NOT NULL,
    wins bigint NOT NULL,
    losses bigint NOT NULL,
    net_pnl numeric NOT NULL,
    gross_profit numeric NOT NULL,
    gross_loss numeric NOT NULL,
    largest_win numeric,
    largest_loss numeric,
    holding_us numeric NOT NULL
);
CREATE INDEX {TABLE}_day ON {TABLE} (closed_day);

CREATE FUNCTION journal_summary_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} ({_KEY}, {_FIGURES}) {_aggregate("after_rows")};
    RETURN NULL;
END $$;

CREATE FUNCTION journal_summary_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Trades close: add them.
    INSERT INTO {TABLE} ({_KEY}, {_FIGURES}) {
    _aggregate(
        "after_rows",
        "id IN (SELECT b.id FROM before_rows b WHERE b.status <> 'closed')",
    )
};
    -- A closed trade changed (never done by the application): rebuild what it touched.
    IF EXISTS ({_CLOSED_CHANGED}) THEN
        {
    _rebuild(
        _KEYS_OF.format(rows="before_rows", extra=_CHANGED)
        + " UNION "
        + _KEYS_OF.format(rows="after_rows", extra=_CHANGED)
    )
};
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION journal_summary_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_rebuild(_KEYS_OF.format(rows="before_rows", extra=""))};
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

-- The trades stored before this migration.
INSERT INTO {TABLE} ({_KEY}, {_FIGURES}) {_aggregate("journal_trade")};
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
    INSERT INTO {TABLE} ({_KEY}, {_FIGURES})
    SELECT {_KEY}, sum(trades), sum(wins), sum(losses), sum(net_pnl), sum(gross_profit),
           sum(gross_loss), max(largest_win), min(largest_loss), sum(holding_us)
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


def rollups(
    *,
    since: date | None = None,
    until: date | None = None,
    symbol: str | None = None,
    strategy: str | None = None,
    account: str | None = None,
) -> dict[str, dict]:
    """The report's roll-ups in one statement (GROUPING SETS): per day, per symbol, per
    strategy (name -> sums, as journal.analytics.metrics._roll_up makes them), and the total with
    its extremes and holding time. ``until`` is exclusive."""
    where, params = day_filters(since, until, symbol, strategy, account)
    sql = f"""
        SELECT GROUPING(closed_day, symbol, strategy), closed_day, symbol, strategy,
               sum(trades), sum(wins), sum(losses), sum(net_pnl), sum(gross_profit),
               sum(gross_loss), max(largest_win), min(largest_loss), sum(holding_us)
        FROM {TABLE} {where}
        GROUP BY GROUPING SETS ((closed_day), (symbol), (strategy), ())
    """  # noqa: S608 - column names are fixed above, values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # GROUPING() sets a bit for each column not grouped: 3 = by day, 5 = by symbol,
    # 6 = by strategy, 7 = everything.
    names = {3: ("day", 1), 5: ("symbol", 2), 6: ("strategy", 3)}
    out: dict[str, dict] = {"day": {}, "symbol": {}, "strategy": {}, "total": {}}
    for row in rows:
        level = row[0]
        sums = {
            "trades": int(row[4] or 0),
            "wins": int(row[5] or 0),
            "losses": int(row[6] or 0),
            "net_pnl": row[7] if row[7] is not None else 0,
            "gross_profit": row[8] if row[8] is not None else 0,
            "gross_loss": row[9] if row[9] is not None else 0,
        }
        if level == 7:
            out["total"] = {
                **sums,
                "highest": row[10],
                "lowest": row[11],
                "holding": timedelta(microseconds=int(row[12] or 0)),
            }
        else:
            key, column = names[level]
            out[key][row[column]] = {key: row[column], **sums}
    return out
