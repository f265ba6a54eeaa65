"""Server-side SVG for the leaderboard: a CI forest plot, a predicted win-rate heatmap, a battle-count
matrix. Plain strings in, escaped SVG out: no Django, no JavaScript, no CDN.

Every figure scales to its container (viewBox, width 100%) and is sized so that its text stays
readable when a 390 px phone shrinks it. Pages pair each figure with a table for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

LABEL_WIDTH = 130
ROW_HEIGHT = 22
PLOT_WIDTH = 270
CELL = 30
FONT = 'font-family="system-ui, sans-serif" font-size="11"'
LABEL_CHARS = 20


def _label(name: str) -> str:
    return escape(name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…")


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    span = max(high - low, 1e-9)
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) / step) + 1)]


def forest_plot(rows: Sequence[Mapping], *, title: str) -> str:
    """Each model's rating (dot) and interval (bar), best first; an open side runs to the edge as an
    arrow, and a model without a finite rating gets a hollow marker at its bound."""
    values = [v for row in rows for v in (row["rating"], row["ci_low"], row["ci_high"]) if v is not None]
    if not values:
        return ""
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 10.0)
    low, high = low - pad, high + pad
    top = 24
    height = top + ROW_HEIGHT * len(rows) + 8
    width = LABEL_WIDTH + PLOT_WIDTH + 24  # room for the last tick label

    def x(value: float) -> float:
        return LABEL_WIDTH + (value - low) / (high - low) * PLOT_WIDTH

    parts = [_svg_open(width, height, title)]
    for tick in _nice_ticks(low, high):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{height - 8}" '
                     'stroke="#dde3ea"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{top - 8}" text-anchor="middle" fill="#5b6672">{tick:,.0f}</text>')
    for k, row in enumerate(rows):
        y = top + ROW_HEIGHT * k + ROW_HEIGHT / 2
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 4:.1f}" text-anchor="end">{_label(row["model"])}</text>')
        start = x(row["ci_low"]) if row["ci_low"] is not None else LABEL_WIDTH
        end = x(row["ci_high"]) if row["ci_high"] is not None else LABEL_WIDTH + PLOT_WIDTH
        parts.append(f'<line x1="{start:.1f}" y1="{y:.1f}" x2="{end:.1f}" y2="{y:.1f}" stroke="#2b5fd9" '
                     'stroke-width="2"/>')
        if row["ci_high"] is None:
            parts.append(_arrow(end, y, 1))
        if row["ci_low"] is None:
            parts.append(_arrow(start, y, -1))
        if row["rating"] is not None:
            parts.append(f'<circle cx="{x(row["rating"]):.1f}" cy="{y:.1f}" r="4" fill="#2b5fd9"/>')
        else:
            bound = start if row["ci_low"] is not None else end
            parts.append(f'<circle cx="{bound:.1f}" cy="{y:.1f}" r="4" fill="#fff" stroke="#2b5fd9" '
                         'stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _arrow(x: float, y: float, direction: int) -> str:
    tip = x + 6 * direction
    return (f'<path d="M{x:.1f},{y - 5:.1f} L{tip:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} Z" fill="#2b5fd9"/>')


def _svg_open(width: float, height: float, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'role="img" aria-label="{escape(title)}" {FONT} fill="#1d232a" class="plot">'
            f"<title>{escape(title)}</title>")


def matrix_plot(models: Sequence[str], values: Sequence[Sequence[float | None]], *, title: str,
                kind: str) -> str:
    """A square matrix: row model against column model. ``kind`` "winrate" colours 0..1 from red
    through white to blue and prints percentages; "count" shades by log count and prints counts."""
    n = len(models)
    if n == 0:
        return ""
    # Room above for the column labels, slanted at 60 degrees: about 6 px of height per character.
    top = 12 + 6 * max(min(len(name), LABEL_CHARS) for name in models)
    width = LABEL_WIDTH + CELL * n + 4
    height = top + CELL * n + 4
    biggest = max((v for row in values for v in row if v), default=1) or 1
    parts = [_svg_open(width, height, title)]
    for k, name in enumerate(models):
        y = top + CELL * k + CELL / 2 + 4
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y:.1f}" text-anchor="end">{_label(name)}</text>')
        cx = LABEL_WIDTH + CELL * k + CELL / 2 + 4
        parts.append(f'<text transform="translate({cx:.1f},{top - 6}) rotate(-60)">{_label(name)}</text>')
    for i in range(n):
        for j in range(n):
            value = values[i][j]
            x0, y0 = LABEL_WIDTH + CELL * j, top + CELL * i
            fill, text = _cell(value, kind, biggest, i == j)
            parts.append(f'<rect x="{x0}" y="{y0}" width="{CELL - 1}" height="{CELL - 1}" fill="{fill}"/>')
            if text:
                parts.append(f'<text x="{x0 + CELL / 2 - 0.5:.1f}" y="{y0 + CELL / 2 + 4:.1f}" '
                             f'text-anchor="middle" font-size="10">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _cell(value: float | None, kind: str, biggest: float, diagonal: bool) -> tuple[str, str]:
    if diagonal or value is None:
        return "#f3f5f8", ""
    if kind == "winrate":
        return _diverging(value), f"{100 * value:.0f}"
    if value == 0:
        return "#ffffff", ""
    share = math.log1p(value) / math.log1p(biggest)
    return _mix((255, 255, 255), (120, 160, 235), share), _short_count(value)


def _short_count(value: float) -> str:
    value = int(value)
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return str(value)


def _diverging(p: float) -> str:
    """Red below one half, blue above, white at one half."""
    if p >= 0.5:
        return _mix((255, 255, 255), (80, 130, 230), min(1.0, (p - 0.5) * 2))
    return _mix((255, 255, 255), (225, 100, 90), min(1.0, (0.5 - p) * 2))


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], share: float) -> str:
    r, g, bl = (round(x + (y - x) * share) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"
