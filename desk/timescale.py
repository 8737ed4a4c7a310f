"""TimescaleDB and PostgreSQL features of the desk records, applied by migrations."""

from django.conf import settings

SNAPSHOT_TABLES = (
    "desk_marketbar",
    "desk_indicatorsnapshot",
    "desk_calendarevent",
    "desk_newsitem",
    "desk_accountsnapshot",
)

# The decision history is append-only, enforced by the database itself.
IMMUTABLE_DECISIONS_SQL = """
    CREATE OR REPLACE FUNCTION desk_decision_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the decision history is append-only: % refused on desk_decision',
            TG_OP USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    DROP TRIGGER IF EXISTS desk_decision_append_only ON desk_decision;
    CREATE TRIGGER desk_decision_append_only
        BEFORE UPDATE OR DELETE ON desk_decision
        FOR EACH ROW EXECUTE FUNCTION desk_decision_append_only();
"""
DROP_IMMUTABLE_DECISIONS_SQL = """
    DROP TRIGGER IF EXISTS desk_decision_append_only ON desk_decision;
    DROP FUNCTION IF EXISTS desk_decision_append_only();
"""

DECISION_COMPRESSION_SQL = """
    ALTER TABLE desk_decision SET (
        timescaledb.compress,
        timescaledb.compress_orderby = 'occurred_at DESC'
    )
"""


def apply_policies(cursor) -> list[str]:
    """Retention of snapshots and compression of decisions, from settings; idempotent."""
    keep = settings.DESK_SNAPSHOT_RETENTION_DAYS
    for table in SNAPSHOT_TABLES:
        cursor.execute("SELECT remove_retention_policy(%s, if_exists => true)", [table])
        cursor.execute("SELECT add_retention_policy(%s, %s::interval)", [table, f"{keep} days"])
    days = settings.DESK_DECISION_COMPRESS_AFTER_DAYS
    cursor.execute("SELECT remove_compression_policy('desk_decision', if_exists => true)")
    cursor.execute("SELECT add_compression_policy('desk_decision', %s::interval)", [f"{days} days"])
    return [
        f"retention of snapshots: {keep} days ({', '.join(SNAPSHOT_TABLES)})",
        f"compression of decision chunks older than {days} days",
    ]
