"""The daily summary of closed trades, kept by statement triggers (journal.analytics.summary).

Plain PostgreSQL only: TimescaleDB refuses transition tables on hypertables (there the
continuous aggregate of 0002 serves), and SQLite has no such triggers.
"""

from django.db import migrations

from backoffice.core.db.operations import timescale_installed

# The summary as this migration made it: 0010 replaces it (journal.analytics.summary now).
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


def _plain_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql" and not timescale_installed(
        schema_editor
    )


def create(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE_SQL)


def drop(apps, schema_editor):
    if _plain_postgresql(schema_editor):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("journal", "0003_groups")]

    operations = [migrations.RunPython(create, drop)]
