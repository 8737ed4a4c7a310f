"""A trade's own figures as database expressions: its R-multiple and its holding time.

The trade list sorts by them (TradeAdmin: the columns R and held), and the database
keeps an index of each expression (journal.models.Trade.Meta.indexes, migration
journal/0018), so that "the best R of the last 30 days" is a walk down an index, not a
sort of every trade. The expressions here are the ones those indexes are built on: a
query that sorts by another spelling of the same figure would not use them.

- R-multiple: journal.domain.r_multiple's definition (the price move in the trade's
  favour over its initial risk), written as an ORM expression; None while open, without
  a stop, or with the stop at or on the wrong side of the entry.
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
    Q,
    When,
)


def r_multiple_expression():
    """The trade's R-multiple as an ORM expression (NULL where it has none): the rule of
    journal.domain.r_multiple (a long's stop below the entry, a short's above)."""
    return Case(
        When(
            Q(side="long", stop_loss__lt=F("entry_price")),
            then=(F("exit_price") - F("entry_price")) / (F("entry_price") - F("stop_loss")),
        ),
        When(
            Q(side="short", stop_loss__gt=F("entry_price")),
            then=(F("entry_price") - F("exit_price")) / (F("stop_loss") - F("entry_price")),
        ),
        default=None,
        output_field=DecimalField(max_digits=40, decimal_places=20),
    )


def holding_expression():
    """How long the trade was held, closed_at - executed_at (NULL while open)."""
    return ExpressionWrapper(F("closed_at") - F("executed_at"), output_field=DurationField())
