"""A small inline SVG line chart, drawn on the server: no chart library, no CDN, nothing the
browser loads from anywhere but this dashboard (and no matplotlib in a process kept small).
Every text in the SVG is escaped. Standard library only."""

from __future__ import annotations

from html import escape

from bot.dashboard.equity import Curve

WIDTH, HEIGHT, PAD = 640, 220, 40
EQUITY_COLOR, HOLD_COLOR = "#1f77b4", "#999999"


def _path(values: list[float | None], low: float, high: float) -> str:
    """An SVG path through the points (a gap where a value is None)."""
    span = (high - low) or 1.0
    n = max(len(values) - 1, 1)
    parts, pen_down = [], False
    for i, v in enumerate(values):
        if v is None:
            pen_down = False
            continue
        x = PAD + (WIDTH - 2 * PAD) * i / n
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (v - low) / span
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(parts)


def equity_svg(curve: Curve, title: str) -> str:
    """The account's equity (blue) against buy and hold (grey), or a note when there is none."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{WIDTH}" height="{HEIGHT}"><title>{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>'
        f'<text x="{PAD}" y="20" font-size="13" font-family="sans-serif">{escape(title)}</text>'
    )
    if not curve.equity:
        return head + f'<text x="{PAD}" y="{HEIGHT // 2}" font-size="12">no equity recorded yet</text></svg>'
    values = [*curve.equity, *(h for h in curve.hold if h is not None)]
    low, high = min(values), max(values)
    labels = (
        f'<text x="2" y="{PAD}" font-size="10">{high:,.0f}</text>'
        f'<text x="2" y="{HEIGHT - PAD}" font-size="10">{low:,.0f}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 12}" font-size="10">{escape(curve.times[0][:16])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 12}" font-size="10" text-anchor="end">'
        f"{escape(curve.times[-1][:16])}</text>"
        f'<text x="{WIDTH - PAD}" y="20" font-size="11" text-anchor="end" fill="{EQUITY_COLOR}">equity'
        f'<tspan fill="{HOLD_COLOR}"> / buy and hold</tspan></text>'
    )
    lines = (
        f'<path d="{_path(curve.hold, low, high)}" fill="none" stroke="{HOLD_COLOR}" stroke-width="1.2"/>'
        f'<path class="equity-line" d="{_path(list(curve.equity), low, high)}" fill="none"'
        f' stroke="{EQUITY_COLOR}" stroke-width="1.6"/>'
    )
    return head + labels + lines + "</svg>"
