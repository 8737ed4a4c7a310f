"""The trade list's sorts by a trade's figures: P&L, R-multiple, holding time, close time.

The list is newest first by the time a trade was opened (executed_at, the hypertable's
partition column, whose index serves any page). A trader also sorts by P&L ("today's
worst trades"), by R, by how long a trade was held and by when it closed. Those sorts
walk an index of their own (journal/0018: P&L, and expression indexes of R and holding
time; closed_at's), and they read one period at a time: on TimescaleDB a chunk older
than JOURNAL_COMPRESS_AFTER_DAYS is compressed and has no index, so a sort over all
history would decompress every old chunk. So:

- a sort by one of these figures lists only the trades that have it (an open trade has
  no P&L, no close time and no holding time; a trade without an initial stop has no R),
  and the page says so;
- such a sort without a period of the execution-time or close-time filter is sent to
  the same list with BOUND_PERIOD ("last 30 days") added to its URL, which the filter
  then shows as chosen; any other period (From / To included) may be picked after.

bench/admin.py times each sort at a million trades, with and without its index.
"""

from __future__ import annotations

from django.http import QueryDict

# The list's sort fields (admin_order_field of its columns) that are a trade's figure,
# with what the page says about them.
FIGURE_SORTS = {
    "pnl": "P&L",
    "r_multiple": "R-multiple",
    "holding": "holding time",
    "closed_at": "close time",
}
WITHOUT = {
    "pnl": "open trades have none",
    "r_multiple": "open trades and trades without an initial stop have none",
    "holding": "open trades have none",
    "closed_at": "open trades have none",
}
BOUND_PARAMETER = "executed"
BOUND_PERIOD = "30d"
# Any of these in the query string bounds the list in time.
TIME_PARAMETERS = (
    "executed",
    "executed_from",
    "executed_to",
    "closed",
    "closed_from",
    "closed_to",
)


def figure_sorts(order: str, list_display) -> list[str]:
    """The figure fields that ``order`` (the list's ``o`` parameter, e.g. "3.-1") sorts
    by, read as Django's ChangeList reads it: indexes into the list's columns."""
    found = []
    for part in (order or "").split("."):
        _, _, index = part.rpartition("-")
        if not index.isdigit() or int(index) >= len(list_display):
            continue
        found.append(list_display[int(index)])
    return [name for name in found if name in FIGURE_SORTS]


def bounded_url(path: str, query: QueryDict) -> str | None:
    """The URL with BOUND_PERIOD added when ``query`` sorts by a figure and has no
    period; None when it needs nothing."""
    if any(query.get(name) for name in TIME_PARAMETERS):
        return None
    bounded = query.copy()
    bounded[BOUND_PARAMETER] = BOUND_PERIOD
    bounded.pop("p", None)  # a page number of the unbounded list means nothing here
    return f"{path}?{bounded.urlencode()}"


def column_sorts(model_admin, request) -> list[str]:
    """The names of the columns as the changelist numbers them (its ``o`` indexes):
    the action checkbox first where the list has actions."""
    columns = list(model_admin.get_list_display(request))
    if model_admin.get_actions(request):
        columns.insert(0, "action_checkbox")
    return [getattr(getattr(model_admin, c, None), "admin_order_field", c) for c in columns]


def order_note(sorts: list[str]) -> str:
    """What the page says above a list sorted by figures ("" for none)."""
    if not sorts:
        return ""
    names = " and ".join(FIGURE_SORTS[s] for s in sorts)
    reasons = "; ".join(WITHOUT[s] for s in dict.fromkeys(sorts))
    return (
        f"Sorted by {names}: only the trades that have one are listed ({reasons}). "
        "A sort by a trade's figure reads one period at a time (the last 30 days unless "
        "another is chosen in the filter)."
    )
