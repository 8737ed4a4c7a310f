"""The dashboard's comparisons: what a trader sets side by side (no Django import).

- This period against the previous one of the same kind: today against yesterday, this
  week against last week, this month against last month, N days against the N days
  before, From / To against as many days before From (``previous_days``).
- Winning days against losing days (a day counts by its net P&L; a flat day is in
  neither): how many trades, how large, how long held, in R. Tradervue's question
  "what do I do differently on the days I lose?".
- Long against short.
- With each mistake against without it, and what each mistake cost: Edgewonk's
  question, answered in money and in R. The trades with a mistake are set against the
  selection's other closed trades; what the mistake cost is what those trades made
  beyond what the same number of trades made on average without it:
  (expectancy with - expectancy without) x trades with, in money, and the same in R
  over the trades with an initial stop. A negative cost is money the mistake lost.

Figures are the journal's (journal.analytics.metrics: the daily rows of
journal.analytics.aggregates, the reviews' groups of journal.analytics.reviewed).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from journal.analytics import performance


def previous_days(period: str, since: date | None, until: date | None) -> tuple[date, date] | None:
    """[since, until) of the period before [since, until): the same kind of period
    (yesterday, last week, last month, the same number of days); None for all time or
    an open-ended range."""
    if since is None or until is None:
        return None
    if period == "week":
        return since - timedelta(days=7), since
    if period == "month":
        return (since - timedelta(days=1)).replace(day=1), since
    return since - (until - since), since


def change(this: Decimal | int | None, before: Decimal | int | None) -> Decimal | None:
    """this - before, None where either is missing."""
    if this is None or before is None:
        return None
    return Decimal(this) - Decimal(before)


def day_groups(days: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{"winning": ..., "losing": ...}: the days of each kind with their trades folded
    (days, trades, wins, net P&L, holding seconds, trades with R, sum of R) and the
    figures that follow (trades per day, win rate, P&L per trade, per day, average R,
    average holding in seconds)."""
    out = {}
    for name, keep in (("winning", lambda v: v > 0), ("losing", lambda v: v < 0)):
        chosen = [day for day in days if keep(day["net_pnl"])]
        group = {
            "days": len(chosen),
            "trades": sum(day["trades"] for day in chosen),
            "wins": sum(day["wins"] for day in chosen),
            "net_pnl": sum((day["net_pnl"] for day in chosen), Decimal(0)),
            "holding_seconds": sum((Decimal(day["holding_seconds"]) for day in chosen), Decimal(0)),
            "r_trades": sum(day["r_trades"] for day in chosen),
            "r_sum": sum((Decimal(day["r_sum"]) for day in chosen), Decimal(0)),
        }
        group.update(
            trades_per_day=performance.ratio(group["trades"], group["days"]),
            win_rate=performance.ratio(group["wins"], group["trades"]),
            expectancy=performance.ratio(group["net_pnl"], group["trades"]),
            per_day=performance.ratio(group["net_pnl"], group["days"]),
            expectancy_r=performance.ratio(group["r_sum"], group["r_trades"]),
            average_holding=performance.ratio(group["holding_seconds"], group["trades"]),
        )
        out[name] = group
    return out


def mistake_rows(
    mistakes: list[dict[str, Any]], any_mistake: list[dict[str, Any]], total: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each mistake (and, first, any mistake at all) with and without it, and its cost.

    ``mistakes`` and ``any_mistake`` are journal.analytics.reviewed's rows (trades, wins,
    net_pnl, r_trades, expectancy_r); ``total`` the selection's summary (trades, wins,
    net_pnl, r_trades, expectancy_r). The trades without a mistake are the selection's
    others: total - with."""
    r_sum_total = _r_sum(total)
    rows = []
    for label, row in [("any mistake", r) for r in any_mistake] + [
        (r["mistake"], r) for r in mistakes
    ]:
        with_r_sum = _r_sum(row)
        without = {
            "trades": total["trades"] - row["trades"],
            "wins": total["wins"] - row["wins"],
            "net_pnl": total["net_pnl"] - row["net_pnl"],
            "r_trades": total["r_trades"] - row["r_trades"],
            "r_sum": r_sum_total - with_r_sum,
        }
        without.update(
            win_rate=performance.ratio(without["wins"], without["trades"]),
            expectancy=performance.ratio(without["net_pnl"], without["trades"]),
            expectancy_r=performance.ratio(without["r_sum"], without["r_trades"]),
        )
        with_ = {
            "trades": row["trades"],
            "wins": row["wins"],
            "net_pnl": row["net_pnl"],
            "r_trades": row["r_trades"],
            "r_sum": with_r_sum,
            "win_rate": performance.ratio(row["wins"], row["trades"]),
            "expectancy": performance.ratio(row["net_pnl"], row["trades"]),
            "expectancy_r": row.get("expectancy_r"),
        }
        rows.append(
            {
                "mistake": label,
                "any": label == "any mistake" and row in any_mistake,
                "with": with_,
                "without": without,
                "cost": _cost(with_["expectancy"], without["expectancy"], with_["trades"]),
                "cost_r": _cost(with_["expectancy_r"], without["expectancy_r"], row["r_trades"]),
            }
        )
    return rows


def _r_sum(row: dict[str, Any]) -> Decimal:
    """The sum of R of a row that gives its mean (expectancy_r) and count (r_trades)."""
    if "r_sum" in row:
        return Decimal(row["r_sum"])
    mean = row.get("expectancy_r")
    return Decimal(0) if mean is None else mean * row["r_trades"]


def _cost(with_mean, without_mean, count: int) -> Decimal | None:
    """(mean with - mean without) x count: what the trades with the mistake made beyond
    as many trades without it (None where a side has no trade to compare)."""
    if with_mean is None or without_mean is None or not count:
        return None
    return (with_mean - without_mean) * count
