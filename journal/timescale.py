"""TimescaleDB features of the journal: compression and the daily P&L aggregate.

All of this runs only where the extension is installed; on plain PostgreSQL and SQLite
the same daily figures come from ordinary queries (journal.analytics.metrics).
"""

from __future__ import annotations

import logging

from django.conf import settings

from journal.analytics import aggregates

logger = logging.getLogger(__name__)

# The trade's unique key (trade_id, executed_at) must be in segmentby/orderby, so that
# ON CONFLICT checks on compressed chunks stay cheap (TimescaleDB warns otherwise).
COMPRESSION_SQL = """
    ALTER TABLE journal_trade SET (
        timescaledb.compress,
        timescaledb.compress_segmentby = 'symbol',
        timescaledb.compress_orderby = 'executed_at DESC, trade_id'
    )
"""

# The daily rows of journal.analytics.aggregates, one continuous aggregate per grain
# (every symbol, strategy and account; per symbol; per strategy; per account; the whole
# day), so that a read with no filter reads a row a day. A continuous aggregate must
# bucket on the hypertable's time column (executed_at); the reports count a trade on the
# day it closed, so the closing day is a grouping column of its own, and a read folds
# the rows of each closed_day. materialized_only = false adds the trades not yet
# materialized, so a view is never behind the table for new days.
DAILY_PNL_VIEW = aggregates.DAILY_PNL_VIEW
CAGG_VIEWS = aggregates.CAGG_VIEWS
CAGG_SQL = {grain: aggregates.cagg_sql(view, grain) for grain, view in CAGG_VIEWS.items()}
# Reads take one closing day or a range of them (the risk gate: today's, on every idea).
CAGG_INDEX_SQL = {
    grain: f"CREATE INDEX IF NOT EXISTS {view}_closed_day ON {view} (closed_day)"
    for grain, view in CAGG_VIEWS.items()
}


def refresh_daily_rows(cursor) -> None:
    """Materialize every continuous aggregate over all history (outside a transaction).

    The hourly policies refresh the last JOURNAL_DAILY_PNL_REFRESH_DAYS; trades stored
    for days before that (an import of history, a spool replayed late) show in the
    aggregates only after this. A refresh recomputes only the days that changed.
    """
    for view in CAGG_VIEWS.values():
        cursor.execute("CALL refresh_continuous_aggregate(%s, NULL, NULL)", [view])


# As migration 0010 made it, on the aggregate that 0012 replaced.
DAILY_PNL_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {DAILY_PNL_VIEW}_closed_day ON {DAILY_PNL_VIEW} (closed_day)"
)


def compress_after_days() -> int:
    return settings.JOURNAL_COMPRESS_AFTER_DAYS


def apply_policies(cursor) -> list[str]:
    """(Re)set the compression and refresh policies from settings; idempotent.

    Returns what was done, for a command's report.
    """
    days = compress_after_days()
    chunk_days = settings.JOURNAL_CHUNK_DAYS
    cursor.execute(
        "SELECT set_chunk_time_interval('journal_trade', %s::interval)", [f"{chunk_days} days"]
    )
    cursor.execute("SELECT remove_compression_policy('journal_trade', if_exists => true)")
    cursor.execute("SELECT add_compression_policy('journal_trade', %s::interval)", [f"{days} days"])
    refresh = settings.JOURNAL_DAILY_PNL_REFRESH_DAYS
    for view in CAGG_VIEWS.values():
        cursor.execute(
            f"SELECT remove_continuous_aggregate_policy('{view}', if_not_exists => true)"
        )
        cursor.execute(
            f"SELECT add_continuous_aggregate_policy('{view}', "
            "start_offset => %s::interval, end_offset => INTERVAL '1 hour', "
            "schedule_interval => INTERVAL '1 hour')",
            [f"{refresh} days"],
        )
    done = [
        f"new trade chunks of {chunk_days} day{'' if chunk_days == 1 else 's'}",
        f"compression of trade chunks older than {days} days",
        f"hourly refresh of {', '.join(CAGG_VIEWS.values())} over the last {refresh} days",
    ]
    logger.info("timescaledb policies applied", extra={"policies": done})
    return done


def jobs(cursor) -> list[tuple[int, str, str]]:
    """(job id, procedure, hypertable or view) of the journal's policies."""
    cursor.execute(
        """
        SELECT j.job_id, j.proc_name, coalesce(j.hypertable_name, '')
        FROM timescaledb_information.jobs j
        WHERE j.hypertable_name IN ('journal_trade')
           OR j.proc_name = 'policy_refresh_continuous_aggregate'
        ORDER BY j.job_id
        """
    )
    return list(cursor.fetchall())
