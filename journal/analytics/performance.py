"""Trading performance maths on aggregated figures. No Django import.

The database aggregates the trades (journal.analytics.metrics); these functions turn the
aggregates into the desk's figures. Definitions (also in the README):

- win: a closed trade with pnl > 0; loss: pnl < 0; a trade at exactly 0 is neither,
  but counts in the trade count.
- win rate = wins / closed trades.
- profit factor = gross profit / |gross loss| (None when there is no loss).
- expectancy = net P&L / closed trades (the average P&L per trade).
- equity curve = the running sum of daily net P&L, days in order.
- max drawdown = the largest fall of the equity curve from its running peak, a
  positive amount; the curve starts at 0 before the first day.
- Sharpe = mean / sample standard deviation of daily net P&L x sqrt(252).
- Sortino = mean / downside deviation x sqrt(252), the downside deviation being
  sqrt(mean of min(0, daily P&L)²) over all days.
Days are the UTC days on which trades closed; days without a closed trade are absent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

TRADING_DAYS = 252


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) / Decimal(denominator)


def profit_factor(gross_profit: Decimal, gross_loss: Decimal) -> Decimal | None:
    """gross_loss is the (negative or zero) sum of losing trades."""
    return ratio(gross_profit, abs(gross_loss))


def equity_curve(daily_pnl: Sequence[Decimal]) -> list[Decimal]:
    total = Decimal(0)
    curve = []
    for pnl in daily_pnl:
        total += pnl
        curve.append(total)
    return curve


def drawdowns(daily_pnl: Sequence[Decimal]) -> list[Decimal]:
    """The drawdown (≥ 0) after each day: running peak minus equity."""
    peak = Decimal(0)
    result = []
    for equity in equity_curve(daily_pnl):
        peak = max(peak, equity)
        result.append(peak - equity)
    return result


def max_drawdown(daily_pnl: Sequence[Decimal]) -> Decimal:
    return max(drawdowns(daily_pnl), default=Decimal(0))


def sharpe(daily_pnl: Sequence[Decimal]) -> float | None:
    if len(daily_pnl) < 2:
        return None
    values = [float(v) for v in daily_pnl]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    if variance == 0:
        return None
    return mean / math.sqrt(variance) * math.sqrt(TRADING_DAYS)


def sortino(daily_pnl: Sequence[Decimal]) -> float | None:
    if len(daily_pnl) < 2:
        return None
    values = [float(v) for v in daily_pnl]
    mean = sum(values) / len(values)
    downside = math.sqrt(sum(min(0.0, v) ** 2 for v in values) / len(values))
    if downside == 0:
        return None
    return mean / downside * math.sqrt(TRADING_DAYS)
