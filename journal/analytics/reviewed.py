"""Figures per review grade and per review tag (journal.reviews): which setups the
reviewers graded well or tagged make or lose money.

Reviews live in their own table, one per reviewed trade; the closed trades of a
selection that have a grade or a tag are grouped by the database, per grade and per tag
(a trade with two tags counts under both): only a row per grade and per tag reaches
Python.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, Q
from django.db.models.expressions import RawSQL

from backoffice.core.db.routers import read_connection as connection  # routed reads
from journal.analytics import aggregates, performance

# Each tag of a review's JSON list, one row per tag, in either database.
_TAGS = {
    "postgresql": "CROSS JOIN LATERAL jsonb_array_elements_text(reviewed.tags) AS tag(value)",
    "sqlite": "CROSS JOIN json_each(reviewed.tags) AS tag",
}


def by_review(queryset) -> dict[str, list[dict[str, Any]]]:
    """{"by_grade": [...], "by_tag": [...]} of the closed trades of ``queryset``, each
    counted and summed by the database in one query."""
    dialect = aggregates.dialect_of(connection)
    r = RawSQL(  # noqa: S611 - the fixed SQL of aggregates.DIALECTS
        aggregates.DIALECTS[dialect]["r"],
        [],
        output_field=DecimalField(max_digits=40, decimal_places=12),
    )
    reviewed = (
        queryset.filter(status="closed", review__isnull=False)
        .filter(~Q(review__grade="") | ~Q(review__tags=[]))
        .annotate(r_multiple=r, grade=F("review__grade"), tags=F("review__tags"))
        .values("grade", "tags", "pnl", "r_multiple")
    )
    inner, params = reviewed.query.sql_with_params()
    money_sum = aggregates.DIALECTS[dialect]["sum"]
    figures = f"""count(*), count(*) FILTER (WHERE pnl > 0), coalesce({money_sum}(pnl), 0),
                 count(r_multiple), coalesce(sum(r_multiple), 0)"""
    # The selection's reviewed trades are read once (a join that scans the period's
    # trades), then grouped twice.
    sql = f"""
        WITH reviewed AS MATERIALIZED ({inner})
        SELECT 'grade', grade, {figures} FROM reviewed WHERE grade <> '' GROUP BY grade
        UNION ALL
        SELECT 'tag', tag.value, {figures} FROM reviewed {_TAGS[dialect]} GROUP BY tag.value
    """  # noqa: S608 - fixed SQL around Django's own query; values are parameters
    found: dict[str, list[dict[str, Any]]] = {"grade": [], "tag": []}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, label, trades, wins, net, r_trades, r_sum in cursor.fetchall():
            row = {"trades": trades, "wins": wins, "net_pnl": _decimal(net)}
            row.update(r_trades=r_trades, r_sum=_decimal(r_sum))
            found[kind].append(_finish({kind: label, **row}))
    return {
        "by_grade": sorted(found["grade"], key=lambda g: g["grade"]),
        "by_tag": sorted(found["tag"], key=lambda t: (-t["net_pnl"], t["tag"])),
    }


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["win_rate"] = performance.ratio(row["wins"], row["trades"])
    row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
    row["expectancy_r"] = performance.ratio(row.pop("r_sum"), row["r_trades"])
    return row
