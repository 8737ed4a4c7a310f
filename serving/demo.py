"""Demo of the loop for `manage.py demo`: predictions recorded for the demo models,
trade ideas that name them, and the trades those ideas caused, so that each production
version has live figures (trades, calibration, traffic, drift) on its registry page and
in the model-health list.

Runs after the registry's demo (the apps' order): its models must exist. The XGBoost
model's trades win as often as it predicts (calibrated, its inputs like its training
data); the LightGBM model's inputs are shifted (a spread and an RSI that training never
saw) and its trades win a third of the time whatever it says: the health list marks it
for drift and calibration. Idempotent: once its records exist it keeps them.

Like the desk's demo, each idea is replayed at its prediction's moment (in the newer half
of the demo's trading hours, desk.demo.trading_hours: the clock the desk reads is set to
it, and the market feed has stored the bars up to it and no further), at the open of
that hour's EURUSD bar (journal.demo), its trade on the engine's own account. The engine
proposes the setups its model gives even odds or better, each idea taking its
prediction's probability as its confidence.

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

from backoffice.core.ops.logconf import quieter
from desk.demo import TRADING_HOURS, MarketFeed, moment_in, trading_hours
from desk.models import IdeaStatus, TradeIdea
from desk.services import DeskError, forget_pnl_history, idea_submit
from journal import demo as journal_demo
from journal.instruments import CATALOGUE
from journal.write.capture import record_trades
from models_registry.challengers import challenger_set
from models_registry.demo import DEMO_NAME
from models_registry.errors import RegistryError
from models_registry.models import ChallengerMode, ModelAlias
from models_registry.training import SYNTHETIC_FEATURES, synthetic_dataset
from serving.models import PredictionRecord
from serving.predict.runtime import current
from serving.predict.services import prediction_make

logger = logging.getLogger(__name__)

PREDICTIONS = 120  # per model, one row each, as a bot asks
IDEAS = 90  # of them looked at as trade ideas
PROPOSE_FROM = 0.5  # proposed when the model gives the setup at least this
SYMBOL = "EURUSD"
LOTS = Decimal("0.1")
# The engine's own account (the desk's demo keeps desk-main's balance to its trades).
ACCOUNT = "ai-engine"
EXECUTED = {IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED}


def seed(now: datetime | None = None) -> str:
    rt = current()
    now = now or datetime.now(UTC)
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
    feed = MarketFeed(now)
    background, rt.recorder.background = rt.recorder.background, False
    shadows, rt.shadows.background = rt.shadows.background, False
    # A line per prediction (and per trade) is the log of a served request; the demo's
    # loop logs its summary once instead (below).
    quiet = quieter("serving.predictions", "journal.write.capture")
    quiet.__enter__()
    try:
        loops = [
            _Loop(name, version, drifted=name.endswith("lightgbm"), seed=n, now=now)
            for n, (name, version) in enumerate(sorted(aliases.items()))
        ]
        # Every model's ideas in one timeline: the market feed is replayed in order.
        timeline = sorted(
            (
                (moment, index, n, answer)
                for index, model_loop in enumerate(loops)
                for n, (moment, answer) in enumerate(model_loop.proposals())
            ),
            key=lambda event: event[:3],
        )
        for moment, index, n, answer in timeline:
            feed.until(moment)
            loops[index].propose(n, moment, answer)
        lines = [loop.summary() for loop in loops]
    finally:
        quiet.__exit__(None, None, None)
        rt.recorder.background = background
        rt.shadows.background = shadows
    logger.info("demo predictions made", extra={"summary": lines})
    return "; ".join([*lines, challenger])


def _challenger() -> str:
    """trade-outcome-xgboost's version 2 as the shadow challenger of its production."""
    rt = current()
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
    rt.resolver.forget()  # this process serves the demo's predictions next
    return f"{alias}: version {candidate.version} shadows version {alias.version.version}"


@contextmanager
def _clock(moment: datetime):
    """The clock the desk's services and created_at read, at ``moment`` (as the desk's
    demo replays its ideas): an idea and its decisions carry its prediction's time."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _moments(rng: random.Random, now: datetime) -> list[datetime]:
    """PREDICTIONS moments in the newer half of the demo's trading hours (the desk's
    ideas take the older: the market is replayed in order), each its own second, and
    none the second of an idea already made."""
    hours = trading_hours(now)[: TRADING_HOURS // 2]
    taken = {moment.replace(microsecond=0) for moment in _idea_times()}
    moments: set[datetime] = set()
    while len(moments) < PREDICTIONS:
        moment = moment_in(rng, hours)
        if moment not in taken:
            moments.add(moment)
    return sorted(moments)


def _idea_times() -> list[datetime]:
    return list(TradeIdea.objects.values_list("created_at", flat=True))


class _Loop:
    """One demo model's loop: its predictions at their moments, then (in the timeline of
    every model's, seed()) the ideas the engine proposes from them and their trades."""

    def __init__(self, name: str, version, *, drifted: bool, seed: int, now: datetime):
        rt = current()
        self.name, self.version, self.drifted = name, version, drifted
        self.label = f"{name}@{version.version}"
        rows = synthetic_dataset(rows=PREDICTIONS, seed=100 + seed).x
        if drifted:  # the market moved: wider spreads, a higher RSI than in training
            columns = {f: i for i, f in enumerate(SYNTHETIC_FEATURES)}
            rows[:, columns["spread_bps"]] += 3.0
            rows[:, columns["rsi_14"]] = np.clip(rows[:, columns["rsi_14"]] + 20, 0, 100)
        self.rng = random.Random(seed)
        self.moments = _moments(self.rng, now)
        self.answers = [
            prediction_make(
                model=name,
                alias="production",
                version=None,
                body={"inputs": [row.tolist()]},
                caller=("ai-engine", ""),
                requested_at=moment,
            )
            for moment, row in zip(self.moments, rows, strict=True)
        ]
        self.shadowed = rt.shadows.drain()
        self.recorded = rt.recorder.flush()
        self.bars = journal_demo.hourly_bars(SYMBOL, now=now)
        self.ideas = self.created = 0

    def proposals(self):
        """(moment, answer) of the predictions the engine looks at as ideas."""
        return list(zip(self.moments[:IDEAS], self.answers, strict=False))

    def propose(self, n: int, moment: datetime, answer) -> None:
        probability = answer.predictions[0]
        direction = self.rng.choice(("long", "short"))
        if probability < PROPOSE_FROM:
            return  # the engine proposes what its model favours
        sign = 1 if direction == "long" else -1
        market = journal_demo.MARKETS[SYMBOL]
        # The open of the hour's bar; the stop a third of a typical day's range away.
        entry = next(
            (b[1] for b in self.bars if b[0] <= moment < b[0] + timedelta(hours=1)),
            self.bars[-1][4],
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
            # No confidence of its own: the gate takes its prediction's (desk.selectors).
            rationale=f"{self.name} gives this setup {probability:.0%} to win",
            model_version=self.label,
            prediction_id=answer.prediction_ids[0],
            snapshot_ref=f"demo:{self.name}:{n}",
        )
        # The gate's P&L checkpoint is of today: at an earlier day it is read again.
        forget_pnl_history()
        try:
            with _clock(moment):
                idea, _ = idea_submit(idea=idea, actor="api-key:ai-engine")
        except DeskError:
            return
        self.ideas += 1
        if idea.status not in EXECUTED:
            return
        chance = 1 / 3 if self.drifted else probability
        won = self.rng.random() < chance
        exit_price = idea.take_profit if won else idea.stop_loss
        opened = moment + timedelta(minutes=1)
        point_value = Decimal(CATALOGUE[SYMBOL][7])
        fees = (market.commission * LOTS).quantize(Decimal("0.01"))
        pnl = (exit_price - entry) * sign * LOTS * point_value - fees
        trade = {
            "trade_id": f"LOOP-{self.name}-{n:03d}",
            "executed_at": opened.isoformat(),
            "closed_at": (opened + timedelta(minutes=self.rng.randint(20, 180))).isoformat(),
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
            "model_version": self.label,
            "confidence": str(idea.confidence_score),
            "idea_id": idea.pk,
        }
        # The trade arrives as its idea is executed (it counts as in flight till then).
        self.created += record_trades([trade], source="demo").created
        forget_pnl_history()  # and of today again after this trade

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.answers)} predictions "
            f"({self.recorded - self.shadowed} recorded"
            + (f", {self.shadowed} scored by its challenger" if self.shadowed else "")
            + f"), {self.ideas} ideas naming them, {self.created} trades from the executed ones"
        )
