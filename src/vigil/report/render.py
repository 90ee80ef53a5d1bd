"""Render reports to HTML (and a plain-text twin) with Jinja2.

Every name that comes from data (model, feature, tag, host) passes through Jinja2's autoescaping:
a feature called ``<script>alert(1)</script>`` is shown as text. Images are embedded either as
``data:`` URIs (a standalone file) or as ``cid:`` references with the bytes returned alongside
(an e-mail with inline parts); nothing in a report loads from the network.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import jinja2
import numpy as np

from vigil.report.charts import chart_png, heatmap_png
from vigil.report.content import Chart, Light, ModelReport


class ImageMode(StrEnum):
    DATA_URI = "data"
    """Images inline as base64 ``data:`` URIs: one self-contained HTML file."""
    CID = "cid"
    """Images referenced as ``cid:NAME``; the bytes come back in ``RenderedReport.images``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedReport:
    html: str
    text: str
    images: dict[str, bytes] = field(default_factory=dict)
    """Content id -> PNG bytes (only in :attr:`ImageMode.CID` mode)."""


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("vigil.report", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEXT_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("vigil.report", "templates"),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class _Images:
    """Turns PNG bytes into an ``src`` value and remembers them for CID mode."""

    def __init__(self, mode: ImageMode) -> None:
        self.mode = mode
        self.images: dict[str, bytes] = {}

    def src(self, png: bytes) -> str:
        if self.mode is ImageMode.DATA_URI:
            return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        content_id = f"chart-{hashlib.sha256(png).hexdigest()[:16]}@vigil"
        self.images[content_id] = png
        return f"cid:{content_id}"

    def chart(self, chart: Chart) -> str:
        return self.src(chart_png(chart))


def render_model_report(
    report: ModelReport, mode: ImageMode = ImageMode.DATA_URI
) -> RenderedReport:
    """The holistic report of one model: lights, incidents, drift, traffic and latency."""
    images = _Images(mode)
    context = {
        "report": report,
        "light_colors": _LIGHT_COLORS,
        "chart_src": images.chart,
        "drift_src": images.src(heatmap_png(report.drift)) if report.drift is not None else None,
    }
    html = _ENV.get_template("model.html.j2").render(**context)
    lines = [line for chart in report.performance if (line := performance_line(chart))]
    text = _TEXT_ENV.get_template("model.txt.j2").render(report=report, performance_lines=lines)
    return RenderedReport(html=html, text=text, images=images.images)


def performance_line(chart: Chart) -> str:
    """The chart's latest realised value with the band that decided it and the estimate beside
    it, as one line of the plain-text twin (``""`` when it has no value)."""
    values = chart.series.values
    known = np.flatnonzero(np.isfinite(values))
    if not known.size:
        return ""
    last = int(known[-1])
    line = f"{chart.title}: {values[last]:.4f}"
    if chart.lower is not None and chart.upper is not None and np.isfinite(chart.lower[last]):
        line += f" (band {chart.lower[last]:.4f} to {chart.upper[last]:.4f})"
        if chart.anomalous is not None and chart.anomalous[last]:
            line += ", outside it"
    if chart.estimate is not None and np.isfinite(chart.estimate[last]):
        line += f"; estimated from scores {chart.estimate[last]:.4f}"
    return line


def render_digest(
    reports: Sequence[ModelReport], *, owner: str = "", links: Mapping[str, str] | None = None
) -> RenderedReport:
    """One page across all models an owner has: lights and open incidents, no charts.

    ``links`` maps a model to where its full report lives (a file next to the digest, a
    dashboard URL): the digest is where one starts, so each model row leads on from it.
    """
    ordered = sorted(reports, key=lambda r: (-_worst_rank(r), r.model))
    found = dict(links or {})
    html = _ENV.get_template("digest.html.j2").render(
        reports=ordered, owner=owner, light_colors=_LIGHT_COLORS, links=found
    )
    text = _TEXT_ENV.get_template("digest.txt.j2").render(reports=ordered, owner=owner, links=found)
    return RenderedReport(html=html, text=text)


_LIGHT_COLORS = {
    Light.GREEN: "#2ca02c",
    Light.AMBER: "#ff9f1c",
    Light.RED: "#d62728",
    Light.GREY: "#9e9e9e",
}
_RANK = {Light.GREY: 0, Light.GREEN: 1, Light.AMBER: 2, Light.RED: 3}


def _worst_rank(report: ModelReport) -> int:
    return max((_RANK[light] for light in report.lights.values()), default=0)
