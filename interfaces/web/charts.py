"""Small inline SVG line charts (no script, no library): the ledger's error and coverage per cycle."""

from __future__ import annotations

import math
from html import escape


def line_chart(values: list[float | None], *, title: str, y_label: str, y_min: float | None = None,
               y_max: float | None = None, target: float | None = None, width: int = 320,
               height: int = 150, chart_id: str = "",
               x_label: str = "") -> str:
    """A one-series line chart over points 1..n (cycles unless ``x_label`` says otherwise); missing values leave a gap; ``target`` is a dashed line.

    Returns an ``<svg>`` element with a ``<title>`` and one ``<circle>`` per point carrying
    ``data-value`` (so tests and screen readers see the numbers drawn).
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    left, right, top, bottom = 44, 10, 22, 30
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f"<title>{escape(title)}</title>",
           f'<text x="{left}" y="14" font-size="12" font-weight="600">{escape(title)}</text>']
    if not finite:
        svg.append(f'<text x="{left}" y="{height // 2}" font-size="12" fill="#556274">no scored cycle yet</text>')
        return "".join(svg) + "</svg>"
    lo = min(finite + ([target] if target is not None else [])) if y_min is None else y_min
    hi = max(finite + ([target] if target is not None else [])) if y_max is None else y_max
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = len(values)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    svg.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#9aa5b5"/>')
    svg.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#9aa5b5"/>')
    for v in (lo, hi):
        svg.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{v:.2g}</text>')
    svg.append(f'<text x="10" y="{top + plot_h / 2:.1f}" font-size="10" transform="rotate(-90 10 '
               f'{top + plot_h / 2:.1f})" text-anchor="middle">{escape(y_label)}</text>')
    svg.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" font-size="10" text-anchor="middle">'
               f'{escape(x_label) if x_label else f"cycle (model) 1–{n}"}</text>')
    if target is not None:
        svg.append(f'<line x1="{left}" y1="{y(target):.1f}" x2="{left + plot_w}" y2="{y(target):.1f}" '
                   f'stroke="#1f7a3a" stroke-dasharray="4 3"/>')
    segment: list[str] = []
    for i, v in enumerate(values + [None]):
        if v is not None and math.isfinite(v):
            segment.append(f"{x(i):.1f},{y(v):.1f}")
        elif segment:
            svg.append(f'<polyline fill="none" stroke="#23395d" stroke-width="2" points="{" ".join(segment)}"/>')
            segment = []
    for i, v in enumerate(values):
        if v is not None and math.isfinite(v):
            svg.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="#23395d" data-value="{v:.3f}">'
                       f"<title>cycle {i + 1}: {v:.2f}</title></circle>")
    return "".join(svg) + "</svg>"
