"""Links between the dashboard and the trade list: the same filters, by the same names.

A calendar day opens the trade list of the trades that closed that day, and its daily
notes; a breakdown row opens the trades it counts; the list opens the dashboard with its
filters. Both pages name their filters alike (journal.admin.dashboard_figures.FILTERS:
symbol, strategy, account, side, model_version, tag, mistake, grade, with "__none__"
for an empty strategy or account and for no grade), so a link carries them as they are.
The dashboard counts a trade on the UTC day it closed: its days become the list's
close-time range (closed_from / closed_to, both days included).

Daily notes are their own pages (/admin/journal/dailynote/?day=YYYY-MM-DD): linked from
a calendar day and from the list of one day's trades.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import QueryDict
from django.urls import reverse

from journal.admin.dashboard_figures import FILTERS

# The dashboard's breakdowns, by the list filter that opens a row's trades.
ROW_FILTERS = {
    "strategy": "strategy",
    "symbol": "symbol",
    "side": "side",
    "weekday": "weekday",
    "hour": "hour",
    "grade": "grade",
    "tag": "tag",
    "mistake": "mistake",
}


def trade_list_url(filters: dict[str, str], since: date | None, until: date | None) -> str:
    """The trade list of ``filters`` (the list's parameters) and the trades closed from
    ``since`` to before ``until`` (days, UTC; either may be None)."""
    query = QueryDict(mutable=True)
    for name, value in filters.items():
        query[name] = value
    if since is not None:
        query["closed_from"] = since.isoformat()
    if until is not None:
        query["closed_to"] = (until - timedelta(days=1)).isoformat()
    url = reverse("admin:journal_trade_changelist")
    return f"{url}?{query.urlencode()}" if query else url


def notes_url(day: date) -> str:
    """The daily notes of ``day`` (the notes' own pages, under the journal's admin)."""
    query = QueryDict(mutable=True)
    query["day"] = day.isoformat()
    return f"{reverse('admin:index')}journal/dailynote/?{query.urlencode()}"


def dashboard_query(params: QueryDict) -> str:
    """The trade list's filters as the dashboard's query string ("" for none): its
    shared filters, and a close-time range of whole days as the period."""
    query = QueryDict(mutable=True)
    for name in FILTERS:
        value = params.get(name)
        if value:
            query[name] = value
    since, until = params.get("closed_from"), params.get("closed_to")
    if since or until:
        query["period"] = "custom"
        if since:
            query["since"] = since
        if until:
            query["until"] = until
    return f"?{query.urlencode()}" if query else ""


def notes_day(params: QueryDict) -> date | None:
    """The day of a list of one day's closed trades (closed_from = closed_to), else
    None: the list then links that day's notes."""
    since, until = params.get("closed_from"), params.get("closed_to")
    if not since or since != until:
        return None
    try:
        return date.fromisoformat(since)
    except ValueError:
        return None  # the filter itself says what is wrong with the date
