"""The P&L calendar: month grids of daily net P&L (no Django import).

Each month is a grid of weeks, Monday first; a day with closed trades carries its net
P&L, its trade count and a shade (1 to 4, by its size against the largest day shown),
positive or negative. Days without a closed trade are blank, days outside the month
are empty cells.
"""

from __future__ import annotations

import calendar as _calendar
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

MAX_MONTHS = 12
SHADES = 4


@dataclass(frozen=True)
class Day:
    day: date
    net_pnl: Decimal | None  # None: no closed trade that day
    trades: int = 0
    shade: int = 0  # 1..SHADES for a day with a P&L; 0 for none or exactly 0

    @property
    def sign(self) -> str:
        if not self.net_pnl:
            return "flat" if self.net_pnl is not None else "none"
        return "up" if self.net_pnl > 0 else "down"


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    weeks: list[list[Day | None]]
    net_pnl: Decimal
    trades: int
    days_up: int
    days_down: int

    @property
    def title(self) -> str:
        return f"{_calendar.month_name[self.month]} {self.year}"


def months(days: list[dict], *, limit: int = MAX_MONTHS) -> tuple[list[Month], int]:
    """Month grids of the daily rows ({day, net_pnl, trades}), the latest ``limit``
    months that have trades, oldest first; and how many earlier months were left out."""
    by_day = {row["day"]: row for row in days}
    wanted = sorted({(d.year, d.month) for d in by_day})
    left_out = max(0, len(wanted) - limit)
    wanted = wanted[left_out:]
    shown = [row for row in days if (row["day"].year, row["day"].month) in set(wanted)]
    largest = max((abs(row["net_pnl"]) for row in shown), default=Decimal(0))
    out = []
    for year, month in wanted:
        weeks = []
        for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells: list[Day | None] = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                row = by_day.get(day)
                if row is None:
                    cells.append(Day(day, None))
                    continue
                cells.append(
                    Day(day, row["net_pnl"], row["trades"], shade(row["net_pnl"], largest))
                )
            weeks.append(cells)
        rows = [by_day[d] for d in by_day if (d.year, d.month) == (year, month)]
        out.append(
            Month(
                year=year,
                month=month,
                weeks=weeks,
                net_pnl=sum((r["net_pnl"] for r in rows), Decimal(0)),
                trades=sum(r["trades"] for r in rows),
                days_up=sum(1 for r in rows if r["net_pnl"] > 0),
                days_down=sum(1 for r in rows if r["net_pnl"] < 0),
            )
        )
    return out, left_out


def shade(value: Decimal, largest: Decimal) -> int:
    """1..SHADES by |value| / largest (a quarter of the largest day or less is 1)."""
    if not value or not largest:
        return 0
    return max(1, min(SHADES, math.ceil(SHADES * abs(value) / largest)))
