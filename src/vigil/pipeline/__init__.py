"""Vigil's pipeline layer: the only code that calls the stages in sequence and uses the store."""

from vigil.pipeline.profiling import (
    ModelCounts,
    ProfilingProgress,
    ProfilingSummary,
    RollupSummary,
    profile_paths,
    rollup_store,
)

__all__ = [
    "ModelCounts",
    "ProfilingProgress",
    "ProfilingSummary",
    "RollupSummary",
    "profile_paths",
    "rollup_store",
]
