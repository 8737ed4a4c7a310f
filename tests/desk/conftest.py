"""Personas and factories of the desk's tests."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from desk.models import AccountSnapshot, MarketBar, Strategy, TradeIdea
from desk.services import forget_pnl_history, risk_config_update
from journal.instruments import instruments_seed

# The EURUSD idea below risks |1.0850 - 1.0800| x 0.1 lot x 100,000 = 50 USD: 0.05 % of
# the desk's 100,000 USD equity, inside the default limits (250 USD, 1 %).
EQUITY = Decimal(100_000)
PRICES = {"EURUSD": "1.0850", "GBPUSD": "1.2700", "USDJPY": "150.000", "EURGBP": "0.8550"}


def idea(**overrides) -> TradeIdea:
    values = {
        "symbol": "EURUSD",
        "direction": "long",
        "entry_price": Decimal("1.0850"),
        "stop_loss": Decimal("1.0800"),
        "take_profit": Decimal("1.0950"),
        "confidence_score": Decimal("0.80"),
        "lot_size": Decimal("0.1"),
        "rationale": "RSI oversold",
    }
    values.update(overrides)
    return TradeIdea(**values)


def idea_body(**overrides) -> dict:
    body = {
        "symbol": "EURUSD",
        "direction": "long",
        "entry_price": "1.0850",
        "entry_range": ["1.0840", "1.0860"],
        "stop_loss": "1.0800",
        "take_profit": "1.0950",
        "lot_size": "0.1",
        "expected_hold": 90,
        "rationale": "RSI oversold on H1",
        "confidence_score": "0.8",
        "snapshot_ref": "market:EURUSD:H1:2026-03-02T09:00Z",
        "model_version": "dir-xgb@2",
    }
    body.update(overrides)
    return body


@pytest.fixture(autouse=True)
def _fresh_pnl_history():
    """The gate keeps the P&L before today for a minute; each test starts without."""
    forget_pnl_history()
    yield
    forget_pnl_history()


def live_market(now: datetime | None = None, equity: Decimal = EQUITY) -> None:
    """What a desk that is trading has: its instruments, an account snapshot and a bar
    of each market, all taken ``now``."""
    now = now or timezone.now()
    instruments_seed()
    AccountSnapshot.objects.create(
        captured_at=now, account="desk-main", balance=equity, equity=equity
    )
    for symbol, price in PRICES.items():
        price = Decimal(price)
        MarketBar.objects.create(
            captured_at=now.astimezone(UTC).replace(second=0, microsecond=0),
            symbol=symbol,
            timeframe="M1",
            open=price,
            high=price,
            low=price,
            close=price,
        )


@pytest.fixture
def open_desk(db):
    """AI trading on, EURUSD on the watchlist, generous limits, a live market."""
    live_market()
    return risk_config_update(
        changes={
            "ai_trading_enabled": True,
            "watchlist": ["EURUSD"],
            "max_concurrent_trades": 5,
            "max_drawdown_amount": Decimal(1000),
            "daily_profit_target": Decimal(500),
            "min_confidence_threshold": Decimal("0.7"),
            "max_lot_size": Decimal(2),
        },
        actor="test",
        reason="an open desk for the tests",
    )


@pytest.fixture
def strategy(db):
    return Strategy.objects.create(name="breakout", allowed_symbols=["EURUSD", "GBPUSD"])


@pytest.fixture
def engine(db):
    """The AI engine's client: submits ideas."""
    _, raw = api_key_create(name="ai-engine", scopes="ideas:write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def risk_manager(django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("rosa", password="pw-rosa-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Risk manager"))
    return user
