"""The R-multiple: a trade's result in units of its initial risk (Van Tharp), the one
definition of the project (pure: no Django).

    R = the price move in the trade's favour / the initial risk per unit

- the move: exit - entry for a long, entry - exit for a short;
- the initial risk per unit: entry - stop for a long, stop - entry for a short.

Per unit: no point value, so EURUSD and gold compare; fees are not in it.

A trade has no R while it is open, without a stop, with its stop at the entry, or with
its stop on the wrong side of the entry (a long's stop above it, a short's below). Such
a stop risked nothing that R could measure: dividing by |entry - stop| would make a
trade whose stop was moved into profit, or mistyped, look like a planned one. Capture
refuses those stops (journal.domain.trade_record); trades stored before that, or written
by SQL, simply have no R.

The same rule is written three times, once per place that computes it, and
tests/journal/test_r_multiple.py holds them equal (hypothesis, on every database):

- ``r_multiple`` here, in Python: the trade page, the export, positions, excursions in R,
  the weekly recap, serving's live judging of model versions;
- ``R_SQL`` here, as SQL text: journal.analytics.aggregates builds the daily rows, the
  continuous aggregates and the reports from it;
- journal.analytics.trade_figures.r_multiple_expression, as an ORM expression: the trade
  list sorts by it and the database indexes it (journal migration 0018).
"""

from __future__ import annotations

from decimal import Decimal


def initial_risk(side: str, entry: Decimal, stop: Decimal | None) -> Decimal | None:
    """The trade's initial risk per unit (> 0), or None: no stop, a stop at the entry or
    on the wrong side of it."""
    if stop is None:
        return None
    risk = entry - stop if side == "long" else stop - entry
    return risk if risk > 0 else None


def r_multiple(
    side: str, entry: Decimal, exit_price: Decimal | None, stop: Decimal | None
) -> Decimal | None:
    """The trade's R, or None (open, or no initial risk: see initial_risk)."""
    risk = initial_risk(side, entry, stop)
    if risk is None or exit_price is None:
        return None
    move = exit_price - entry if side == "long" else entry - exit_price
    return move / risk


def why_no_r(side: str, entry: Decimal, exit_price: Decimal | None, stop: Decimal | None) -> str:
    """Why the trade has no R ("" when it has one), in the words a page shows."""
    if stop is None:
        return "no initial stop recorded"
    if stop == entry:
        return "the initial stop is at the entry"
    if initial_risk(side, entry, stop) is None:
        return f"the stop is on the wrong side of a {side}'s entry"
    if exit_price is None:
        return "open"
    return ""


# The same R in SQL (PostgreSQL, TimescaleDB and SQLite), over a row's unqualified
# columns: NULL where r_multiple is None (a NULL stop or exit fails every branch).
R_SQL = (
    "(CASE WHEN side = 'long' AND stop_loss < entry_price "
    "THEN 1.0 * (exit_price - entry_price) / (entry_price - stop_loss) "
    "WHEN side = 'short' AND stop_loss > entry_price "
    "THEN 1.0 * (entry_price - exit_price) / (stop_loss - entry_price) END)"
)
