"""The journal in the admin: the trade list and page, reviews, export, the quarantine.

trades      TradeAdmin (the list, the trade's page, review actions) and the dashboard URL
support     the list's paginator and changelist, the review form, display helpers
filters     the list filters (cheap on millions of rows)
views       the flag and export views of the trade list
dashboard   the performance dashboard page (its figures: journal.analytics)
quarantine  the worklist of quarantined spool lines
instruments what the desk trades (risk managers keep them)
statements  broker statements: upload, dry run, import (journal.statements)
notes       daily notes (the plan, the review) and the weekly recap (journal.notes)
"""

from journal.admin import (  # noqa: F401 - they register admins
    instruments,
    notes,
    quarantine,
    statements,
    trades,
)
