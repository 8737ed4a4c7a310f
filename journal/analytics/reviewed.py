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

from django.db import connection
from django.db.models import DecimalField, F, Q
from django.db.models.expressions import RawSQL

from journal.analytics import aggregates, performance

# Each tag of a review's JSON list, one row per tag, in either database.
_TAGS = {
    "postgresql": "CROSS JOIN LATERAL jsonb_array_elements_text(reviewed.tags) AS tag(value)",
    "sqlite": "CROSS JOIN json_each(reviewed.tags) AS tag",
}


def by_review(queryset) -> dict[str, list[dict[str, Any]]]:
    """{"by_grade": [...], "by_tag": [...]} of the closed trades of ``queryset``, each
    counted and summed by the database (one grouped query per breakdown)."""
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
    figures = """count(*), count(*) FILTER (WHERE pnl > 0), coalesce(sum(pnl), 0),
                 count(r_multiple), coalesce(sum(r_multiple), 0)"""
    source = f"({inner}) AS reviewed"
    grades = _grouped(
        f"SELECT grade, {figures} FROM {source} WHERE grade <> '' GROUP BY grade",  # noqa: S608
        params,
        "grade",
    )
    tags = _grouped(
        f"SELECT tag.value, {figures} FROM {source} {_TAGS[dialect]} "  # noqa: S608
        "GROUP BY tag.value",
        params,
        "tag",
    )
    return {
        "by_grade": sorted(grades, key=lambda g: g["grade"]),
        "by_tag": sorted(tags, key=lambda t: (-t["net_pnl"], t["tag"])),
    }


def _grouped(sql: str, params, name: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            _finish(
                {
                    name: label,
                    "trades": trades,
                    "wins": wins,
                    "net_pnl": _decimal(net),
                    "r_trades": r_trades,
                    "r_sum": _decimal(r_sum),
                }
            )
            for label, trades, wins, net, r_trades, r_sum in cursor.fetchall()
        ]


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["win_rate"] = performance.ratio(row["wins"], row["trades"])
    row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
    row["expectancy_r"] = performance.ratio(row.pop("r_sum"), row["r_trades"])
    return row
