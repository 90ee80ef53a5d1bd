"""Two profiles side by side: each column's drift and data-quality signals, reference vs current.

The pipeline compares every window with a reference made of earlier windows; ``vigil.compare``
compares two data sets (the training data and last week's traffic). Both run the same
computations: :func:`~vigil.stats.drift.column_drift` against the merged reference column, and
the rules of :mod:`vigil.stats.quality` (missing, new, constant, type changed), so a column
reads the same in a notebook as in the pipeline's drift series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.core import Family
from vigil.profile import ColumnProfile, Profile
from vigil.stats.change import Tested
from vigil.stats.divergence import Divergence
from vigil.stats.drift import column_changes, column_drift, reference_column
from vigil.stats.health import feature_rows, output_rows
from vigil.stats.quality import QualityKind, combine, quality_signals, summarize
from vigil.stats.spec import StatsSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnComparison:
    """One feature or output of two profiles.

    ``drift`` is empty when one side has no values of the column (then ``signals`` says why:
    ``missing`` or ``new``); ``tested`` holds the statistics that decide drift, each with the
    band drawn from both sample sizes (:mod:`vigil.stats.change`), the same the pipeline
    stores; ``categorical`` is read from the reference's values, as in the pipeline (from the
    current ones for a new column).
    """

    column: str
    family: Family
    categorical: bool
    drift: tuple[Divergence, ...]
    tested: tuple[Tested, ...]
    signals: tuple[QualityKind, ...]
    reference_values: int
    current_values: int

    def statistic(self, name: str) -> Divergence | None:
        """The drift statistic called ``name`` (``ks``, ``psi``, ``linf``…), if computed."""
        return next((d for d in self.drift if d.statistic == name), None)


def compare_profiles(
    reference: Profile, current: Profile, spec: StatsSpec
) -> list[ColumnComparison]:
    """Every feature and output of either profile, features first, then by name."""
    found = []
    for family in (Family.FEATURE, Family.OUTPUT):
        ref_columns, cur_columns = _columns(reference, family), _columns(current, family)
        ref_rows, cur_rows = _rows(reference, family), _rows(current, family)
        for name in sorted(set(ref_columns) | set(cur_columns)):
            ref, cur = ref_columns.get(name), cur_columns.get(name)
            ref_summary = summarize(ref, ref_rows, spec)
            cur_summary = summarize(cur, cur_rows, spec)
            signals = quality_signals(cur_summary, combine([ref_summary]), spec)
            drift: tuple[Divergence, ...] = ()
            tested: tuple[Tested, ...] = ()
            side = ref if ref is not None and ref_summary.values else cur
            merged = None if side is None else reference_column([side], spec)
            if ref is not None and cur is not None and ref_summary.values and cur_summary.values:
                assert merged is not None  # the reference side, since it has values
                drift = column_drift(cur, merged, spec)
                tested = tuple(column_changes(cur, merged, drift, spec))
            found.append(
                ColumnComparison(
                    column=name,
                    family=family,
                    categorical=merged is not None and merged.categorical,
                    drift=drift,
                    tested=tested,
                    signals=tuple(kind for kind, flag in signals.items() if flag == 1.0),
                    reference_values=ref_summary.values,
                    current_values=cur_summary.values,
                )
            )
    return found


def _columns(profile: Profile, family: Family) -> Mapping[str, ColumnProfile]:
    return profile.features if family is Family.FEATURE else profile.outputs


def _rows(profile: Profile, family: Family) -> int:
    return feature_rows(profile) if family is Family.FEATURE else output_rows(profile)
