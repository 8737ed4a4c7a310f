"""Demo of the loop for `manage.py demo`: predictions recorded for the demo models,
trade ideas that name them, and the trades those ideas caused, so that each production
version has live figures (trades, calibration, traffic, drift) on its registry page and
in the model-health list.

Runs after the registry's demo (the apps' order): its models must exist. The XGBoost
model's trades win as often as it predicts (calibrated, its inputs like its training
data); the LightGBM model's inputs are shifted (a spread and an RSI that training never
saw) and its trades win a third of the time whatever it says: the health list marks it
for drift and calibration. Idempotent: once its records exist it keeps them.

Like the desk's demo, each idea is replayed at its prediction's moment (in the markets'
hours over the last DAYS days: the clock the desk reads is set to it), at the open of
that hour's EURUSD bar (journal.demo), its trade on the engine's own account.

Champion and challenger: the XGBoost model's version 2 (the registry's demo trains it
without two of the signals) shadows its production version, so every recorded request
is scored by both and the comparison page (Model health → its challenger) shows them
side by side on the same rows and the same trades; promoting it is a breaking move the
page asks to confirm.
"""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import numpy as np
from django.utils import timezone

from desk.models import IdeaStatus, TradeIdea
from desk.services import DeskError, forget_pnl_history, idea_submit
from journal import demo as journal_demo
from journal.instruments import CATALOGUE
from journal.write.capture import record_trades
from models_registry.challengers import challenger_set
from models_registry.demo import DEMO_NAME
from models_registry.models import ChallengerMode, ModelAlias
from models_registry.services import RegistryError
from models_registry.training import SYNTHETIC_FEATURES, synthetic_dataset
from serving import runtime
from serving.models import PredictionRecord
from serving.services import prediction_make

logger = logging.getLogger(__name__)

PREDICTIONS = 120  # per model, one row each, as a bot asks
DAYS = 4
IDEAS = 90  # of them proposed as trade ideas
SYMBOL = "EURUSD"
LOTS = Decimal("0.1")
# The engine's own account (the desk's demo keeps desk-main's balance to its trades).
ACCOUNT = "ai-engine"
EXECUTED = {IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED}


def seed() -> str:
    aliases = {
        alias.model.name: alias.version
        for alias in ModelAlias.objects.filter(
            name="production",
            model__name__in=[f"{DEMO_NAME}-xgboost", f"{DEMO_NAME}-lightgbm"],
        ).select_related("model", "version__model")
    }
    if not aliases:
        return "no demo model to predict with"
    if PredictionRecord.objects.filter(model_version__in=aliases.values()).exists():
        return "kept the recorded predictions, ideas and trades"
    challenger = _challenger()
    background, runtime.recorder.background = runtime.recorder.background, False
    shadows, runtime.shadows.background = runtime.shadows.background, False
    # A line per prediction is the access log of a served request; the demo's loop
    # logs its summary once instead (below).
    predictions_logger = logging.getLogger("serving.predictions")
    level = predictions_logger.level
    predictions_logger.setLevel(logging.WARNING)
    try:
        lines = [
            _loop(name, version, drifted=name.endswith("lightgbm"), seed=n)
            for n, (name, version) in enumerate(sorted(aliases.items()))
        ]
    finally:
        predictions_logger.setLevel(level)
        runtime.recorder.background = background
        runtime.shadows.background = shadows
    logger.info("demo predictions made", extra={"summary": lines})
    return "; ".join([*lines, challenger])


def _challenger() -> str:
    """trade-outcome-xgboost's version 2 as the shadow challenger of its production."""
    alias = (
        ModelAlias.objects.filter(model__name=f"{DEMO_NAME}-xgboost", name="production")
        .select_related("model", "version")
        .first()
    )
    if alias is None:
        return "no challenger: no XGBoost demo model"
    if alias.challenger_id:
        return f"kept {alias}'s challenger"
    candidate = alias.model.versions.exclude(pk=alias.version_id).order_by("-version").first()
    if candidate is None:
        return f"no challenger: {alias.model.name} has one version"
    try:
        challenger_set(
            model=alias.model,
            alias=alias.name,
            version=candidate,
            mode=ChallengerMode.SHADOW,
            expected_version=alias.version,
            expected_challenger=alias.challenger,
            reason="does it need rsi_14 and macd_hist? shadow it on live requests",
        )
    except RegistryError as exc:
        return f"no challenger: {exc}"
    runtime.resolver.forget()  # this process serves the demo's predictions next
    return f"{alias}: version {candidate.version} shadows version {alias.version.version}"


@contextmanager
def _clock(moment: datetime):
    """The clock the desk's services and created_at read, at ``moment`` (as the desk's
    demo replays its ideas): an idea and its decisions carry its prediction's time."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _moments(rng: random.Random, now: datetime) -> list[datetime]:
    """PREDICTIONS moments over the last DAYS days, in the markets' hours (weekdays,
    07:00 to 19:00 UTC), each its own second, and none the second of an idea already
    made (the desk's demo draws its own moments from its own clock reading)."""
    taken = {moment.replace(microsecond=0) for moment in _idea_times()}
    moments: set[datetime] = set()
    while len(moments) < PREDICTIONS:
        moment = (now - timedelta(seconds=rng.randint(3600, DAYS * 86400))).replace(microsecond=0)
        if moment.weekday() < 5 and 7 <= moment.hour < 19 and moment not in taken:
            moments.add(moment)
    return sorted(moments)


def _idea_times() -> list[datetime]:
    return list(TradeIdea.objects.values_list("created_at", flat=True))


def _loop(name: str, version, *, drifted: bool, seed: int) -> str:
    rows = synthetic_dataset(rows=PREDICTIONS, seed=100 + seed).x
    if drifted:  # the market moved: wider spreads, a higher RSI than in training
        columns = {f: i for i, f in enumerate(SYNTHETIC_FEATURES)}
        rows[:, columns["spread_bps"]] += 3.0
        rows[:, columns["rsi_14"]] = np.clip(rows[:, columns["rsi_14"]] + 20, 0, 100)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    moments = _moments(rng, now)
    answers = [
        prediction_make(
            model=name,
            alias="production",
            version=None,
            body={"inputs": [row.tolist()]},
            caller=("ai-engine", ""),
            requested_at=moment,
        )
        for moment, row in zip(moments, rows, strict=True)
    ]
    shadowed = runtime.shadows.drain()
    recorded = runtime.recorder.flush()
    bars = journal_demo.hourly_bars(SYMBOL, now=now)
    market = journal_demo.MARKETS[SYMBOL]
    point_value = Decimal(CATALOGUE[SYMBOL][7])
    fees = (market.commission * LOTS).quantize(Decimal("0.01"))
    trades, ideas = [], 0
    for n, (moment, answer) in enumerate(zip(moments[:IDEAS], answers, strict=False)):
        probability = answer.predictions[0]
        direction = rng.choice(("long", "short"))
        sign = 1 if direction == "long" else -1
        # The open of the hour's bar; the stop a third of a typical day's range away.
        entry = next(
            (b[1] for b in bars if b[0] <= moment < b[0] + timedelta(hours=1)), bars[-1][4]
        )
        places = Decimal(1).scaleb(entry.as_tuple().exponent)
        step = (entry * Decimal(str(market.daily_vol * 0.3))).quantize(places)
        idea = TradeIdea(
            symbol=SYMBOL,
            direction=direction,
            entry_price=entry,
            stop_loss=entry - sign * step,
            take_profit=journal_demo.on_tick(entry + sign * step * Decimal("2.5"), SYMBOL),
            lot_size=LOTS,
            confidence_score=Decimal("0.80"),
            rationale=f"{name} gives {probability:.2f}",
            model_version=f"{name}@{version.version}",
            prediction_id=answer.prediction_ids[0],
            snapshot_ref=f"demo:{name}:{n}",
        )
        # The gate's P&L checkpoint is of today: at an earlier day it is read again.
        forget_pnl_history()
        try:
            with _clock(moment):
                idea, _ = idea_submit(idea=idea, actor="api-key:ai-engine")
        except DeskError:
            continue
        ideas += 1
        if idea.status not in EXECUTED:
            continue
        chance = 1 / 3 if drifted else probability
        won = rng.random() < chance
        exit_price = idea.take_profit if won else idea.stop_loss
        opened = moment + timedelta(minutes=1)
        pnl = (exit_price - entry) * sign * LOTS * point_value - fees
        trades.append(
            {
                "trade_id": f"LOOP-{name}-{n:03d}",
                "executed_at": opened.isoformat(),
                "closed_at": (opened + timedelta(minutes=rng.randint(20, 180))).isoformat(),
                "symbol": SYMBOL,
                "side": direction,
                "quantity": str(LOTS),
                "entry_price": str(entry),
                "exit_price": str(exit_price),
                "fees": str(fees),
                "pnl": str(pnl.quantize(Decimal("0.01"))),
                "stop_loss": str(idea.stop_loss),
                "strategy": "trend-follow",
                "account": ACCOUNT,
                "model_version": f"{name}@{version.version}",
                "confidence": f"{probability:.4f}",
                "idea_id": idea.pk,
            }
        )
    created = record_trades(trades, source="demo").created if trades else 0
    forget_pnl_history()  # and of today again after these trades
    return (
        f"{name}: {len(answers)} predictions ({recorded - shadowed} recorded"
        + (f", {shadowed} scored by its challenger" if shadowed else "")
        + f"), {ideas} ideas naming them, {created} trades from the executed ones"
    )
