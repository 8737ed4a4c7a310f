"""Champion and challenger side by side (serving.live.challenger_routing): on the same
live rows, and each by its own live figures (serving.live.figures).

The same rows: each answer recorded beside a challenger has a shadow record of the other
version's scores of its rows (``shadow_of``). Over the period's pairs (at most
MAX_PAIRS, the newest), per row: ``agreement`` is the share of rows where both sides
fall on the same side of 0.5 (probabilities; for values, the share whose difference is
within 1 % of the champion's magnitude, at least 1e-9), ``mean_abs_difference`` the mean
of |champion - challenger|. Rows where either side gave no number are left out.

The same trades: the closed trades that came from a row both versions scored (the one
that answered, and the other in shadow). Each version's calibration over just those
trades, with its own probability for the row, judges the two on the same outcomes: a
shadow challenger, which causes no trade, is judged by the trades its champion's
answers caused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from models_registry.models import ModelAlias, ModelVersion, OutputKind
from serving.live.figures import Performance, live_trades, versions_performance
from serving.live.judging import Calibration, calibration
from serving.live.recorder import record_time
from serving.models import PredictionRecord

MAX_PAIRS = 20_000


@dataclass(frozen=True)
class Agreement:
    pairs: int = 0  # answers with a shadow beside them
    rows: int = 0  # rows both sides scored
    agreement: float | None = None
    mean_abs_difference: float | None = None
    max_abs_difference: float | None = None


@dataclass
class Comparison:
    alias: ModelAlias
    champion: Performance
    challenger: Performance
    same_rows: Agreement
    # Each one's calibration over the trades of rows both scored (None: not probabilities).
    champion_same_trades: Calibration | None = None
    challenger_same_trades: Calibration | None = None

    def as_dict(self) -> dict:
        return {
            "model": self.alias.model.name,
            "alias": self.alias.name,
            "mode": self.alias.challenger_mode,
            "share": self.alias.challenger_share,
            "champion": self.champion.as_dict(),
            "challenger": self.challenger.as_dict(),
            "same_rows": self.same_rows.__dict__,
            "same_trades": {
                "champion": _calibration(self.champion_same_trades),
                "challenger": _calibration(self.challenger_same_trades),
            },
        }


def _calibration(value: Calibration | None) -> dict | None:
    return None if value is None else value.as_dict()


def compare(
    *, alias: ModelAlias, days: int | None = None, now: datetime | None = None
) -> Comparison:
    """``alias``'s champion and challenger over the last ``days`` (MODEL_HEALTH_WINDOW_DAYS)."""
    champion, challenger = alias.version, alias.challenger
    until = now or timezone.now()
    since = until - timedelta(days=days or settings.MODEL_HEALTH_WINDOW_DAYS)
    judged = versions_performance(versions=[champion, challenger], days=days, now=until)
    ours, theirs = same_trades(champion=champion, challenger=challenger, since=since, until=until)
    return Comparison(
        alias=alias,
        champion=judged[champion.pk],
        challenger=judged[challenger.pk],
        same_rows=agreement(champion=champion, challenger=challenger, since=since, until=until),
        champion_same_trades=ours,
        challenger_same_trades=theirs,
    )


def evidence_rows(
    *, champion: ModelVersion, challenger: ModelVersion, now: datetime | None = None
) -> int:
    """The live rows ``challenger`` and ``champion`` both scored in the health window
    (the comparison's same rows: the shadow's, or the canary's): what a promotion of
    the challenger rests on (models_registry.challengers.challenger_promote)."""
    until = now or timezone.now()
    since = until - timedelta(days=settings.MODEL_HEALTH_WINDOW_DAYS)
    return agreement(champion=champion, challenger=challenger, since=since, until=until).rows


def same_trades(
    *, champion: ModelVersion, challenger: ModelVersion, since: datetime, until: datetime
) -> tuple[Calibration | None, Calibration | None]:
    """Each version's calibration over the closed trades of rows both scored."""
    if not (_probability(champion) or _probability(challenger)):
        return None, None
    live = live_trades(versions=[champion, challenger], since=since, until=until)
    trades = [
        (version.pk, trade)
        for version in (champion, challenger)
        for trade in live.get(version.pk, [])
        if trade.prediction is not None and trade.probability is not None
    ]
    pairs: dict[int, list] = {champion.pk: [], challenger.pk: []}
    answers = {trade.prediction[0] for _, trade in trades}
    shadows = {}
    if answers:
        times = [record_time(record) for record in answers]
        shadows = {
            answer: (version_pk, outputs)
            for answer, version_pk, outputs in PredictionRecord.objects.filter(
                shadow_of__in=answers,
                model_version_id__in=[champion.pk, challenger.pk],
                requested_at__gte=min(times),
                requested_at__lte=max(times),
            ).values_list("shadow_of", "model_version_id", "outputs")
        }
    for answered_by, trade in trades:
        found = shadows.get(trade.prediction[0])
        if found is None or found[0] == answered_by:
            continue
        row, outputs = trade.prediction[1], found[1]
        if not isinstance(outputs, list) or row >= len(outputs) or outputs[row] is None:
            continue
        won = trade.pnl > 0
        pairs[answered_by].append((trade.probability, won))
        pairs[found[0]].append((float(outputs[row]), won))
    return (
        calibration(pairs[champion.pk]) if _probability(champion) else None,
        calibration(pairs[challenger.pk]) if _probability(challenger) else None,
    )


def _probability(version: ModelVersion) -> bool:
    return version.output_kind == OutputKind.PROBABILITY


def agreement(
    *, champion: ModelVersion, challenger: ModelVersion, since: datetime, until: datetime
) -> Agreement:
    """How the two versions' scores of the same recorded rows compare (see the module)."""
    both = {champion.pk, challenger.pk}
    shadows = list(
        PredictionRecord.objects.filter(
            shadow_of__isnull=False,
            model_version_id__in=both,
            requested_at__gte=since,
            requested_at__lt=until,
        )
        .order_by("-requested_at")
        .values_list("shadow_of", "model_version_id", "outputs")[:MAX_PAIRS]
    )
    if not shadows:
        return Agreement()
    answers = {
        pk: (version_pk, outputs)
        for pk, version_pk, outputs in PredictionRecord.objects.filter(
            pk__in=[s[0] for s in shadows],
            requested_at__gte=since - timedelta(seconds=1),
            requested_at__lt=until,
        ).values_list("pk", "model_version_id", "outputs")
    }
    ours, theirs, pairs = [], [], 0
    for answer_id, shadow_version, shadow_outputs in shadows:
        found = answers.get(answer_id)
        if found is None or {found[0], shadow_version} != both:
            continue
        answer_version, answer_outputs = found
        if not isinstance(answer_outputs, list) or not isinstance(shadow_outputs, list):
            continue
        pairs += 1
        by_version = {answer_version: answer_outputs, shadow_version: shadow_outputs}
        for a, b in zip(by_version[champion.pk], by_version[challenger.pk], strict=False):
            if a is not None and b is not None:
                ours.append(a)
                theirs.append(b)
    if not ours:
        return Agreement(pairs=pairs)
    a, b = np.array(ours, dtype=np.float64), np.array(theirs, dtype=np.float64)
    difference = np.abs(a - b)
    if champion.output_kind == OutputKind.PROBABILITY:
        agree = (a >= 0.5) == (b >= 0.5)
    else:
        agree = difference <= np.maximum(np.abs(a) * 0.01, 1e-9)
    return Agreement(
        pairs=pairs,
        rows=len(a),
        agreement=float(agree.mean()),
        mean_abs_difference=float(difference.mean()),
        max_abs_difference=float(difference.max()),
    )
