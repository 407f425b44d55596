"""Accessible SVG charts drawn on the server: a title, a description, labelled axes.

Each chart scales to its box (viewBox, width 100%) and keeps its labels large enough to read
at 390 px. The page puts the same numbers in a table behind a <details> toggle, for screen
readers and for anyone who wants the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
LEFT, BOTTOM, TOP = 60, 40, 18  # room for the larger labels a phone draws
COLOURS = ("#b42318", "#b54708", "#175cd3", "#067647", "#5f6670")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]


def _svg(chart_id: str, title: str, description: str, body: list[str], height: int) -> Markup:
    head = (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>'
    )
    # Every interpolated text above went through escape(); numbers are formatted floats.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def stacked_bars(
    chart_id: str, title: str, description: str, labels: Sequence[str], series: Sequence[Series]
) -> Markup:
    """One stacked column per label (a day), one colour per series (a severity)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = max([*totals, 1])
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(labels), 1)
    bar = max(step * 0.7, 1.0)
    body = [
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" '
        f'y2="{TOP + plot_h}" stroke="#8f959e"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 6}" text-anchor="end" font-size="16">{top}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="16">0</text>',
    ]
    for i, label in enumerate(labels):
        x = LEFT + i * step + (step - bar) / 2
        y: float = TOP + plot_h
        for colour, s in zip(COLOURS, series, strict=False):
            h = plot_h * s.values[i] / top
            if h:
                y -= h
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                    f'fill="{colour}"><title>{escape(label)}: {escape(s.label)} '
                    f"{s.values[i]}</title></rect>"
                )
    ends = [(0, "start"), (len(labels) - 1, "end")] if labels else []
    for i, anchor in ends:
        x = LEFT if anchor == "start" else WIDTH - 8
        body.append(
            f'<text x="{x}" y="{HEIGHT - 10}" text-anchor="{anchor}" font-size="16">'
            f"{escape(labels[i])}</text>"
        )
    return _svg(chart_id, title, description, body, HEIGHT)


def horizontal_bars(
    chart_id: str, title: str, description: str, items: Sequence[tuple[str, int]]
) -> Markup:
    """One labelled bar per item, its value written at its end."""
    row = 44
    height = max(len(items), 1) * row + 8
    top = max([n for _, n in items] + [1])
    label_w, plot_w = 180, WIDTH - 180 - 70
    body: list[str] = []
    for i, ((label, n), colour) in enumerate(zip(items, COLOURS[2:] + COLOURS, strict=False)):
        y = 8 + i * row
        w = plot_w * n / top
        body.append(
            f'<text x="{label_w - 8}" y="{y + 24}" text-anchor="end" font-size="18">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="28" fill="{colour}"/>'
            f'<text x="{label_w + w + 8:.1f}" y="{y + 24}" font-size="18">{n}</text>'
        )
    return _svg(chart_id, title, description, body, height)
