"""Server-side SVG charts of the dashboard: equity curve, daily P&L bars, drawdown.

No Django import and no JavaScript: each chart is one <svg> string whose data points
(<circle> or <rect>) carry ``data-day`` and ``data-value`` and a <title> tooltip, so the
browser shows the figure on hover and a test can count the points. Hundreds of days
stay readable: the x axis shows at most a handful of dates, and more than
``MAX_BARS`` daily bars are summed into weekly bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from html import escape

WIDTH = 900
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 12, 28
MAX_BARS = 180
MAX_X_LABELS = 8
GREEN, RED, BLUE, GRID = "#2e7d32", "#c62828", "#1565c0", "#d0d0d0"

Point = tuple[date, Decimal]


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``span`` in ~``ticks``."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def money(value: float | Decimal) -> str:
    """1234.5 -> "1,234.50"; large figures lose the cents ("12,345")."""
    number = float(value)
    return f"{number:,.0f}" if abs(number) >= 10_000 else f"{number:,.2f}"


def weekly(points: Sequence[Point]) -> list[Point]:
    """Sum daily points into ISO weeks, each dated by its Monday."""
    weeks: dict[date, Decimal] = {}
    for day, value in points:
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, Decimal(0)) + value
    return sorted(weeks.items())


class _Frame:
    """The plot area and the mapping of (index, value) to pixels."""

    def __init__(self, values: Sequence[float], count: int):
        low, high = min(0.0, *values), max(0.0, *values)
        if low == high:
            high = low + 1.0
        step = nice_step(high - low)
        self.low = math.floor(low / step) * step
        self.high = math.ceil(high / step) * step
        self.step = step
        self.count = count
        self.plot_width = WIDTH - LEFT - RIGHT
        self.plot_height = HEIGHT - TOP - BOTTOM

    def x(self, index: int) -> float:
        """The centre of slot ``index`` of ``count`` equal slots."""
        return LEFT + (index + 0.5) * self.plot_width / self.count

    def slot(self) -> float:
        return self.plot_width / self.count

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return TOP + (1 - share) * self.plot_height

    def axes(self, days: Sequence[date]) -> list[str]:
        parts = []
        tick = self.low
        while tick <= self.high + self.step / 2:
            y = self.y(tick)
            colour = "#888" if abs(tick) < self.step / 1000 else GRID
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{colour}" stroke-width="1"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                f"{escape(money(tick))}</text>"
            )
            tick += self.step
        every = max(1, math.ceil(len(days) / MAX_X_LABELS))
        for index in range(0, len(days), every):
            parts.append(
                f'<text x="{self.x(index):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'class="axis">{days[index].isoformat()}</text>'
            )
        return parts


def _svg(name: str, label: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(parts) + "</svg>"
    )


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 66.30000000 -> "66.3", 2E+2 -> "200"."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def _point_attributes(day: date, value: Decimal, label: str) -> tuple[str, str]:
    attributes = f'data-day="{day.isoformat()}" data-value="{plain(value)}"'
    title = f"<title>{escape(label)} {day.isoformat()}: {escape(money(value))}</title>"
    return attributes, title


def line_chart(name: str, label: str, points: Sequence[Point], colour: str = BLUE) -> str:
    """A line through ``points`` with a circle at each one; an area down to 0 for drawdown."""
    if not points:
        return ""
    frame = _Frame([float(v) for _, v in points], len(points))
    coordinates = [(frame.x(i), frame.y(float(v))) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    parts = frame.axes([day for day, _ in points])
    if name == "drawdown":
        zero = frame.y(0.0)
        area = f"{coordinates[0][0]:.1f},{zero:.1f} {path} {coordinates[-1][0]:.1f},{zero:.1f}"
        parts.append(f'<polygon points="{area}" fill="{colour}" fill-opacity="0.15"/>')
    parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    radius = 2.5 if len(points) <= 120 else 1.5
    for (day, value), (x, y) in zip(points, coordinates, strict=True):
        attributes, title = _point_attributes(day, value, label)
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}" '
            f"{attributes}>{title}</circle>"
        )
    return _svg(name, label, parts)


def bar_chart(name: str, label: str, points: Sequence[Point]) -> str:
    """One bar per point from the zero line, green up and red down."""
    if not points:
        return ""
    if len(points) > MAX_BARS:
        points = weekly(points)
        label = f"{label} (summed by week)"
    frame = _Frame([float(v) for _, v in points], len(points))
    parts = frame.axes([day for day, _ in points])
    width = max(frame.slot() * 0.8, 1.0)
    zero = frame.y(0.0)
    for index, (day, value) in enumerate(points):
        top = frame.y(float(value))
        y, height = min(top, zero), max(abs(zero - top), 0.5)
        attributes, title = _point_attributes(day, value, label)
        parts.append(
            f'<rect class="point" x="{frame.x(index) - width / 2:.1f}" y="{y:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}" '
            f'fill="{GREEN if value >= 0 else RED}" {attributes}>{title}</rect>'
        )
    return _svg(name, label, parts)
