"""TimescaleDB features of the journal: compression and the daily P&L aggregate.

All of this runs only where the extension is installed; on plain PostgreSQL and SQLite
the same daily figures come from ordinary queries (journal.analytics.metrics).
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

DAILY_PNL_VIEW = "journal_daily_pnl"

# The trade's unique key (trade_id, executed_at) must be in segmentby/orderby, so that
# ON CONFLICT checks on compressed chunks stay cheap (TimescaleDB warns otherwise).
COMPRESSION_SQL = """
    ALTER TABLE journal_trade SET (
        timescaledb.compress,
        timescaledb.compress_segmentby = 'symbol',
        timescaledb.compress_orderby = 'executed_at DESC, trade_id'
    )
"""

# Daily P&L per symbol, strategy and account. A continuous aggregate must bucket on the
# hypertable's time column (executed_at); the metrics count a trade on the day it
# closed, so the closing day is a grouping column of its own, and a query over the
# view sums the rows of each closed_day. materialized_only = false adds the trades not
# yet materialized, so the view is never behind the table for new days.
DAILY_PNL_SQL = f"""
    CREATE MATERIALIZED VIEW IF NOT EXISTS {DAILY_PNL_VIEW}
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket('1 day', executed_at) AS opened_day,
           (closed_at AT TIME ZONE 'UTC')::date AS closed_day,
           symbol, strategy, account,
           count(*) AS trades,
           count(*) FILTER (WHERE pnl > 0) AS wins,
           count(*) FILTER (WHERE pnl < 0) AS losses,
           sum(pnl) AS net_pnl,
           coalesce(sum(pnl) FILTER (WHERE pnl > 0), 0) AS gross_profit,
           coalesce(sum(pnl) FILTER (WHERE pnl < 0), 0) AS gross_loss,
           max(pnl) AS largest_win,
           min(pnl) AS largest_loss,
           sum(extract(epoch FROM closed_at - executed_at)) AS holding_seconds
    FROM journal_trade
    WHERE status = 'closed'
    GROUP BY opened_day, closed_day, symbol, strategy, account
    WITH NO DATA
"""  # noqa: S608 - a fixed view name


# The risk gate reads today's P&L (one closing day) on every idea.
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
    cursor.execute("SELECT remove_compression_policy('journal_trade', if_exists => true)")
    cursor.execute("SELECT add_compression_policy('journal_trade', %s::interval)", [f"{days} days"])
    cursor.execute(
        f"SELECT remove_continuous_aggregate_policy('{DAILY_PNL_VIEW}', if_not_exists => true)"
    )
    refresh = settings.JOURNAL_DAILY_PNL_REFRESH_DAYS
    cursor.execute(
        f"SELECT add_continuous_aggregate_policy('{DAILY_PNL_VIEW}', "
        "start_offset => %s::interval, end_offset => INTERVAL '1 hour', "
        "schedule_interval => INTERVAL '1 hour')",
        [f"{refresh} days"],
    )
    done = [
        f"compression of trade chunks older than {days} days",
        f"hourly refresh of {DAILY_PNL_VIEW} over the last {refresh} days",
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
