"""Demo desk records for `manage.py demo`: strategies, limits, ideas through the gate,
decisions, the trades the executed ideas caused, and a couple of days of snapshots.

Prices, bars and the account's balance come from the journal's demo (journal.demo): the
same markets at their own volatility, and the balance its closed P&L makes. The ideas
are replayed over the last two trading days: the clock that the desk's services and
created_at read (django.utils.timezone.now) is set to each idea's moment while it goes
through the gate, so its decisions carry that time too.
"""

import logging
import random
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.utils import timezone

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
MODELS = ("trade-outcome-xgboost@1", "trade-outcome-lightgbm@1")  # models_registry.demo


@contextmanager
def _clock(moment: datetime):
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def seed() -> str:
    for spec in STRATEGIES:
        Strategy.objects.update_or_create(name=spec["name"], defaults=spec)
    risk_config_update(
        changes={
            "ai_trading_enabled": True,
            "watchlist": ["EURUSD", "XAUUSD"],
            "max_concurrent_trades": 40,
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
    snapshots = _snapshots()  # first: the gate reads the latest bars and equity
    ideas = 0 if TradeIdea.objects.exists() else _ideas()
    snapshots += _accounts()  # again: with the trades of the ideas
    return f"3 strategies, {ideas} new trade ideas through the gate, {snapshots} snapshots"


def _ideas() -> int:
    rng = random.Random(11)
    strategies = list(Strategy.objects.all())
    now = datetime.now(UTC)
    bars = {symbol: journal_demo.hourly_bars(symbol, now=now) for symbol in SYMBOLS}
    chosen: set[datetime] = set()
    while len(chosen) < 24:  # in the markets' hours: weekdays, 07:00 to 20:00 UTC
        moment = now - timedelta(
            hours=rng.randint(1, 95), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
        )
        if moment.weekday() < 5 and 7 <= moment.hour < 20:
            chosen.add(moment.replace(microsecond=0))  # each its own second
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
        with _clock(moment):
            idea_submit(idea=idea, actor="api-key:ai-engine")
    _people_decide(rng)
    executed = TradeIdea.objects.filter(
        status__in=(IdeaStatus.AUTO_EXECUTED, IdeaStatus.APPROVED)
    ).order_by("created_at")
    record_trades(journal_demo.idea_records(executed, now=now), source="demo")
    # The ideas were judged at past moments, before their trades were recorded: the next
    # idea reads the P&L history again rather than the replay's checkpoint.
    forget_pnl_history()
    return 24


def _lots(symbol: str) -> list[str]:
    step = Decimal(CATALOGUE[symbol][5])
    return [lot for lot in ("0.1", "0.2", "0.5", "1") if Decimal(lot) % step == 0]


def _people_decide(rng: random.Random) -> None:
    """The risk manager works the queue minutes after each idea arrives: approves one
    whose gate asks only for a person, approves one against what the gate asks with a
    written override, rejects one; the rest still wait."""
    manager = get_user_model().objects.filter(username="admin").first()
    if manager is None:
        return
    waiting = list(TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).order_by("id"))
    plain = overridden = rejected = False
    for idea in waiting:
        with _clock(idea.created_at + timedelta(minutes=rng.randint(2, 15))):
            review = approval_review(idea)
            try:
                if review.asks_only_approval and not plain:
                    idea_approve(
                        idea_id=idea.pk,
                        user=manager,
                        reason="chart and calendar checked: the setup is as the engine says",
                    )
                    plain = True
                elif review.overrides == ("it has no stop loss",) and not overridden:
                    idea_approve(
                        idea_id=idea.pk,
                        user=manager,
                        reason="a clean retest of the level",
                        override_reason="the stop is set at the broker, below the range low",
                    )
                    overridden = True
                elif not rejected:
                    idea_reject(idea_id=idea.pk, user=manager, reason="news risk before the fixing")
                    rejected = True
            except DeskError as exc:  # e.g. a limit the replay reached meanwhile
                logger.info("demo decision skipped", extra={"idea": idea.pk, "why": str(exc)})


def _snapshots() -> int:
    rng = random.Random(5)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bars, indicators = [], []
    for symbol in SYMBOLS:
        # The last bar is the one forming now.
        for at, open_, high, low, close in journal_demo.hourly_bars(symbol, now=now):
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
    _accounts()
    return len(bars) + len(indicators) + 4


def _accounts() -> int:
    """The accounts at each evening's close (21:00 UTC) of the last week, and now, as the
    journal's P&L makes them (journal.demo.account_history)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    evenings = [(now - timedelta(days=d)).replace(hour=21) for d in range(7, 0, -1)]
    times = [moment for moment in evenings if moment < now] + [now]
    count = 0
    for account in journal_demo.ACCOUNTS:
        for state in journal_demo.account_history(account=account, times=times):
            AccountSnapshot.objects.update_or_create(
                account=account, captured_at=state.pop("captured_at"), defaults=state
            )
            count += 1
    return count
