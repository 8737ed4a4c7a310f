"""Reads of the trade journal for the admin: cheap counts, filter choices, links, export.

The trade table holds millions of rows, so nothing here scans it whole: counts are
estimates from the statistics (or capped), the distinct values of a column come from an
index skip-scan, and the export streams through a server-side cursor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.apps import apps
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from backoffice.core import extensions
from backoffice.core.cache_guard import cache_delete, cache_get, cache_set
from backoffice.core.text import plain_digits as _plain_digits
from journal.models import ReviewChange, Trade, TradeCheck, TradeReview, TradeStatus
from journal.tags import problem, spelling

logger = logging.getLogger(__name__)

COUNT_CAP = 10_000
SEARCH_MAX_LENGTH = 132  # the longest value searched (model_version); longer finds nothing
TAG_LIMIT = 200
DISTINCT_FIELDS = ("symbol", "strategy", "account")
DISTINCT_LIMIT = 500
DISTINCT_CACHE_SECONDS = 60


# TimescaleDB's approximate_row_count() reckons a compressed chunk at about a thousand
# rows for each of its compressed rows (18,081 for 240 trades; "about 960,842 trades"
# for 10,000 in bench/admin_pages.py): a compressed chunk counts the rows its compression
# recorded, plus what was inserted since (the chunk's own table), the others their
# estimate.
_TIMESCALE_COUNT_SQL = """
    SELECT sum(
        CASE WHEN c.compressed_chunk_id IS NULL
             THEN approximate_row_count(format('%%I.%%I', c.schema_name, c.table_name)::regclass)
             ELSE coalesce(s.numrows_pre_compression, 0) + greatest(pc.reltuples, 0)
        END
    )::bigint
    FROM _timescaledb_catalog.chunk c
    JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
    JOIN pg_class pc ON pc.oid = format('%%I.%%I', c.schema_name, c.table_name)::regclass
    LEFT JOIN _timescaledb_catalog.compression_chunk_size s ON s.chunk_id = c.id
    WHERE h.table_name = %s AND NOT c.dropped
"""


def approximate_trade_count() -> int | None:
    """The planner's estimate of the rows in journal_trade (None without statistics).

    A hypertable's parent has no rows of its own (reltuples is 0 after ANALYZE), so on
    TimescaleDB the estimate sums its chunks (compressed ones by their compression
    record); plain PostgreSQL keeps pg_class.reltuples (-1 until first analyzed).
    """
    if connection.vendor != "postgresql":
        return None
    table = Trade._meta.db_table
    with connection.cursor() as cursor:
        if getattr(connection, "timescale_installed", False):
            row = _timescale_count(cursor, table)
        else:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
            )
            row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def _timescale_count(cursor, table: str):
    try:
        with transaction.atomic():  # a savepoint: the page goes on after a failure
            cursor.execute(_TIMESCALE_COUNT_SQL, [table])
            return cursor.fetchone()
    except DatabaseError:
        # A TimescaleDB whose catalog differs: its own estimate, loud about compression.
        logger.warning("trade count from the chunk catalog failed", exc_info=True)
        cursor.execute("SELECT approximate_row_count(%s::regclass)", [table])
        return cursor.fetchone()


def trade_count_capped(*, queryset: QuerySet[Trade], cap: int = COUNT_CAP) -> int:
    """The rows of ``queryset``, counted up to ``cap`` + 1 (``cap`` + 1 means "more").

    SELECT count(*) FROM (SELECT id ... LIMIT cap + 1): at most cap + 1 rows are read,
    whatever the size of the selection.
    """
    return queryset.order_by().values("pk")[: cap + 1].count()


def trade_count_estimate(*, queryset: QuerySet[Trade], cap: int = COUNT_CAP) -> tuple[int, str]:
    """How many trades ``queryset`` selects, and how the figure was found.

    The second item is "exact", "estimate" (the unfiltered table, from the statistics)
    or "capped" (a filtered selection with more than ``cap`` rows; the figure is
    cap + 1). SQLite counts exactly: it is the embedded, small-data default.
    """
    if connection.vendor != "postgresql":
        return queryset.count(), "exact"
    if not queryset.query.where:
        estimate = approximate_trade_count()
        if estimate is not None and estimate > cap:
            return estimate, "estimate"
    count = trade_count_capped(queryset=queryset, cap=cap)
    return count, ("capped" if count > cap else "exact")


def trade_distinct_values(*, field: str) -> list[str]:
    """The distinct values of symbol, strategy or account, for the list filters.

    On PostgreSQL a recursive skip-scan walks the column's index (one probe per value)
    instead of reading every row; on TimescaleDB, where that walk would plan and probe
    every chunk (and open every compressed one: 3 s at a million trades), the closed
    trades' values come from the continuous aggregate of that dimension and the open
    trades' from journal_opentrade. The answer is cached for a minute.
    """
    if field not in DISTINCT_FIELDS:
        raise ValueError(f"no distinct values for {field!r}")
    key = f"journal:distinct:{connection.alias}:{field}"
    # Through the cache guard: without Redis the list reads the index, only slower.
    values = cache_get(key, "distinct values")
    if values is None:
        values = _distinct_values(field)
        cache_set(key, values, DISTINCT_CACHE_SECONDS, "distinct values")
    return values


def _distinct_values(field: str) -> list[str]:
    if connection.vendor != "postgresql":
        return list(
            Trade.objects.order_by(field).values_list(field, flat=True).distinct()[:DISTINCT_LIMIT]
        )
    from journal.analytics import aggregates, sources

    if sources.timescale():
        from journal.analytics.aggregates import CAGG_VIEWS
        from journal.models import OpenTrade

        view = CAGG_VIEWS[aggregates.grain_for((field,))]
        sql = f"""
            SELECT value FROM (
                SELECT DISTINCT {field} AS value FROM {view}
                UNION
                SELECT DISTINCT {field} FROM {OpenTrade._meta.db_table}
            ) AS seen
            WHERE value IS NOT NULL ORDER BY value LIMIT %s
        """  # noqa: S608 - field is one of DISTINCT_FIELDS, the names are the project's
        with connection.cursor() as cursor:
            cursor.execute(sql, [DISTINCT_LIMIT])
            return [row[0] for row in cursor.fetchall()]
    table = Trade._meta.db_table
    sql = f"""
        WITH RECURSIVE walk AS (
            (SELECT {field} AS value FROM {table} ORDER BY {field} LIMIT 1)
            UNION ALL
            SELECT (SELECT {field} FROM {table} WHERE {field} > walk.value
                    ORDER BY {field} LIMIT 1)
            FROM walk WHERE walk.value IS NOT NULL
        )
        SELECT value FROM walk WHERE value IS NOT NULL LIMIT %s
    """  # noqa: S608 - field is one of DISTINCT_FIELDS, the table name is the model's
    with connection.cursor() as cursor:
        cursor.execute(sql, [DISTINCT_LIMIT])
        return [row[0] for row in cursor.fetchall()]


def open_trades(*, queryset: QuerySet[Trade] | None = None) -> QuerySet[Trade]:
    """The open trades of ``queryset`` (all trades by default), bounded below by the
    oldest open trade's executed_at, which journal_opentrade keeps (its triggers): on
    TimescaleDB the hypertable's chunks before it are never read (a compressed chunk has
    no index of the status)."""
    from django.db.models import Min

    from journal.models import OpenTrade

    oldest = OpenTrade.objects.aggregate(oldest=Min("executed_at"))["oldest"]
    base = Trade.objects.all() if queryset is None else queryset
    if oldest is None:
        return base.none()
    return base.filter(status="open", executed_at__gte=oldest)


def trade_search(*, queryset: QuerySet[Trade], term: str) -> QuerySet[Trade]:
    """The trades of ``queryset`` whose trade id or broker order id starts with ``term``
    (any case), or whose symbol does.

    Each arm is an index lookup: the ids through the UPPER(...) text_pattern_ops indexes
    (journal 0013), which serve ``UPPER(x) LIKE 'DEMO-003%'``, and the symbols through
    the cached list of distinct symbols and the symbol index. A '%term%' would read
    every row. On TimescaleDB, whose compressed chunks keep no row index, the ids' arm
    first reads where its matches live from the search keys (search_key_places), so
    that only their chunks and segments are opened.
    """
    term = term.strip()
    if not term:
        return queryset
    if len(term) > SEARCH_MAX_LENGTH:
        return queryset.none()
    wanted = term.upper()
    symbols = [s for s in trade_distinct_values(field="symbol") if s.upper().startswith(wanted)]
    if wanted in symbols:
        return queryset.filter(symbol=wanted)  # a whole symbol: that symbol alone
    match = Q(trade_id__istartswith=term) | Q(broker_order_id__istartswith=term)
    places = search_key_places(term, using=queryset.db)
    if places is not None:
        # Only the chunks and compressed segments that hold a match are opened; the
        # prefix condition itself still decides.
        times, in_symbols = places
        match &= Q(executed_at__in=times, symbol__in=in_symbols) if times else Q(pk__in=[])
    if symbols:
        match |= Q(symbol__in=symbols)
    return queryset.filter(match)


# The most trades a search narrows to their places (one chunk exclusion and segment
# filter each); a prefix matching more is dense enough to be found by reading the newest
# chunks, and is searched without the places.
SEARCH_PLACES_MAX = 500


def search_key_places(term: str, *, using: str = "default") -> tuple[list, list[str]] | None:
    """Where the trades whose id or broker order id starts with ``term`` (any case) live,
    from the search keys beside the hypertable (journal.write.search_keys): their
    distinct times and symbols. None where there is no such table (plain PostgreSQL,
    SQLite: the hypertable's own indexes answer) or the prefix matches more than
    SEARCH_PLACES_MAX trades."""
    database = connections[using]
    if database.vendor != "postgresql" or not getattr(database, "timescale_installed", False):
        return None
    pattern = database.ops.prep_for_like_query(term) + "%"
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT executed_at, symbol FROM journal_tradesearchkey "
            "WHERE UPPER(trade_id::text) LIKE UPPER(%s) "
            "OR UPPER(broker_order_id::text) LIKE UPPER(%s) LIMIT %s",
            [pattern, pattern, SEARCH_PLACES_MAX + 1],
        )
        rows = cursor.fetchall()
    if len(rows) > SEARCH_PLACES_MAX:
        return None
    return sorted({at for at, _ in rows}), sorted({symbol for _, symbol in rows})


TAG_FIELDS = ("tags", "mistakes")  # a review's lists of tags (journal.tags)


def _review_tags_key(field: str = "tags") -> str:
    return f"journal:review-{field}:{connection.alias}"


def forget_review_tags() -> None:
    """Drop the cached tags and mistakes: a reviewer who has just tagged a trade finds
    the tag in the list's filter at once, not a minute later."""
    for field in TAG_FIELDS:
        cache_delete(_review_tags_key(field), "review tags")


def review_tag_values(*, field: str = "tags") -> list[str]:
    """The tags (or mistakes) reviewers have given, sorted (at most TAG_LIMIT), cached
    for a minute (forgotten when a review's tags change)."""
    if field not in TAG_FIELDS:
        raise ValueError(f"no tags in {field!r}")
    key = _review_tags_key(field)
    tags = cache_get(key, "review tags")
    if tags is None:
        tags = _review_tags(field)
        cache_set(key, tags, DISTINCT_CACHE_SECONDS, "review tags")
    return tags


def _review_tags(field: str) -> list[str]:
    if connection.vendor == "postgresql":
        table = TradeReview._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT tag FROM {table}, jsonb_array_elements_text({field}) AS tag "  # noqa: S608 - the model's table and one of TAG_FIELDS
                "ORDER BY tag LIMIT %s",
                [TAG_LIMIT],
            )
            return [row[0] for row in cursor.fetchall()]
    found: set[str] = set()
    for tags in TradeReview.objects.exclude(**{field: []}).values_list(field, flat=True):
        found.update(tag for tag in tags if isinstance(tag, str))
    return sorted(found)[:TAG_LIMIT]


def trades_tagged(*, queryset: QuerySet[Trade], tag: str, field: str = "tags") -> QuerySet[Trade]:
    """The trades of ``queryset`` whose review carries ``tag`` (or, with ``field`` =
    "mistakes", names that mistake), in any case or spacing: the value is spelled as
    stored tags are (journal.tags)."""
    if field not in TAG_FIELDS:
        raise ValueError(f"no tags in {field!r}")
    tag = spelling(tag)
    if problem(tag):
        return queryset.none()  # no stored tag holds it (journal.tags)
    if connection.vendor == "postgresql":
        # tags @> '["fomo"]', served by the reviews' GIN index (journal 0013, 0017).
        reviews = TradeReview.objects.filter(**{f"{field}__contains": [tag]})
    else:  # SQLite has no JSON containment: the tag as a whole JSON string in the text
        reviews = TradeReview.objects.filter(**{f"{field}__icontains": json.dumps(tag)})
    return queryset.filter(pk__in=reviews.values("trade_id"))


def model_versions_by_label(*, labels: Iterable[str]) -> dict[str, int]:
    """{"name@3": ModelVersion pk} for the labels the registry knows; {} without it."""
    model_version = _registry_model_version()
    wanted = set()
    for label in labels:
        name, _, number = (label or "").rpartition("@")
        if name and _plain_digits(number):
            wanted.add((name, int(number)))
    if model_version is None or not wanted:
        return {}
    condition = Q()
    for name, number in wanted:
        condition |= Q(model__name=name, version=number)
    rows = model_version.objects.filter(condition).values_list("pk", "model__name", "version")
    return {f"{name}@{number}": pk for pk, name, number in rows}


def registry_version_labels(*, limit: int = 200) -> list[str]:
    """The registry's model versions as trades name them ("name@3"), newest model first
    (the list's and the dashboard's model-version filter); [] without the registry."""
    model_version = _registry_model_version()
    if model_version is None:
        return []
    rows = model_version.objects.order_by("model__name", "-version").values_list(
        "model__name", "version"
    )[:limit]
    return [f"{name}@{number}" for name, number in rows]


def earliest_opening_of_closes(*, start, end) -> datetime | None:
    """On TimescaleDB, the UTC day the earliest trade closed in [start, end) was opened
    on, from the daily rows (the continuous aggregate keeps each closing day's opening
    days): a lower bound of executed_at for a filter on closed_at, so that the
    hypertable's older chunks (compressed ones have no index of closed_at) are never
    read. None elsewhere (plain PostgreSQL's closed_at index serves the filter) and
    without a start.

    The aggregate holds what its last refresh saw plus the trades opened since: a trade
    opened before that refresh and closed after it is counted on the dashboard, and
    found here, after the next refresh (hourly), as README's TimescaleDB section says.
    With no trade closed in the range, the range's start itself is the bound."""
    if start is None or not getattr(connection, "timescale_installed", False):
        return None
    from journal.timescale import CAGG_VIEWS

    first_day = start.astimezone(UTC).date()
    sql = f"SELECT min(opened_day) FROM {CAGG_VIEWS['day']} WHERE closed_day >= %s"  # noqa: S608 - the project's view
    params: list = [first_day]
    if end is not None:
        last = end.astimezone(UTC)
        # closed_day < the day after the end's day when the end is not a midnight
        sql += " AND closed_day < %s"
        params.append(last.date() + timedelta(days=1) if last.time() != dtime(0) else last.date())
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    earliest = row[0] if row else None
    return start if earliest is None else min(earliest, start)


def _registry_model_version():
    if not apps.is_installed("models_registry"):
        return None
    try:
        return apps.get_model("models_registry", "ModelVersion")
    except LookupError:
        return None


def trade_desk_links(*, trade: Trade) -> dict[str, list[Any]]:
    """The chain behind ``trade``: the trade idea that caused it (its idea_id), that
    idea's decisions, and the prediction the idea came from (its prediction_id, as the
    serving app recorded it): {"ideas": [...], "decisions": [...], "predictions": [...]},
    each empty where the link is missing. A prediction that was not recorded (sampled
    out, past the retention) is its id alone, a str."""
    found: dict[str, list[Any]] = {"ideas": [], "decisions": [], "predictions": []}
    if trade.idea_id is None or not apps.is_installed("desk"):
        return found
    idea_model = apps.get_model("desk", "TradeIdea")
    found["ideas"] = list(idea_model.objects.filter(pk=trade.idea_id).select_related("strategy"))
    if found["ideas"]:
        found["decisions"] = list(
            apps.get_model("desk", "Decision")
            .objects.filter(trade_idea_id=trade.idea_id)
            .order_by("occurred_at", "id")[:50]
        )
        prediction_id = found["ideas"][0].prediction_id
        if prediction_id:
            found["predictions"] = [_recorded_prediction(prediction_id) or prediction_id]
    return found


def closed_idea_trades(*, since: datetime, until: datetime, limit: int) -> list[tuple]:
    """The newest ``limit`` trades closed in [since, until) that name the idea behind
    them: (idea_id, side, entry_price, exit_price, stop_loss, pnl) each (serving's live
    figures of the versions whose predictions made those ideas)."""
    return list(
        Trade.objects.filter(
            status=TradeStatus.CLOSED,
            closed_at__gte=since,
            closed_at__lt=until,
            idea_id__isnull=False,
        )
        .order_by("-closed_at")
        .values_list("idea_id", "side", "entry_price", "exit_price", "stop_loss", "pnl")[:limit]
    )


def _recorded_prediction(prediction_id: str):
    """As serving recorded it (backoffice.core.extensions); None without serving."""
    return extensions.find_prediction(prediction_id)


def review_history(*, trade: Trade) -> QuerySet[ReviewChange]:
    """Every change of the trade's review, newest first, with who made it."""
    return ReviewChange.objects.filter(review__trade_id=trade.pk).select_related("changed_by")


# -- capture's checks against the instrument (journal.write.checks) ------------------------

CHECK_REASONS = {
    "off_tick": ("entry_price_off_tick", "exit_price_off_tick", "stop_loss_off_tick"),
    "quantity": ("quantity_off_step",),
    "pnl": ("pnl_mismatch",),
}


def trade_checks_for(*, trades: Iterable[Trade]) -> dict[tuple, TradeCheck]:
    """{(trade_id, executed_at): TradeCheck} of the flagged ones among ``trades`` (one
    query, by the checks' key index)."""
    trades = list(trades)
    if not trades:
        return {}
    keys = {(trade.trade_id, trade.executed_at) for trade in trades}
    found = TradeCheck.objects.filter(trade_id__in={key[0] for key in keys})
    return {
        (check.trade_id, check.executed_at): check
        for check in found
        if (check.trade_id, check.executed_at) in keys
    }


def trades_checked(*, queryset: QuerySet[Trade], reason: str) -> QuerySet[Trade]:
    """The trades of ``queryset`` by their checks: ``flagged`` (any flag), ``clean``
    (none), or one reason of CHECK_REASONS (``off_tick``, ``quantity``, ``pnl``)."""
    checks = TradeCheck.objects.filter(
        trade_id=OuterRef("trade_id"), executed_at=OuterRef("executed_at")
    )
    if reason == "clean":
        return queryset.filter(~Exists(checks))
    if reason != "flagged":
        condition = Q()
        for column in CHECK_REASONS[reason]:
            condition |= Q(**{column: True})
        checks = checks.filter(condition)
    return queryset.filter(Exists(checks))
