"""The trades' search keys beside the hypertable: ``journal_tradesearchkey`` (TimescaleDB).

The trade list's search matches the start of a trade id or broker order id in any case
(journal.selectors.trade_search). On plain PostgreSQL two ``UPPER(...) text_pattern_ops``
indexes on journal_trade answer it. On TimescaleDB a compressed chunk keeps no row
index, so the same search opened every compressed chunk: 741 ms at a million trades
(bench/README.md, "The dashboard and the list at a million trades"). This table keeps,
for every trade, the four columns the search needs to find it (its ids, and where it
lives: ``executed_at`` picks the chunk, ``symbol`` the compressed segment), uncompressed
and indexed; the search reads the matches' places here and then opens only those.

Row triggers on journal_trade keep it in the writer's own transaction, whatever the path
(API capture, spool replay, either import, a SQL console): an insert adds the trade's
keys, an update of one of the four columns moves them, a delete removes them, a
TRUNCATE empties it too. (Row triggers: TimescaleDB refuses transition tables on
hypertables.) A restore from
``make backup`` loads the table's own rows: pg_restore creates triggers after the data.

Only where TimescaleDB is installed; the two prefix indexes on the hypertable, which
this table replaces there, are dropped with it (every trade write keeps one structure,
not two).
"""

from __future__ import annotations

TABLE = "journal_tradesearchkey"
_COLUMNS = "trade_id, executed_at, symbol, broker_order_id"
_NEW = "NEW.trade_id, NEW.executed_at, NEW.symbol, NEW.broker_order_id"
# A trade's own row: trade ids are compared through the index's expression first.
_OLD_ROW = (
    "UPPER(trade_id::text) = UPPER(OLD.trade_id::text) AND trade_id = OLD.trade_id "
    "AND executed_at = OLD.executed_at"
)
# journal 0013's indexes on the hypertable, which this table replaces on TimescaleDB.
HYPERTABLE_PREFIX_INDEXES = (
    ("journal_trade_id_prefix_idx", "trade_id"),
    ("journal_trade_order_prefix_idx", "broker_order_id"),
)

CREATE = f"""
CREATE TABLE {TABLE} (
    trade_id varchar(64) NOT NULL,
    executed_at timestamptz NOT NULL,
    symbol varchar(32) NOT NULL,
    broker_order_id varchar(64) NOT NULL
);

CREATE FUNCTION journal_trade_key_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({_NEW});
    RETURN NULL;
END $$;

CREATE FUNCTION journal_trade_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE {_OLD_ROW};
    INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({_NEW});
    RETURN NULL;
END $$;

CREATE FUNCTION journal_trade_key_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE {_OLD_ROW};
    RETURN NULL;
END $$;

CREATE FUNCTION journal_trade_keys_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {TABLE};
    RETURN NULL;
END $$;

INSERT INTO {TABLE} ({_COLUMNS}) SELECT {_COLUMNS} FROM journal_trade;

-- The search's two lookups (journal.selectors.trade_search), as on the hypertable.
CREATE INDEX journal_tradesearchkey_id_idx ON {TABLE} (UPPER(trade_id::text) text_pattern_ops);
CREATE INDEX journal_tradesearchkey_order_idx
    ON {TABLE} (UPPER(broker_order_id::text) text_pattern_ops);

CREATE TRIGGER journal_trade_key_insert AFTER INSERT ON journal_trade
    FOR EACH ROW EXECUTE FUNCTION journal_trade_key_added();
CREATE TRIGGER journal_trade_key_update
    AFTER UPDATE OF trade_id, executed_at, symbol, broker_order_id ON journal_trade
    FOR EACH ROW WHEN (
        OLD.trade_id IS DISTINCT FROM NEW.trade_id
        OR OLD.executed_at IS DISTINCT FROM NEW.executed_at
        OR OLD.symbol IS DISTINCT FROM NEW.symbol
        OR OLD.broker_order_id IS DISTINCT FROM NEW.broker_order_id
    )
    EXECUTE FUNCTION journal_trade_key_changed();
CREATE TRIGGER journal_trade_key_delete AFTER DELETE ON journal_trade
    FOR EACH ROW EXECUTE FUNCTION journal_trade_key_gone();
CREATE TRIGGER journal_trade_key_truncate AFTER TRUNCATE ON journal_trade
    FOR EACH STATEMENT EXECUTE FUNCTION journal_trade_keys_truncated();

ANALYZE {TABLE};
"""  # noqa: S608 - fixed names

DROP = f"""
DROP TRIGGER IF EXISTS journal_trade_key_insert ON journal_trade;
DROP TRIGGER IF EXISTS journal_trade_key_update ON journal_trade;
DROP TRIGGER IF EXISTS journal_trade_key_delete ON journal_trade;
DROP TRIGGER IF EXISTS journal_trade_key_truncate ON journal_trade;
DROP FUNCTION IF EXISTS journal_trade_key_added();
DROP FUNCTION IF EXISTS journal_trade_key_changed();
DROP FUNCTION IF EXISTS journal_trade_key_gone();
DROP FUNCTION IF EXISTS journal_trade_keys_truncated();
DROP TABLE IF EXISTS {TABLE};
"""

DROP_HYPERTABLE_INDEXES = "".join(
    f"DROP INDEX IF EXISTS {name};\n" for name, _ in HYPERTABLE_PREFIX_INDEXES
)
CREATE_HYPERTABLE_INDEXES = "".join(
    f"CREATE INDEX IF NOT EXISTS {name} ON journal_trade (UPPER(({column})::text) "
    "text_pattern_ops);\n"
    for name, column in HYPERTABLE_PREFIX_INDEXES
)
