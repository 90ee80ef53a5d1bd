"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched from anywhere.

A series chart shows the values as a line, the expected band as a shaded area and anomalous
steps as red dots whose tooltip gives the evidence. The only text that comes from data (the
tooltip) goes through :func:`markupsafe.escape`; everything else is numbers this module formats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from markupsafe import Markup, escape

from vigil.detect import Anomaly

FloatArray = npt.NDArray[np.float64]
WIDTH, HEIGHT = 560, 150
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 8, 22


@dataclass(frozen=True, slots=True, kw_only=True)
class Plot:
    """What one chart draws: aligned arrays (seconds since the epoch) and the anomalies."""

    seconds: npt.NDArray[np.int64]
    values: FloatArray
    lower: FloatArray | None = None
    upper: FloatArray | None = None
    anomalies: Sequence[Anomaly] = ()


def series_svg(plot: Plot, *, label: str) -> Markup:
    """An accessible SVG of ``plot``; ``label`` (escaped) names it for screen readers."""
    finite = [plot.values[np.isfinite(plot.values)]]
    for band in (plot.lower, plot.upper):
        if band is not None:
            finite.append(band[np.isfinite(band)])
    finite.append(np.array([a.value for a in plot.anomalies if math.isfinite(a.value)]))
    every = np.concatenate(finite) if finite else np.array([])
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    if len(plot.seconds) == 0 or len(every) == 0:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="empty">no data</text></svg>')
        return Markup("".join(parts))
    low, high = float(every.min()), float(every.max())
    scale = max(abs(low), abs(high), 1.0)
    if high - low < 1e-6 * scale:
        # A flat series: centre it rather than magnify rounding noise into a wiggle.
        middle = (low + high) / 2
        low, high = middle - 0.5 * scale, middle + 0.5 * scale
    pad = 0.06 * (high - low)
    low, high = low - pad, high + pad
    t0, t1 = int(plot.seconds[0]), int(plot.seconds[-1])
    span = max(t1 - t0, 1)

    def x(seconds: float) -> float:
        return LEFT + (seconds - t0) / span * (WIDTH - LEFT - RIGHT)

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM)

    parts.append(_axes(low, high, t0, t1, y))
    if plot.lower is not None and plot.upper is not None:
        for start, stop in _runs(np.isfinite(plot.lower) & np.isfinite(plot.upper)):
            upper = [
                f"{x(s):.1f},{y(v):.1f}"
                for s, v in zip(plot.seconds[start:stop], plot.upper[start:stop], strict=True)
            ]
            lower = [
                f"{x(s):.1f},{y(v):.1f}"
                for s, v in zip(plot.seconds[start:stop], plot.lower[start:stop], strict=True)
            ]
            parts.append(f'<polygon class="band" points="{" ".join(upper + lower[::-1])}"/>')
    for start, stop in _runs(np.isfinite(plot.values)):
        points = " ".join(
            f"{x(s):.1f},{y(v):.1f}"
            for s, v in zip(plot.seconds[start:stop], plot.values[start:stop], strict=True)
        )
        if stop - start == 1:
            s, v = plot.seconds[start], plot.values[start]
            parts.append(f'<circle class="point" cx="{x(s):.1f}" cy="{y(v):.1f}" r="1.8"/>')
        else:
            parts.append(f'<polyline class="line" points="{points}"/>')
    for anomaly in plot.anomalies:
        seconds = anomaly.timestamp.timestamp()
        if not (t0 <= seconds <= t1 and math.isfinite(anomaly.value)):
            continue
        tip = (
            f"{anomaly.timestamp:%Y-%m-%d %H:%M} UTC: {format_number(anomaly.value)} "
            f"(expected {format_number(anomaly.expected)}, band {format_number(anomaly.lower)}"
            f" … {format_number(anomaly.upper)}; {anomaly.detector})"
        )
        parts.append(
            f'<circle class="anomaly" cx="{x(seconds):.1f}" cy="{y(anomaly.value):.1f}" r="4">'
            f"<title>{escape(tip)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _axes(low: float, high: float, t0: int, t1: int, y: Callable[[float], float]) -> str:
    bottom = HEIGHT - BOTTOM
    texts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}"/>',
    ]
    for value in (low, (low + high) / 2, high):
        level = y(value)
        texts.append(
            f'<line class="grid" x1="{LEFT}" y1="{level:.1f}" '
            f'x2="{WIDTH - RIGHT}" y2="{level:.1f}"/>'
        )
        texts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{level + 3:.1f}" text-anchor="end">'
            f"{format_number(value)}</text>"
        )
    for seconds, anchor, xpos in ((t0, "start", LEFT), (t1, "end", WIDTH - RIGHT)):
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%b %d %H:%M")
        texts.append(
            f'<text class="tick" x="{xpos}" y="{HEIGHT - 6}" text-anchor="{anchor}">{stamp}</text>'
        )
    return "".join(texts)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``[start, stop)`` of every run of True in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def format_number(value: float) -> str:
    """Three significant digits, ``k``/``M`` for large magnitudes, ``–`` when missing."""
    if not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    return f"{value:.3g}"
