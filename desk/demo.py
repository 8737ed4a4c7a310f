"""Demo desk records for `manage.py demo`: strategies, limits, ideas through the gate,
decisions, the trades the executed ideas caused, and a couple of days of snapshots.

Prices, bars and the account's balance come from the journal's demo (journal.demo): the
same markets at their own volatility, and the balance its closed P&L makes. The ideas
are replayed over the last two trading days: the clock that the desk's services and
created_at read (django.utils.timezone.now) is set to each idea's moment while it goes
through the gate, so its decisions carry that time too.
"""

from __future__ import annotations

import logging
import random
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.utils import timezone

from backoffice.core.ops.logconf import quieter
from desk.models import (
    AccountSnapshot,
    CalendarEvent,
    IdeaStatus,
    IndicatorSnapshot,
    MarketBar,
    NewsItem,
    Strategy,
    TradeIdea,
)
from desk.services import (
    DeskError,
    approval_review,
    forget_pnl_history,
    idea_approve,
    idea_reject,
    idea_submit,
    risk_config_update,
)
from journal import demo as journal_demo
from journal.instruments import CATALOGUE
from journal.write.capture import record_trades

logger = logging.getLogger(__name__)

STRATEGIES = [
    {
        "name": "breakout",
        "allowed_symbols": ["EURUSD", "GBPUSD", "XAUUSD"],
        "session_windows": [
            {"start": "07:00", "end": "16:00", "days": ["mon", "tue", "wed", "thu", "fri"]}
        ],
        "entry_conditions": [
            {"indicator": "close", "operator": "crosses_above", "value": "range_high"}
        ],
        "exit_rules": {"stop_loss_pips": 20, "take_profit_pips": 45},
        "risk_caps": {"max_lot_size": 2, "max_trades_per_day": 6},
        "rr_expectation": Decimal("2.0"),
    },
    {
        "name": "mean-reversion",
        "allowed_symbols": ["EURUSD", "US500"],
        "entry_conditions": [{"indicator": "rsi_14", "operator": "<", "value": 30}],
        "forbidden_conditions": [{"indicator": "impact_level", "operator": "==", "value": "high"}],
        "exit_rules": {"max_hold_minutes": 240},
        "risk_caps": {"max_lot_size": 1},
        "rr_expectation": Decimal("1.5"),
    },
    {"name": "trend-follow", "allowed_symbols": [], "rr_expectation": Decimal("2.5")},
]
SYMBOLS = ("EURUSD", "GBPUSD", "XAUUSD", "US500")
# The symbols the demo's market feed stores bars of (the serving demo trades EURUSD).
FEED_SYMBOLS = SYMBOLS
# The account whose snapshots the gate reads for equity (the desk's risk account).
ACCOUNT = "desk-main"
# The last trading hours (weekdays, 07:00 to 19:00 UTC) are replayed in order: the
# desk's ideas in the older half, the serving demo's loop in the newer (serving.demo).
TRADING_HOURS = 24


def trading_hours(now: datetime, count: int = TRADING_HOURS) -> list[datetime]:
    """The starts of the last ``count`` whole trading hours before ``now``, newest
    first: within the four days of hourly bars the demo stores, whatever the weekday."""
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    found = []
    while len(found) < count:
        if hour.weekday() < 5 and 7 <= hour.hour < 19:
            found.append(hour)
        hour -= timedelta(hours=1)
    return found


def moment_in(rng: random.Random, hours: list[datetime]) -> datetime:
    """A second within one of ``hours``."""
    return rng.choice(hours) + timedelta(seconds=rng.randint(0, 3599))


MODELS = ("trade-outcome-xgboost@1", "trade-outcome-lightgbm@1")  # models_registry.demo


@contextmanager
def _clock(moment: datetime):
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def seed(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    for spec in STRATEGIES:
        Strategy.objects.update_or_create(name=spec["name"], defaults=spec)
    risk_config_update(
        changes={
            "ai_trading_enabled": True,
            "watchlist": ["EURUSD", "XAUUSD"],
            "max_concurrent_trades": 40,
            "min_confidence_threshold": Decimal("0.55"),
            "max_drawdown_amount": Decimal(20000),
            "daily_profit_target": Decimal(5000),
            "max_lot_size": Decimal(2),
            "default_lot_size": Decimal("0.1"),
            "max_risk_per_trade": Decimal(750),
            "max_daily_loss": Decimal(2500),
        },
        actor="demo",
        reason="the demo desk's limits",
    )
    feed = MarketFeed(now)
    _calendar_and_news(now)
    # A trade is recorded as each idea executes: one line for the replay, not one each.
    with quieter("journal.write.capture"):
        ideas = 0 if TradeIdea.objects.exists() else _ideas(feed)
    return f"3 strategies, {ideas} new trade ideas through the gate, {feed.stored} snapshots"


def finish(now: datetime) -> str:
    """After every app's demo: the market and the accounts up to now (the bars the
    replays read stopped at their own moments: no idea met data from its future)."""
    feed = MarketFeed(now)
    feed.until(now)
    return f"{feed.stored} snapshots up to now"


def _ideas(feed: MarketFeed) -> int:
    rng = random.Random(11)
    strategies = list(Strategy.objects.all())
    now = feed.now
    desk = RiskManager(feed)
    bars = {symbol: feed.bars[symbol] for symbol in SYMBOLS}
    hours = trading_hours(now)[TRADING_HOURS // 2 :]  # the older half
    chosen: set[datetime] = set()
    while len(chosen) < 24:
        chosen.add(moment_in(rng, hours))  # each its own second
    moments = sorted(chosen)
    for n, moment in enumerate(moments):
        symbol = rng.choice(SYMBOLS)
        direction = rng.choice(("long", "short"))
        # The open of the hour's bar; a stop a third of a typical day's range away.
        entry = next(b[1] for b in bars[symbol] if b[0] <= moment < b[0] + timedelta(hours=1))
        # Prices on the instrument's tick (US500 in quarter points), as a broker fills.
        tick = journal_demo.on_tick
        step = tick(entry * Decimal(str(journal_demo.MARKETS[symbol].daily_vol * 0.3)), symbol)
        sign = 1 if direction == "long" else -1
        idea = TradeIdea(
            symbol=symbol,
            direction=direction,
            entry_price=entry,
            entry_range_low=tick(entry - step / 4, symbol),
            entry_range_high=tick(entry + step / 4, symbol),
            # Now and then the engine forgets the stop or the size: the gate sends the
            # first to a person and sizes the second with the default lot.
            stop_loss=None if n % 7 == 3 else entry - sign * step,
            take_profit=tick(
                entry + sign * Decimal(rng.choice(("2", "2.5", "3", "3"))) * step, symbol
            ),
            # Sizes on the instrument's quantity step (whole US500 contracts).
            lot_size=None if n % 5 == 2 else Decimal(rng.choice(_lots(symbol))),
            expected_hold=rng.choice((30, 60, 240)),
            rationale=rng.choice(
                (
                    "RSI oversold on H1",
                    "range breakout with volume",
                    "trend continuation after pullback",
                )
            ),
            confidence_score=Decimal(str(round(rng.uniform(0.66, 0.95), 2))),
            strategy=rng.choice(
                [s for s in strategies if not s.allowed_symbols or symbol in s.allowed_symbols]
            ),
            snapshot_ref=f"market:{symbol}:H1:{moment:%Y%m%dT%H%M}",
            model_version=rng.choice(MODELS),
        )
        desk.decide_until(moment)
        feed.until(moment)
        with _clock(moment):
            submitted, _ = idea_submit(idea=idea, actor="api-key:ai-engine")
        if submitted.status == IdeaStatus.NEEDS_APPROVAL:
            desk.later(submitted, moment + timedelta(minutes=rng.randint(2, 15)))
        executed(submitted, now)
    desk.decide_until(now)
    return 24


def executed(idea: TradeIdea, now: datetime, decided_at: datetime | None = None) -> None:
    """The trade an executed idea caused, recorded as it is executed (until it arrives
    the idea counts as an execution in flight), filled after ``decided_at`` where a
    person approved it then; the replay's P&L checkpoint is read again after it."""
    if idea.status not in (IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED):
        return
    records = journal_demo.idea_records([idea], now=now, seed=13 + idea.pk, decided_at=decided_at)
    record_trades(records, source="demo")
    forget_pnl_history()


def _lots(symbol: str) -> list[str]:
    step = Decimal(CATALOGUE[symbol][5])
    return [lot for lot in ("0.1", "0.2", "0.5", "1") if Decimal(lot) % step == 0]


class RiskManager:
    """The risk manager works the queue minutes after each idea arrives, in the replay's
    order: approves one whose gate asks only for a person, approves one against what
    the gate asks with a written override, rejects one; the rest still wait."""

    def __init__(self, feed: MarketFeed):
        self.feed = feed
        self.person = get_user_model().objects.filter(username="admin").first()
        self.queue: list[tuple[datetime, int]] = []
        self.plain = self.overridden = self.rejected = False

    def later(self, idea: TradeIdea, at: datetime) -> None:
        self.queue.append((at, idea.pk))

    def decide_until(self, moment: datetime) -> None:
        due = sorted(item for item in self.queue if item[0] < moment)
        self.queue = [item for item in self.queue if item[0] >= moment]
        for at, idea_id in due:
            if self.person is not None:
                self.feed.until(at)
                with _clock(at):
                    self._decide(TradeIdea.objects.get(pk=idea_id))
                executed(TradeIdea.objects.get(pk=idea_id), self.feed.now, decided_at=at)

    def _decide(self, idea: TradeIdea) -> None:
        review = approval_review(idea)
        try:
            if review.asks_only_approval and not self.plain:
                idea_approve(
                    idea_id=idea.pk,
                    user=self.person,
                    reason="chart and calendar checked: the setup is as the engine says",
                )
                self.plain = True
            elif review.overrides == ("it has no stop loss",) and not self.overridden:
                idea_approve(
                    idea_id=idea.pk,
                    user=self.person,
                    reason="a clean retest of the level",
                    override_reason="the stop is set at the broker, a range beyond the entry range",
                )
                self.overridden = True
            elif not self.rejected:
                idea_reject(idea_id=idea.pk, user=self.person, reason="news risk before the fixing")
                self.rejected = True
        except DeskError as exc:  # e.g. a limit the replay reached meanwhile
            logger.info("demo decision skipped", extra={"idea": idea.pk, "why": str(exc)})


class MarketFeed:
    """The demo's market and account feeds, replayed in order: ``until(moment)`` stores
    the hourly bars (with their indicators) of the desk's symbols that had opened by
    ``moment``, the accounts at each evening's close (21:00 UTC) before it, and the desk
    account a couple of minutes before it, as the journal's P&L makes them
    (journal.demo.account_history). Nothing stored is dated after the moment a replayed
    decision is taken: the gate would fail data from the future."""

    def __init__(self, now: datetime):
        self.now = now
        self.bars = {symbol: journal_demo.hourly_bars(symbol, now=now) for symbol in FEED_SYMBOLS}
        self.stored = 0

    def until(self, moment: datetime) -> None:
        latest = MarketBar.objects.order_by("-captured_at").values_list("captured_at", flat=True)
        since = latest.first()
        bars, indicators = [], []
        for symbol, series in self.bars.items():
            for at, open_, high, low, close in series:
                if at > moment or (since is not None and at <= since):
                    continue
                rng = random.Random(f"{symbol}-{at.isoformat()}")
                bars.append(
                    MarketBar(
                        captured_at=at,
                        symbol=symbol,
                        timeframe="H1",
                        open=open_,
                        high=high,
                        low=low,
                        close=close,
                        volume=Decimal(rng.randint(100, 9000)),
                    )
                )
                indicators.append(
                    IndicatorSnapshot(
                        captured_at=at,
                        symbol=symbol,
                        timeframe="H1",
                        rsi_14=Decimal(str(round(rng.uniform(20, 80), 2))),
                        sma_50=open_,
                        atr=high - low,
                    )
                )
        MarketBar.objects.bulk_create(bars, ignore_conflicts=True)
        IndicatorSnapshot.objects.bulk_create(indicators, ignore_conflicts=True)
        self.stored += len(bars) + len(indicators) + self._accounts(moment)

    def _accounts(self, moment: datetime) -> int:
        evenings = [
            (moment - timedelta(days=d)).replace(hour=21, minute=0, second=0, microsecond=0)
            for d in range(7, -1, -1)
        ]
        taken = set(AccountSnapshot.objects.values_list("account", "captured_at"))
        count = 0
        for account in journal_demo.ACCOUNTS:
            times = [t for t in evenings if t <= moment and (account, t) not in taken]
            if account == ACCOUNT:
                now = (moment - timedelta(minutes=2)).replace(second=0, microsecond=0)
                if (account, now) not in taken:
                    times.append(now)
            if not times:
                continue
            for state in journal_demo.account_history(
                account=account, times=sorted(set(times)), bars_now=self.now
            ):
                AccountSnapshot.objects.update_or_create(
                    account=account, captured_at=state.pop("captured_at"), defaults=state
                )
                count += 1
        return count


def _calendar_and_news(now: datetime) -> None:
    CalendarEvent.objects.bulk_create(
        [
            CalendarEvent(
                captured_at=now,
                event_time=now + timedelta(hours=5),
                currency="USD",
                impact_level="high",
                title="Non-farm payrolls",
                forecast_value="180K",
            ),
            CalendarEvent(
                captured_at=now,
                event_time=now + timedelta(hours=26),
                currency="EUR",
                impact_level="medium",
                title="ECB press conference",
            ),
        ],
        ignore_conflicts=True,
    )
    NewsItem.objects.bulk_create(
        [
            NewsItem(
                captured_at=now,
                published_at=now - timedelta(hours=2),
                source="wire",
                headline="Gold steadies as traders await payrolls",
                symbols=["XAUUSD"],
            ),
            NewsItem(
                captured_at=now,
                published_at=now - timedelta(hours=6),
                source="wire",
                headline="Euro edges up after PMI beat",
                symbols=["EURUSD"],
            ),
        ],
        ignore_conflicts=True,
    )
