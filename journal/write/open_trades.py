"""The open trades, kept apart by the database: ``journal_opentrade``.

The risk gate counts open trades (all, and a strategy's) on every idea. On a hypertable
with a chunk a day, ``count(*) WHERE status = 'open'`` plans every chunk (45 ms at 365
chunks on a native TimescaleDB before it reads a row) and grows with the journal's age.
Row triggers on ``journal_trade`` keep one small row per open trade instead, in the
writer's own transaction, whatever the path (API capture, spool replay, either import,
a SQL console): an insert of an open trade adds its row; an update that closes, reopens
or moves an open trade replaces it; a delete removes it. ``WHEN`` clauses keep the
triggers' cost to the open trades (5 % of a journal): closed trades never call them.

Row triggers, not statement triggers with transition tables: TimescaleDB refuses
transition tables on hypertables, and SQLite has only row triggers.
"""

from __future__ import annotations

TABLE = "journal_opentrade"
_COLUMNS = "trade_pk, executed_at, symbol, strategy, account"
_NEW = "NEW.id, NEW.executed_at, NEW.symbol, NEW.strategy, NEW.account"

POSTGRESQL_CREATE = f"""
CREATE FUNCTION journal_open_trade_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({_NEW}) ON CONFLICT (trade_pk) DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION journal_open_trade_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE trade_pk = OLD.id;
    IF NEW.status = 'open' THEN
        INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({_NEW}) ON CONFLICT (trade_pk) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION journal_open_trade_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE trade_pk = OLD.id;
    RETURN NULL;
END $$;

CREATE TRIGGER journal_open_trade_insert AFTER INSERT ON journal_trade
    FOR EACH ROW WHEN (NEW.status = 'open') EXECUTE FUNCTION journal_open_trade_added();
CREATE TRIGGER journal_open_trade_update AFTER UPDATE ON journal_trade
    FOR EACH ROW WHEN (OLD.status = 'open' OR NEW.status = 'open')
    EXECUTE FUNCTION journal_open_trade_changed();
CREATE TRIGGER journal_open_trade_delete AFTER DELETE ON journal_trade
    FOR EACH ROW WHEN (OLD.status = 'open') EXECUTE FUNCTION journal_open_trade_gone();
"""  # noqa: S608 - fixed names

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS journal_open_trade_insert ON journal_trade;
DROP TRIGGER IF EXISTS journal_open_trade_update ON journal_trade;
DROP TRIGGER IF EXISTS journal_open_trade_delete ON journal_trade;
DROP FUNCTION IF EXISTS journal_open_trade_added();
DROP FUNCTION IF EXISTS journal_open_trade_changed();
DROP FUNCTION IF EXISTS journal_open_trade_gone();
"""

# SQLite runs one statement per execute().
SQLITE_CREATE = (
    f"""CREATE TRIGGER journal_open_trade_insert AFTER INSERT ON journal_trade
    WHEN NEW.status = 'open'
    BEGIN INSERT OR IGNORE INTO {TABLE} ({_COLUMNS}) VALUES ({_NEW}); END""",  # noqa: S608
    f"""CREATE TRIGGER journal_open_trade_update AFTER UPDATE ON journal_trade
    WHEN OLD.status = 'open' OR NEW.status = 'open'
    BEGIN
        DELETE FROM {TABLE} WHERE trade_pk = OLD.id;
        INSERT OR IGNORE INTO {TABLE} ({_COLUMNS}) SELECT {_NEW} WHERE NEW.status = 'open';
    END""",  # noqa: S608
    f"""CREATE TRIGGER journal_open_trade_delete AFTER DELETE ON journal_trade
    WHEN OLD.status = 'open'
    BEGIN DELETE FROM {TABLE} WHERE trade_pk = OLD.id; END""",  # noqa: S608
)
SQLITE_DROP = tuple(
    f"DROP TRIGGER IF EXISTS journal_open_trade_{event}" for event in ("insert", "update", "delete")
)

BACKFILL = f"""
    INSERT INTO {TABLE} ({_COLUMNS})
    SELECT id, executed_at, symbol, strategy, account FROM journal_trade WHERE status = 'open'
"""  # noqa: S608 - fixed names


def create(connection) -> None:
    """Install the triggers and fill the table from the trades already open."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_CREATE)
        else:
            for statement in SQLITE_CREATE:
                cursor.execute(statement)
        cursor.execute(BACKFILL)


def drop(connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_DROP)
        else:
            for statement in SQLITE_DROP:
                cursor.execute(statement)
