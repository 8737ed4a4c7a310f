"""Demo desk records for `manage.py demo`: strategies, limits, ideas through the gate,
decisions, and a couple of days of snapshots."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model

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
from desk.services import DeskError, idea_decide, idea_submit, risk_config_update

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
PRICES = {
    "EURUSD": Decimal("1.0850"),
    "GBPUSD": Decimal("1.2650"),
    "XAUUSD": Decimal("2350.00"),
    "US500": Decimal("5200.0"),
}


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
    return f"3 strategies, {ideas} new trade ideas through the gate, {snapshots} snapshots"


def _ideas() -> int:
    rng = random.Random(11)
    strategies = list(Strategy.objects.all())
    for n in range(24):
        symbol = rng.choice(list(PRICES))
        direction = rng.choice(("long", "short"))
        entry = PRICES[symbol]
        step = entry * Decimal("0.002" if symbol == "US500" else "0.004")
        sign = 1 if direction == "long" else -1
        idea = TradeIdea(
            symbol=symbol,
            direction=direction,
            entry_price=entry,
            entry_range_low=entry - step / 4,
            entry_range_high=entry + step / 4,
            # Now and then the engine forgets the stop or the size: the gate sends the
            # first to a person and sizes the second with the default lot.
            stop_loss=None if n % 7 == 3 else entry - sign * step,
            take_profit=entry + sign * Decimal(rng.choice(("2", "2.5", "3", "3"))) * step,
            lot_size=None if n % 5 == 2 else Decimal(rng.choice(("0.1", "0.2", "0.5", "1"))),
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
            snapshot_ref=f"market:{symbol}:H1:demo-{n}",
            model_version="direction-xgb@1",
        )
        idea_submit(idea=idea, actor="api-key:ai-engine")
    admin = get_user_model().objects.filter(username="admin").first()
    waiting = TradeIdea.objects.filter(status=IdeaStatus.NEEDS_APPROVAL).order_by("id")
    if admin is not None:
        for idea, approve in zip(waiting[:2], (True, False), strict=False):
            try:
                idea_decide(
                    idea_id=idea.pk,
                    approve=approve,
                    user=admin,
                    reason="" if approve else "news risk before the fixing",
                )
            except DeskError:
                pass
    return 24


def _snapshots() -> int:
    rng = random.Random(5)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    bars, indicators = [], []
    for symbol, price in PRICES.items():
        level = float(price)
        for hours in range(48, -1, -1):  # the last bar is the one forming now
            at = now - timedelta(hours=hours)
            move = level * rng.uniform(-0.002, 0.002)
            high, low = max(level, level + move) * 1.0005, min(level, level + move) * 0.9995
            bars.append(
                MarketBar(
                    captured_at=at,
                    symbol=symbol,
                    timeframe="H1",
                    open=_d(level),
                    high=_d(high),
                    low=_d(low),
                    close=_d(level + move),
                    volume=Decimal(rng.randint(100, 9000)),
                )
            )
            indicators.append(
                IndicatorSnapshot(
                    captured_at=at,
                    symbol=symbol,
                    timeframe="H1",
                    rsi_14=Decimal(str(round(rng.uniform(20, 80), 2))),
                    sma_50=_d(level),
                    atr=_d(abs(move) * 3),
                )
            )
            level += move
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
    AccountSnapshot.objects.bulk_create(
        [
            AccountSnapshot(
                captured_at=now - timedelta(days=d),
                account="desk-main",
                balance=Decimal(100000 + 150 * d),
                equity=Decimal(100200 + 120 * d),
                margin_used=Decimal(2500),
                margin_free=Decimal(97700),
                open_pl=Decimal(200),
                open_positions=3,
            )
            for d in range(7)
        ],
        ignore_conflicts=True,
    )
    return len(bars) + len(indicators) + 11


def _d(value: float) -> Decimal:
    return Decimal(str(round(value, 5)))
