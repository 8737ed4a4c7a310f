"""The maths of judging a model version by its live trades. No Django import: plain
unit tests (tests/serving/live/test_judging.py) check each figure on cases worked by hand.

Trades: a trade with pnl > 0 is a win (fees are in pnl); win rate = wins / trades;
expectancy = net P&L / trades (the journal's definitions, journal.analytics).
R: the move a trade made, in units of the risk it took at its initial stop,
(exit - entry) / (entry - stop) for a long, the mirror for a short: +2 R made twice
what the stop risked, -1 R lost exactly that. Prices only (fees and point values do
not enter), so trades of different instruments and sizes compare.

Calibration: the predicted probability of each trade's prediction against whether the
trade won. Ten bins by predicted probability ([0, 0.1), ..., [0.9, 1.0]); per bin the
trades, the mean prediction and the realised win rate. The Brier score is the mean of
(p - won)^2 (0 is perfect; always saying 0.5 scores 0.25); the expected calibration
error (ECE) the trades-weighted mean of |mean prediction - win rate| over the bins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from journal.domain.r_multiple import r_multiple as r_of

BINS = 10
EIGHT_PLACES = Decimal("0.00000001")


@dataclass(frozen=True)
class LiveTrade:
    side: str  # long or short
    entry_price: Decimal
    exit_price: Decimal
    stop_loss: Decimal | None
    pnl: Decimal
    probability: float | None  # the prediction's output, where it was recorded
    # (record id, row) of the recorded prediction it came from, where there is one.
    prediction: tuple | None = None


def r_multiple(trade: LiveTrade) -> float | None:
    """The trade's R (journal.domain.r_multiple's definition), or None."""
    value = r_of(trade.side, trade.entry_price, trade.exit_price, trade.stop_loss)
    return None if value is None else float(value)


@dataclass(frozen=True)
class TradeFigures:
    trades: int = 0
    wins: int = 0
    losses: int = 0
    win_rate: float | None = None
    net_pnl: Decimal = Decimal(0)
    expectancy: Decimal | None = None
    trades_with_stop: int = 0
    average_r: float | None = None
    total_r: float | None = None

    def as_dict(self) -> dict:
        """Decimals as exact strings of 8 places, as the journal's metrics answer them."""
        return {
            k: (f"{v.quantize(EIGHT_PLACES):f}" if isinstance(v, Decimal) else v)
            for k, v in asdict(self).items()
        }


def trade_figures(trades: Sequence[LiveTrade]) -> TradeFigures:
    if not trades:
        return TradeFigures()
    wins = sum(1 for t in trades if t.pnl > 0)
    losses = sum(1 for t in trades if t.pnl < 0)
    net = sum((t.pnl for t in trades), Decimal(0))
    rs = [r for r in map(r_multiple, trades) if r is not None]
    return TradeFigures(
        trades=len(trades),
        wins=wins,
        losses=losses,
        win_rate=wins / len(trades),
        net_pnl=net,
        expectancy=net / len(trades),
        trades_with_stop=len(rs),
        average_r=sum(rs) / len(rs) if rs else None,
        total_r=sum(rs) if rs else None,
    )


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    trades: int
    mean_predicted: float | None
    win_rate: float | None


@dataclass(frozen=True)
class Calibration:
    trades: int = 0
    brier: float | None = None
    ece: float | None = None
    bins: list[CalibrationBin] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def calibration(pairs: Iterable[tuple[float, bool]], bins: int = BINS) -> Calibration:
    """``pairs``: (predicted probability, won). Probabilities outside [0, 1] are left
    out (a model whose output is not a probability has no calibration)."""
    kept = [(float(p), bool(won)) for p, won in pairs if p is not None and 0.0 <= p <= 1.0]
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for p, won in kept:
        groups[min(int(p * bins), bins - 1)].append((p, won))
    table = []
    for index, group in enumerate(groups):
        table.append(
            CalibrationBin(
                low=index / bins,
                high=(index + 1) / bins,
                trades=len(group),
                mean_predicted=sum(p for p, _ in group) / len(group) if group else None,
                win_rate=sum(won for _, won in group) / len(group) if group else None,
            )
        )
    if not kept:
        return Calibration(bins=table)
    brier = sum((p - won) ** 2 for p, won in kept) / len(kept)
    ece = sum(b.trades * abs(b.mean_predicted - b.win_rate) for b in table if b.trades) / len(kept)
    return Calibration(trades=len(kept), brier=brier, ece=ece, bins=table)
