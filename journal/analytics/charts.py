"""The data of the dashboard's charts (no Django import).

The page draws its charts in the browser with uPlot (journal/static/journal/vendor/uplot,
driven by journal/static/journal/dashboard.js): a real time axis (days placed by date,
weekends and holidays as gaps), readable ticks, a tooltip on hover. The data reaches
the script as JSON in the page (Django's json_script), since the Content-Security-Policy
allows no inline script: this module builds that JSON from a report. Amounts become
floats here, for drawing only; the tables and tiles show the exact decimals.
"""

from __future__ import annotations

from calendar import timegm
from datetime import date
from decimal import Decimal
from typing import Any


def epoch(day: date) -> int:
    """The UTC midnight of ``day`` in seconds, uPlot's time unit."""
    return timegm(day.timetuple())


def plain(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 66.30000000 -> "66.3", 2E+2 -> "200"."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text == "-0" else text


def _float(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def r_label(low: Decimal | None, high: Decimal | None) -> str:
    """A bucket of the R histogram in words: "< -3R", "-1R to -0.5R", ">= 5R"."""

    def r(value: Decimal) -> str:
        text = format(value.normalize(), "f")
        return f"{'+' if value > 0 else ''}{text}R"

    if low is None:
        return f"< {r(high)}"
    if high is None:
        return f"≥ {r(low)}"
    return f"{r(low)} to {r(high)}"


def payload(report: dict[str, Any], currency: str) -> dict[str, Any]:
    """What dashboard.js draws: the daily series, the R histogram, P&L per hour."""
    days = report["by_day"]
    histogram = report["r_histogram"]
    return {
        "currency": currency,
        "days": [epoch(row["day"]) for row in days],
        "trades": [row["trades"] for row in days],
        "net": [_float(row["net_pnl"]) for row in days],
        "equity": [_float(row["equity"]) for row in days],
        # A drawdown is a fall: drawn below zero.
        "drawdown": [-_float(row["drawdown"]) for row in days],
        "r_histogram": {
            "labels": [r_label(row["low"], row["high"]) for row in histogram],
            "counts": [row["trades"] for row in histogram],
            # Where each bucket sits on an R axis (the open ends half a bucket out).
            "centres": [_centre(row) for row in histogram],
        },
        "hours": {
            "hours": [row["hour"] for row in report["by_hour"]],
            "net": [_float(row["net_pnl"]) for row in report["by_hour"]],
            "trades": [row["trades"] for row in report["by_hour"]],
        },
    }


def _centre(row: dict[str, Any]) -> float:
    low, high = row["low"], row["high"]
    if low is None:
        return float(high) - 0.25
    if high is None:
        return float(low) + 0.25
    return float(low + high) / 2
