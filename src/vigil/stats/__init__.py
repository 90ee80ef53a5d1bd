"""Profiles -> health series (features, outputs, auxiliary) and drift against a reference.

Pure functions over values: :func:`health_series` and :func:`quality_events` read profiles,
the drift functions compare two windows' sketches. Nothing here reads the store.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.stats.change import BAND_SUFFIXES, ChangeBand, ChangeTest
    from vigil.stats.column_drift import (
        CATEGORICAL_STATISTICS,
        NUMERIC_STATISTICS,
        categorical_drift,
        numeric_drift,
    )
    from vigil.stats.comparison import ColumnComparison, compare_profiles
    from vigil.stats.divergence import (
        Divergence,
        chi_square,
        g_test,
        jensen_shannon,
        ks_statistic,
        linf_shares,
        psi,
        wasserstein_1,
    )
    from vigil.stats.drift import drift_series
    from vigil.stats.health import IngestTally, health_series, quality_events
    from vigil.stats.quality import QualityEvent, QualityKind
    from vigil.stats.segments import segment_series
    from vigil.stats.series import Series
    from vigil.stats.sketches import (
        ExactFrequencies,
        ExactQuantiles,
        FrequentSource,
        PooledQuantiles,
        QuantileSource,
    )
    from vigil.stats.spec import Reference, ReferenceMode, StatsSpec

__all__ = [
    "BAND_SUFFIXES",
    "CATEGORICAL_STATISTICS",
    "NUMERIC_STATISTICS",
    "ChangeBand",
    "ChangeTest",
    "ColumnComparison",
    "Divergence",
    "ExactFrequencies",
    "ExactQuantiles",
    "FrequentSource",
    "IngestTally",
    "PooledQuantiles",
    "QualityEvent",
    "QualityKind",
    "QuantileSource",
    "Reference",
    "ReferenceMode",
    "Series",
    "StatsSpec",
    "categorical_drift",
    "chi_square",
    "compare_profiles",
    "drift_series",
    "g_test",
    "health_series",
    "jensen_shannon",
    "ks_statistic",
    "linf_shares",
    "numeric_drift",
    "psi",
    "quality_events",
    "segment_series",
    "wasserstein_1",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.stats.change": ("BAND_SUFFIXES", "ChangeBand", "ChangeTest"),
        "vigil.stats.column_drift": (
            "CATEGORICAL_STATISTICS",
            "NUMERIC_STATISTICS",
            "categorical_drift",
            "numeric_drift",
        ),
        "vigil.stats.comparison": ("ColumnComparison", "compare_profiles"),
        "vigil.stats.divergence": (
            "Divergence",
            "chi_square",
            "g_test",
            "jensen_shannon",
            "ks_statistic",
            "linf_shares",
            "psi",
            "wasserstein_1",
        ),
        "vigil.stats.drift": ("drift_series",),
        "vigil.stats.health": ("IngestTally", "health_series", "quality_events"),
        "vigil.stats.quality": ("QualityEvent", "QualityKind"),
        "vigil.stats.segments": ("segment_series",),
        "vigil.stats.series": ("Series",),
        "vigil.stats.sketches": (
            "ExactFrequencies",
            "ExactQuantiles",
            "FrequentSource",
            "PooledQuantiles",
            "QuantileSource",
        ),
        "vigil.stats.spec": ("Reference", "ReferenceMode", "StatsSpec"),
    },
)
