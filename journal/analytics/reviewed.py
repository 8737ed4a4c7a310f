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

# Each tag (or mistake) of a review's JSON list, one row each, in either database.
_EACH = {
    "postgresql": "CROSS JOIN LATERAL jsonb_array_elements_text(reviewed.{list}) AS tag(value)",
    "sqlite": "CROSS JOIN json_each(reviewed.{list}) AS tag",
}
# A review that names at least one mistake.
_ANY = {
    "postgresql": "jsonb_array_length(mistakes) > 0",
    "sqlite": "json_array_length(mistakes) > 0",
}


def by_review(queryset) -> dict[str, list[dict[str, Any]]]:
    """{"by_grade": [...], "by_tag": [...], "by_mistake": [...], "any_mistake": [row]}
    of the closed trades of ``queryset``, each counted and summed by the database in one
    query (a trade with two tags counts under both; "any_mistake" is the trades whose
    review names at least one mistake, an empty list when none does)."""
    dialect = aggregates.dialect_of(connection)
    r = RawSQL(  # noqa: S611 - the fixed SQL of aggregates.DIALECTS
        aggregates.DIALECTS[dialect]["r"],
        [],
        output_field=DecimalField(max_digits=40, decimal_places=12),
    )
    reviewed = (
        queryset.filter(status="closed", review__isnull=False)
        .filter(~Q(review__grade="") | ~Q(review__tags=[]) | ~Q(review__mistakes=[]))
        .annotate(
            r_multiple=r,
            grade=F("review__grade"),
            tags=F("review__tags"),
            mistakes=F("review__mistakes"),
        )
        .values("grade", "tags", "mistakes", "pnl", "r_multiple")
    )
    inner, params = reviewed.query.sql_with_params()
    money_sum = aggregates.DIALECTS[dialect]["sum"]
    figures = f"""count(*), count(*) FILTER (WHERE pnl > 0), coalesce({money_sum}(pnl), 0),
                 count(r_multiple), coalesce(sum(r_multiple), 0)"""
    # The selection's reviewed trades are read once (a join that scans the period's
    # trades), then grouped twice.
    each_tag = _EACH[dialect].format(list="tags")
    each_mistake = _EACH[dialect].format(list="mistakes")
    sql = f"""
        WITH reviewed AS MATERIALIZED ({inner})
        SELECT 'grade', grade, {figures} FROM reviewed WHERE grade <> '' GROUP BY grade
        UNION ALL
        SELECT 'tag', tag.value, {figures} FROM reviewed {each_tag} GROUP BY tag.value
        UNION ALL
        SELECT 'mistake', tag.value, {figures} FROM reviewed {each_mistake}
        GROUP BY tag.value
        UNION ALL
        SELECT 'any_mistake', '', {figures} FROM reviewed WHERE {_ANY[dialect]}
        HAVING count(*) > 0
    """  # noqa: S608 - fixed SQL around Django's own query; values are parameters
    found: dict[str, list[dict[str, Any]]] = {
        "grade": [],
        "tag": [],
        "mistake": [],
        "any_mistake": [],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for kind, label, trades, wins, net, r_trades, r_sum in cursor.fetchall():
            row = {"trades": trades, "wins": wins, "net_pnl": _decimal(net)}
            row.update(r_trades=r_trades, r_sum=_decimal(r_sum))
            found[kind].append(_finish({kind: label, **row}))
    return {
        "by_grade": sorted(found["grade"], key=lambda g: g["grade"]),
        "by_tag": sorted(found["tag"], key=lambda t: (-t["net_pnl"], t["tag"])),
        # The costliest mistake first.
        "by_mistake": sorted(found["mistake"], key=lambda m: (m["net_pnl"], m["mistake"])),
        "any_mistake": found["any_mistake"],
    }


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["win_rate"] = performance.ratio(row["wins"], row["trades"])
    row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
    row["expectancy_r"] = performance.ratio(row.pop("r_sum"), row["r_trades"])
    return row
