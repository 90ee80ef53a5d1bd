"""Vigil's pipeline layer: the only code that calls the stages in sequence and uses the store."""

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
