"""PNG charts for reports: rendered with matplotlib's Agg backend, embedded, never linked.

E-mail clients block remote images and many block scripts, so every chart is a self-contained
PNG. Matplotlib is imported inside the functions (it is heavy) and only its object API is used,
never pyplot's global state, so charts can be drawn from several threads.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from vigil.report.content import Chart, DriftTable

_WIDTH_IN, _HEIGHT_IN, _DPI = 7.5, 2.4, 96


def chart_png(chart: Chart) -> bytes:
    """The series as a line, its band shaded, anomalous steps as red dots; a performance
    metric's estimate as a dotted line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    times = chart.series.timestamps.astype("datetime64[s]").astype("O")
    values = chart.series.values
    if chart.lower is not None and chart.upper is not None:
        axes.fill_between(
            times,
            chart.lower,
            chart.upper,
            color="#9ecae1",
            alpha=0.5,
            linewidth=0,
            label="expected band",
        )
    if chart.expected is not None:
        axes.plot(
            times, chart.expected, color="#3182bd", linewidth=0.8, linestyle="--", label="expected"
        )
    axes.plot(times, values, color="#222222", linewidth=1.0, label="value")
    if chart.estimate is not None:
        axes.plot(
            times,
            chart.estimate,
            color="#ff7f0e",
            linewidth=1.0,
            linestyle=":",
            label="estimated from scores",
        )
    if chart.anomalous is not None and bool(np.any(chart.anomalous)):
        flagged = np.flatnonzero(chart.anomalous)
        axes.scatter(
            [times[i] for i in flagged],
            values[flagged],
            color="#d62728",
            s=14,
            zorder=3,
            label="anomaly",
        )
    axes.set_title(_fitting(chart.title, 110), fontsize=9, loc="left")
    axes.tick_params(labelsize=7)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=6, loc="upper left", frameon=False)
    figure.autofmt_xdate()
    return _png(figure)


def heatmap_png(table: DriftTable) -> bytes:
    """Drift per column and window; darker is more drift."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = max(len(table.columns), 1)
    figure = Figure(figsize=(_WIDTH_IN, 1.0 + 0.22 * rows), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    values = np.where(np.isfinite(table.values), table.values, np.nan)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 1.0
    image = axes.imshow(
        values,
        aspect="auto",
        cmap="Reds",
        vmin=0.0,
        vmax=top if top > 0 and math.isfinite(top) else 1.0,
        interpolation="nearest",
    )
    labels = [_fitting(column, 40) for column in table.columns]
    axes.set_yticks(range(len(table.columns)), labels=labels, fontsize=7)
    step = max(1, len(table.windows) // 8)
    ticks = list(range(0, len(table.windows), step))
    axes.set_xticks(
        ticks,
        labels=[table.windows[i].strftime("%m-%d %H:%M") for i in ticks],
        fontsize=6,
        rotation=30,
    )
    axes.set_title(f"drift ({table.statistic}) per feature and window", fontsize=9, loc="left")
    figure.colorbar(image, ax=axes, fraction=0.03)
    return _png(figure)


def _fitting(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters for drawing: names run to 256 characters, a chart
    is 7.5 inches wide, and the page around the chart shows the whole name."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    with _missing_glyphs_drawn_as_boxes():
        figure.tight_layout()  # type: ignore[attr-defined]
        figure.savefig(buffer, format="png")  # type: ignore[attr-defined]
    return buffer.getvalue()


@contextmanager
def _missing_glyphs_drawn_as_boxes() -> Iterator[None]:
    """A name in a script the chart font lacks (a Chinese model name) is drawn as boxes, which
    matplotlib warns about once per glyph; the page around the chart shows the name as text."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield
