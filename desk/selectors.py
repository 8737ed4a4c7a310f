"""The desk's reads: the chain prediction → idea → decisions → trade → review, from the
desk's side, and the confidence an idea's prediction gives it.

An idea names the prediction it came from (``prediction_id``, the serving app's
``<record id>-<row>``); a trade names the idea that caused it (``idea_id``). Neither is
a database foreign key: the records live in other apps' hypertables, kept for their own
retention. The predictions are read through backoffice.core.extensions (serving provides
them; the desk never imports serving): without serving, the ids stay unresolved.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet

from backoffice.core import extensions
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


def idea_sources(*, idea_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """idea pk -> (the prediction id it cites, the model version it names), for the
    ideas of ``idea_ids``."""
    return {
        pk: (prediction_id, label)
        for pk, prediction_id, label in TradeIdea.objects.filter(pk__in=set(idea_ids)).values_list(
            "pk", "prediction_id", "model_version"
        )
    }


def idea_prediction(*, idea: TradeIdea):
    """The recorded prediction ``idea`` came from (serving.live.record_reads.RecordedPrediction),
    or None: it names none, or it was not recorded (sampled out, past the retention)."""
    if not idea.prediction_id:
        return None
    return extensions.find_prediction(idea.prediction_id)


@dataclass(frozen=True)
class CitedConfidence:
    """The confidence the prediction an idea cites gives the idea's direction, or why
    there is none (``confidence`` None: not recorded, not a probability)."""

    confidence: Decimal | None
    why_not: str = ""
    model_version: str = ""


# A prediction is recorded within about a second of its answer (the recorder's flush): an
# idea citing one made just before waits for it this long, in steps.
CITATION_WAIT = timedelta(seconds=1.5)
CITATION_STEP = 0.1


def cited_confidence(*, idea: TradeIdea, now: datetime) -> CitedConfidence | None:
    """What the prediction ``idea`` cites says about it: the probability that the idea's
    direction wins. A model that predicts a trade's win gives it as it is; one that
    predicts the price going up gives a short its complement. None when the idea cites
    no prediction."""
    if not idea.prediction_id:
        return None
    if not extensions.prediction_made_at.provided:
        return CitedConfidence(None, "predictions are not served here")
    made = extensions.prediction_made_at(idea.prediction_id)
    if made is None:
        return CitedConfidence(None, "not a prediction id of this back office")
    found = idea_prediction(idea=idea)
    waited_until = made + CITATION_WAIT
    while found is None and now - timedelta(seconds=5) <= made <= now and _now() < waited_until:
        time.sleep(CITATION_STEP)
        found = idea_prediction(idea=idea)
    if found is None:
        return CitedConfidence(
            None,
            "the prediction it cites is not recorded (sampled out, "
            "past the retention, or not written yet)",
        )
    version = found.record.model_version
    label = f"{version.model.name}@{version.version}"
    output = found.output
    if version.output_kind != "probability" or output is None:
        return CitedConfidence(None, f"{label} predicts a value, not a probability", label)
    probability = Decimal(str(output))
    if version.model.positive_class == "up" and idea.direction == "short":
        probability = 1 - probability
    confidence = probability.quantize(Decimal("0.0001"))
    return CitedConfidence(min(max(confidence, Decimal(0)), Decimal(1)), "", label)


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def ideas_of_record(*, record_id: uuid.UUID, rows: int | None = None) -> list[TradeIdea]:
    """The ideas that name one of a recorded request's predictions."""
    prefix = f"{record_id.hex}-"
    if rows is not None and rows <= EXACT_IDS_UP_TO:
        ideas = TradeIdea.objects.filter(prediction_id__in=[f"{prefix}{n}" for n in range(rows)])
    else:
        ideas = TradeIdea.objects.filter(prediction_id__startswith=prefix)
    return list(ideas.order_by("id")[:100])
