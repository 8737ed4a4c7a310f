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
from datetime import date, timedelta
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


# -- one month, with its weeks' totals (the dashboard's calendar) ---------------------------


@dataclass(frozen=True)
class Week:
    """A calendar row: Monday to Sunday, the month's days in it, and the whole week's
    total (its days in the next or previous month included: a trader's week)."""

    monday: date
    days: list[Day | None]  # None: a day of another month
    net_pnl: Decimal | None  # None: no closed trade that week
    trades: int

    @property
    def sign(self) -> str:
        if not self.net_pnl:
            return "flat" if self.net_pnl is not None else "none"
        return "up" if self.net_pnl > 0 else "down"


@dataclass(frozen=True)
class MonthGrid:
    first: date  # the month's first day
    weeks: list[Week]
    net_pnl: Decimal
    trades: int
    days_up: int
    days_down: int

    @property
    def title(self) -> str:
        return f"{_calendar.month_name[self.first.month]} {self.first.year}"

    @property
    def previous(self) -> date:
        return (self.first - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date:
        return (self.first + timedelta(days=32)).replace(day=1)


def month_span(first: date) -> tuple[date, date]:
    """[Monday of the month's first week, the Monday after its last week): the days a
    month's grid and its weekly totals read."""
    start = first - timedelta(days=first.weekday())
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return start, last + timedelta(days=7 - last.weekday())


def month_grid(first: date, days: list[dict]) -> MonthGrid:
    """The grid of ``first``'s month from daily rows ({day, net_pnl, trades}) that cover
    at least its weeks (month_span): each day's P&L and shade, each week's total."""
    by_day = {row["day"]: row for row in days}
    in_month = [row for d, row in by_day.items() if (d.year, d.month) == (first.year, first.month)]
    largest = max((abs(row["net_pnl"]) for row in in_month), default=Decimal(0))
    weeks = []
    for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        cells: list[Day | None] = []
        for day in week:
            if day.month != first.month:
                cells.append(None)
                continue
            row = by_day.get(day)
            if row is None:
                cells.append(Day(day, None))
            else:
                cells.append(
                    Day(day, row["net_pnl"], row["trades"], shade(row["net_pnl"], largest))
                )
        rows = [by_day[d] for d in week if d in by_day]
        weeks.append(
            Week(
                monday=week[0],
                days=cells,
                net_pnl=sum((r["net_pnl"] for r in rows), Decimal(0)) if rows else None,
                trades=sum(r["trades"] for r in rows),
            )
        )
    return MonthGrid(
        first=first,
        weeks=weeks,
        net_pnl=sum((r["net_pnl"] for r in in_month), Decimal(0)),
        trades=sum(r["trades"] for r in in_month),
        days_up=sum(1 for r in in_month if r["net_pnl"] > 0),
        days_down=sum(1 for r in in_month if r["net_pnl"] < 0),
    )
