"""Vigil's pipeline layer: the only code that calls the stages in sequence and uses the store.

Exports load on first use (:mod:`vigil.core.lazy`): ``vigil profile`` needs the profiling job,
not the series builder, which would load the statistics stage, SciPy and pandas' groupby.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.pipeline.feedback import FeedbackSeries, GatheredFeedback, gather_feedback
    from vigil.pipeline.profiling import (
        ModelCounts,
        ProfilingProgress,
        ProfilingSummary,
        RollupSummary,
        profile_paths,
        rollup_store,
    )
    from vigil.pipeline.series import series_of_model

__all__ = [
    "FeedbackSeries",
    "GatheredFeedback",
    "ModelCounts",
    "ProfilingProgress",
    "ProfilingSummary",
    "RollupSummary",
    "gather_feedback",
    "profile_paths",
    "rollup_store",
    "series_of_model",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.pipeline.feedback": ("FeedbackSeries", "GatheredFeedback", "gather_feedback"),
        "vigil.pipeline.profiling": (
            "ModelCounts",
            "ProfilingProgress",
            "ProfilingSummary",
            "RollupSummary",
            "profile_paths",
            "rollup_store",
        ),
        "vigil.pipeline.series": ("series_of_model",),
    },
)
