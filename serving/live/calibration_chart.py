"""Server-side SVG of a version's live figures: the calibration (reliability) chart.

No Django import and no JavaScript (the Content-Security-Policy allows neither inline
script nor inline style): one <svg> string, colours as SVG attributes, each point a
<circle class="calibration-point"> with ``data-*`` attributes and a <title> tooltip.
"""

from __future__ import annotations

from html import escape

from serving.live.judging import Calibration

SIZE = 260
PAD = 36
BLUE, GREY, GRID = "#1565c0", "#888888", "#d0d0d0"


def _x(value: float) -> float:
    return PAD + value * (SIZE - 2 * PAD)


def _y(value: float) -> float:
    return SIZE - PAD - value * (SIZE - 2 * PAD)


def calibration_svg(calibration: Calibration) -> str:
    """Mean predicted probability (x) against the realised win rate (y) per bin, a
    point's area by its trades; the diagonal is perfect calibration."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="calibration-chart" '
        f'viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" height="{SIZE}" role="img" '
        'aria-label="Calibration: predicted probability against realised win rate">',
        f'<rect x="{PAD}" y="{PAD}" width="{SIZE - 2 * PAD}" height="{SIZE - 2 * PAD}" '
        f'fill="none" stroke="{GRID}"/>',
        f'<line x1="{_x(0)}" y1="{_y(0)}" x2="{_x(1)}" y2="{_y(1)}" stroke="{GREY}" '
        'stroke-dasharray="4 3"/>',
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<text class="axis" x="{_x(tick):.1f}" y="{SIZE - PAD + 14}" '
            f'text-anchor="middle">{tick:g}</text>'
            f'<text class="axis" x="{PAD - 6}" y="{_y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    parts.append(
        f'<text class="axis" x="{SIZE / 2}" y="{SIZE - 4}" text-anchor="middle">'
        "predicted probability</text>"
        f'<text class="axis" x="10" y="{SIZE / 2}" text-anchor="middle" '
        f'transform="rotate(-90 10 {SIZE / 2})">realised win rate</text>'
    )
    most = max((b.trades for b in calibration.bins), default=0) or 1
    for b in calibration.bins:
        if not b.trades:
            continue
        radius = 3 + 9 * (b.trades / most) ** 0.5
        tooltip = (
            f"{b.low:.1f} to {b.high:.1f}: {b.trades} trade(s), predicted "
            f"{b.mean_predicted:.3f}, won {b.win_rate:.3f}"
        )
        parts.append(
            f'<circle class="calibration-point" cx="{_x(b.mean_predicted):.1f}" '
            f'cy="{_y(b.win_rate):.1f}" r="{radius:.1f}" fill="{BLUE}" fill-opacity="0.7" '
            f'data-bin="{b.low:.1f}" data-trades="{b.trades}" '
            f'data-predicted="{b.mean_predicted:.4f}" data-won="{b.win_rate:.4f}">'
            f"<title>{escape(tooltip)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
