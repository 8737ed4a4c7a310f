"""A trade's own figures as database expressions: its R-multiple and its holding time.

The trade list sorts by them (TradeAdmin: the columns R and held), and the database
keeps an index of each expression (journal.models.Trade.Meta.indexes, migration
journal/0018), so that "the best R of the last 30 days" is a walk down an index, not a
sort of every trade. The expressions here are the ones those indexes are built on: a
query that sorts by another spelling of the same figure would not use them.

- R-multiple: the price move in the trade's favour over its initial risk
  |entry - stop| (Van Tharp's, per unit: as journal.analytics.performance.r_multiple in
  Python, which the pages show, and as the aggregates' SQL); None while open, without a
  stop, or with the stop at the entry.
- holding time: closed_at - executed_at (an interval; None while open).

tests/admin/test_trade_list_sorting.py holds the order the database gives to the
figures the page shows (a hypothesis property).
"""

from __future__ import annotations

from django.db.models import (
    Case,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    When,
)


def r_multiple_expression():
    """The trade's R-multiple as SQL (NULL where it has none)."""
    move = Case(
        When(side="long", then=F("exit_price") - F("entry_price")),
        default=F("entry_price") - F("exit_price"),
    )
    risk = Func(F("entry_price") - F("stop_loss"), function="ABS")
    # A stop below or above the entry: both say "there is a stop, and not at the entry".
    has_risk = Q(stop_loss__lt=F("entry_price")) | Q(stop_loss__gt=F("entry_price"))
    return Case(
        When(has_risk, then=move / risk),
        default=None,
        output_field=DecimalField(max_digits=40, decimal_places=20),
    )


def holding_expression():
    """How long the trade was held, closed_at - executed_at (NULL while open)."""
    return ExpressionWrapper(F("closed_at") - F("executed_at"), output_field=DurationField())
