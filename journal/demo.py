"""Demo trades for `manage.py demo`: four months of a small desk's journal."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from journal.write.capture import record_trades

SYMBOLS = {
    "EURUSD": Decimal("1.0850"),
    "GBPUSD": Decimal("1.2650"),
    "XAUUSD": Decimal("2350.00"),
    "US500": Decimal("5200.0"),
}
STRATEGIES = ("breakout", "mean-reversion", "trend-follow")
ACCOUNTS = ("desk-main", "desk-hedge")


def demo_records(count: int = 600, *, seed: int = 7, now: datetime | None = None) -> list[dict]:
    """Reproducible trades: the same ids every run, so a second demo stores nothing new.

    Signals carry a little edge (an oversold RSI before a long wins more often), so a
    model trained on the journal's signals has something to learn.
    """
    rng = random.Random(seed)
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    records = []
    for n in range(count):
        symbol = rng.choice(list(SYMBOLS))
        side = rng.choice(("long", "short"))
        opened = end - timedelta(hours=rng.randint(2, 120 * 24))
        rsi = round(rng.uniform(15, 85), 1)
        trend = round(rng.uniform(-1, 1), 3)
        edge = (50 - rsi) / 100 if side == "long" else (rsi - 50) / 100
        win = rng.random() < 0.48 + edge + trend * (0.1 if side == "long" else -0.1)
        entry = SYMBOLS[symbol] * Decimal(str(round(rng.uniform(0.97, 1.03), 4)))
        quantity = Decimal(rng.choice(("0.5", "1", "2", "5")))
        pnl = Decimal(str(round(rng.uniform(20, 400) * (1 if win else -0.8), 2)))
        move = (abs(pnl) / quantity / Decimal(1000)).quantize(Decimal("0.0001"))
        up = (side == "long") == win
        record = {
            "trade_id": f"DEMO-{n:05d}",
            "executed_at": opened.isoformat(),
            "symbol": symbol,
            "side": side,
            "quantity": str(quantity),
            "entry_price": str(entry.quantize(Decimal("0.0001"))),
            "fees": str(Decimal(str(round(rng.uniform(0.5, 4), 2)))),
            "strategy": rng.choice(STRATEGIES),
            "account": rng.choice(ACCOUNTS),
            "broker_order_id": f"BRK-{rng.randint(10**8, 10**9 - 1)}",
            "signals": {"rsi": rsi, "trend": trend, "volatility": round(rng.uniform(0.1, 2), 2)},
            "agent_votes": {
                "technical": rng.choice(("buy", "sell", "hold")),
                "sentiment": rng.choice(("buy", "sell", "hold")),
            },
            "confidence": str(round(rng.uniform(0.5, 0.95), 2)),
        }
        closed = opened + timedelta(minutes=rng.randint(15, 48 * 60))
        if closed < end and rng.random() > 0.03:
            exit_price = entry + move if up else max(entry - move, Decimal("0.0001"))
            record.update(
                closed_at=closed.isoformat(),
                exit_price=str(exit_price.quantize(Decimal("0.0001"))),
                pnl=str(pnl),
            )
        records.append(record)
    return records


def seed() -> str:
    from journal.instruments import instruments_seed

    instruments_seed()
    records = demo_records()
    created = duplicates = 0
    for start in range(0, len(records), 500):
        result = record_trades(records[start : start + 500], source="demo")
        created += result.created
        duplicates += result.duplicates
    return f"{created} trades recorded ({duplicates} already there)"
