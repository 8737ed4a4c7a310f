"""Figures per review grade and per review tag (journal.reviews): which setups the
reviewers graded well or tagged make or lose money.

Reviews live in their own table, one per reviewed trade; the closed trades of a
selection that have a grade or a tag are read once (their P&L and R-multiple, the
review's grade and tags) and counted here. A trade with two tags counts under both.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import DecimalField, Q
from django.db.models.expressions import RawSQL

from journal.analytics import aggregates, performance


def _row(name_key: str, name: str) -> dict[str, Any]:
    return {
        name_key: name,
        "trades": 0,
        "wins": 0,
        "net_pnl": Decimal(0),
        "r_trades": 0,
        "r_sum": Decimal(0),
    }


def by_review(queryset) -> dict[str, list[dict[str, Any]]]:
    """{"by_grade": [...], "by_tag": [...]} of the closed trades of ``queryset``."""
    dialect = aggregates.dialect_of(connection)
    r = RawSQL(  # noqa: S611 - the fixed SQL of aggregates.DIALECTS
        aggregates.DIALECTS[dialect]["r"],
        [],
        output_field=DecimalField(max_digits=40, decimal_places=12),
    )
    rows = (
        queryset.filter(status="closed", review__isnull=False)
        .filter(~Q(review__grade="") | ~Q(review__tags=[]))
        .annotate(r_multiple=r)
        .values_list("review__grade", "review__tags", "pnl", "r_multiple")
    )
    grades: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = defaultdict(dict)
    for grade, tag_list, pnl, r_multiple in rows.iterator(chunk_size=5000):
        targets = []
        if grade:
            targets.append(grades.setdefault(grade, _row("grade", grade)))
        for tag in tag_list or []:
            targets.append(tags.setdefault(tag, _row("tag", tag)))
        for target in targets:
            target["trades"] += 1
            target["wins"] += 1 if pnl > 0 else 0
            target["net_pnl"] += pnl
            if r_multiple is not None:
                target["r_trades"] += 1
                target["r_sum"] += r_multiple
    return {
        "by_grade": [_finish(grades[g]) for g in sorted(grades)],
        "by_tag": sorted(
            (_finish(t) for t in tags.values()), key=lambda t: (-t["net_pnl"], t["tag"])
        ),
    }


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    row["win_rate"] = performance.ratio(row["wins"], row["trades"])
    row["expectancy"] = performance.ratio(row["net_pnl"], row["trades"])
    row["expectancy_r"] = performance.ratio(row.pop("r_sum"), row["r_trades"])
    return row
