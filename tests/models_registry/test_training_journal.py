"""train_model on the journal's closed trades: signals become features, wins the label."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from models_registry.training import model_train

pytestmark = pytest.mark.django_db


def closed_trades(count: int) -> list[dict]:
    """Trades in the journal's record format, winning more often with a high rsi."""
    rng = np.random.default_rng(2)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    trades = []
    for i in range(count):
        rsi, momentum = float(rng.uniform(10, 90)), float(rng.normal())
        win = rsi / 100 + 0.2 * momentum + rng.normal(0, 0.15) > 0.5
        opened = start + timedelta(hours=i)
        trades.append(
            {
                "trade_id": f"T-{i}",
                "executed_at": opened.isoformat(),
                "closed_at": (opened + timedelta(minutes=30)).isoformat(),
                "symbol": "EURUSD",
                "side": "long",
                "quantity": "1",
                "entry_price": "1.1000",
                "exit_price": "1.1010" if win else "1.0990",
                "pnl": "10" if win else "-10",
                "signals": {"rsi": rsi, "momentum": momentum, "note": "text is no feature"},
            }
        )
    return trades


def test_it_trains_on_closed_journal_trades_with_their_numeric_signals():
    from journal.write.capture import record_trades

    result = record_trades(closed_trades(260), source="test")
    assert result.created == 260
    (version,) = model_train(frameworks=("xgboost",), source="journal", rounds=20)
    assert version.feature_names == ["momentum", "rsi"]
    assert version.metrics["source"] == "journal"
    assert version.metrics["auc"] > 0.6
    assert version.training_window_start < version.training_window_end
