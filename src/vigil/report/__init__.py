"""Reports: holistic per-model HTML with embedded PNG charts, and a digest across models.

Takes values (incidents, series, bands, drift tables) and returns HTML and text; the pipeline
decides what goes in. Nothing here reads the store or the network.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.report.charts import chart_png, heatmap_png
    from vigil.report.comparison import (
        ComparedColumn,
        ComparisonContent,
        comparison_fragment,
        comparison_page,
        comparison_text,
    )
    from vigil.report.content import Chart, DriftTable, IncidentEvidence, Light, ModelReport
    from vigil.report.lights import family_lights
    from vigil.report.render import ImageMode, RenderedReport, render_digest, render_model_report

__all__ = [
    "Chart",
    "ComparedColumn",
    "ComparisonContent",
    "DriftTable",
    "ImageMode",
    "IncidentEvidence",
    "Light",
    "ModelReport",
    "RenderedReport",
    "chart_png",
    "comparison_fragment",
    "comparison_page",
    "comparison_text",
    "family_lights",
    "heatmap_png",
    "render_digest",
    "render_model_report",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.report.charts": ("chart_png", "heatmap_png"),
        "vigil.report.comparison": (
            "ComparedColumn",
            "ComparisonContent",
            "comparison_fragment",
            "comparison_page",
            "comparison_text",
        ),
        "vigil.report.content": (
            "Chart",
            "DriftTable",
            "IncidentEvidence",
            "Light",
            "ModelReport",
        ),
        "vigil.report.lights": ("family_lights",),
        "vigil.report.render": (
            "ImageMode",
            "RenderedReport",
            "render_digest",
            "render_model_report",
        ),
    },
)
