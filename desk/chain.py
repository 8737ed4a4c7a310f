"""Reads of the chain prediction → idea → decisions → trade → review, from the desk's side.

An idea names the prediction it came from (``prediction_id``, the serving app's
``<record id>-<row>``); a trade names the idea that caused it (``idea_id``). Neither is
a database foreign key: the records live in other apps' hypertables, kept for their own
retention. The serving app is optional here (its absence leaves the ids unresolved).
"""

from __future__ import annotations

import uuid

from django.apps import apps
from django.db.models import QuerySet

from desk.models import TradeIdea
from journal.models import Trade

# A request with more rows than this is searched by prefix, not by every row's id.
EXACT_IDS_UP_TO = 1000


def idea_trades(*, idea: TradeIdea, limit: int = 100) -> QuerySet[Trade]:
    """The trades that name ``idea`` (journal_trade_idea_idx), oldest first."""
    return (
        Trade.objects.filter(idea_id=idea.pk)
        .select_related("review")
        .order_by("executed_at", "id")[:limit]
    )


def idea_prediction(*, idea: TradeIdea):
    """The recorded prediction ``idea`` came from (serving.records.RecordedPrediction),
    or None: it names none, or it was not recorded (sampled out, past the retention)."""
    if not idea.prediction_id or not apps.is_installed("serving"):
        return None
    from serving.records import prediction_find

    return prediction_find(prediction_id=idea.prediction_id)


def ideas_of_record(*, record_id: uuid.UUID, rows: int | None = None) -> list[TradeIdea]:
    """The ideas that name one of a recorded request's predictions."""
    prefix = f"{record_id.hex}-"
    if rows is not None and rows <= EXACT_IDS_UP_TO:
        ideas = TradeIdea.objects.filter(prediction_id__in=[f"{prefix}{n}" for n in range(rows)])
    else:
        ideas = TradeIdea.objects.filter(prediction_id__startswith=prefix)
    return list(ideas.order_by("id")[:100])
