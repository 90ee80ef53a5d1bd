"""Data-quality signals: a column gone missing, a new column, a constant column, a type change.

These are the failures seen in production most often, and none is a number drifting: a feature
disappears after an upstream rename, a new one appears with a schema change, a broken join fills
a feature with one default value for every request, a field starts arriving as a string. Each is
computed per window against the window's reference (see :class:`~vigil.stats.spec.Reference`)
and reported two ways from one computation:

- as a 0/1 series per column (statistics ``missing``, ``new``, ``constant``, ``type_changed``
  in the column's family), which detectors and reports treat like any other series; NaN where
  the signal is undefined (no reference yet, or the version had no rows in the window);
- as a list of :class:`QualityEvent` for the windows where a signal is 1, for incident text.

Rules, decided once here (``values`` = rows where the column is present and not null):

- ``missing``: the reference had values; the window has rows but no values, and that is
  improbable for the reference's share of rows with values: ``(1 - share)^rows`` below
  ``spec.change.alpha`` (a feature in every row is missing from one row on; one in a fifth of
  the rows needs 62 rows without it, so a quiet night hour is not an outage).
- ``new``: the reference had rows but no values of the column; the window has values, and at
  the window's share of rows with values, a reference of that many rows without one is
  improbable (``(1 - share)^rows`` below ``spec.change.alpha``): a sparse feature that a short
  reference missed by chance is not new.
- ``constant``: at least ``spec.constant_min_values`` values, and the most frequent value holds
  ``spec.constant_share`` of them (``min == max`` included); not raised when the column was
  already constant in every reference window (a flag that is always ``true`` is not news), nor
  when so many equal values are likely for the reference's own most frequent share (a binomial
  tail at ``spec.change.alpha``: a flag true in 12% of rows is all false in 20 rows 8% of the
  time); in a model's first day (younger than the same-hour reference) against the model's own
  earlier windows, so a zero-inflated feature that reads 0 all through a quiet hour is judged by
  its own rate of zeros; without any earlier window, only for numbers (a flag with one value in
  a new model's first window is not news).
- ``type_changed``: the set of value types (number / string / bool) holding at least
  ``spec.type_share_min`` of the values differs from the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from vigil.core import ConfigError, ProfileKey
from vigil.profile import ColumnProfile
from vigil.stats.spec import StatsSpec

TYPE_NAMES = ("number", "string", "bool")


class QualityKind(StrEnum):
    MISSING = "missing"
    NEW = "new"
    CONSTANT = "constant"
    TYPE_CHANGED = "type_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnSummary:
    """The few additive facts about one column in one window that the signals need."""

    rows: int
    values: int
    type_counts: Mapping[str, int]
    constant: bool
    top_share: float = math.nan
    provisional: bool = False
    """A stand-in reference: the earlier windows of a model younger than its reference. Only
    ``constant`` is judged against it (how often the column holds its most frequent value);
    missing, new and type changed stay undefined until a real reference exists."""

    def __post_init__(self) -> None:
        if self.values < 0 or self.rows < 0:
            raise ConfigError(f"column summary needs counts >= 0, got {self.rows}, {self.values}")

    def types_in_use(self, min_share: float) -> frozenset[str]:
        total = sum(self.type_counts.values())
        if total == 0:
            return frozenset()
        return frozenset(t for t, n in self.type_counts.items() if n / total >= min_share)


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityEvent:
    """One data-quality signal raised for one column of one model version in one window."""

    key: ProfileKey
    family: str
    column: str
    kind: QualityKind
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.key.model}@{self.key.version} {self.family} {self.column!r} "
            f"{self.kind.value} in {self.key.window}: {self.detail}"
        )


def top_share(column: ColumnProfile) -> float:
    """Share of the column's values taken by its most frequent value (NaN without values).

    Strings and bools come from the frequent-items sketch. For numbers the candidate is the
    median (a value holding more than half the rows must be the median) and its mass is read from
    the quantile sketch: exact while the sketch still holds every value, within twice its rank
    error after that. Below one half this is a lower bound, which is all ``constant`` needs.
    """
    values = column.present - column.nulls
    if values <= 0:
        return math.nan
    items = column.frequent.items()
    best = float(items[0][1]) if items else 0.0
    sketch = column.quantiles
    if sketch.n > 0:
        median = sketch.quantile(0.5)
        below, at = sketch.cdf(np.array([np.nextafter(median, -np.inf), median]))
        best = max(best, float(at - below) * sketch.n)
    return min(1.0, best / values)


def is_constant(column: ColumnProfile, spec: StatsSpec, share: float | None = None) -> bool:
    """``share``: the column's :func:`top_share` when the caller has it already."""
    values = column.present - column.nulls
    if values < spec.constant_min_values:
        return False
    moments = column.moments
    if moments.count == values and moments.min == moments.max:
        return True
    return (top_share(column) if share is None else share) >= spec.constant_share


def summarize(column: ColumnProfile | None, rows: int, spec: StatsSpec) -> ColumnSummary:
    """The summary of ``column`` over ``rows`` rows that could carry it (``None``: absent)."""
    if column is None:
        return ColumnSummary(rows=rows, values=0, type_counts={}, constant=False)
    share = top_share(column)
    return ColumnSummary(
        rows=rows,
        values=column.present - column.nulls,
        type_counts=dict(column.type_counts),
        constant=is_constant(column, spec, share),
        top_share=share,
    )


def combine(summaries: Iterable[ColumnSummary]) -> ColumnSummary | None:
    """The reference's summary: counts add up; constant when every window with values was;
    the most frequent share is the windows' mean, weighted by their values.

    ``None`` when the reference holds no rows at all: then nothing can be missing or new.
    """
    parts = list(summaries)
    rows = sum(s.rows for s in parts)
    if rows == 0:
        return None
    with_values = [s for s in parts if s.values > 0]
    shared = [s for s in with_values if math.isfinite(s.top_share)]
    values = sum(s.values for s in shared)
    return ColumnSummary(
        rows=rows,
        values=sum(s.values for s in parts),
        type_counts={t: sum(s.type_counts.get(t, 0) for s in parts) for t in TYPE_NAMES},
        constant=bool(with_values) and all(s.constant for s in with_values),
        # The windows' shares of their own most frequent value, weighted by values: the
        # reference's share when that value is the same in every window, as it is for a flag.
        top_share=sum(s.top_share * s.values for s in shared) / values if values else math.nan,
    )


def quality_signals(
    current: ColumnSummary, reference: ColumnSummary | None, spec: StatsSpec
) -> dict[QualityKind, float]:
    """Each signal as 1.0 / 0.0, or NaN where it is undefined."""
    nan = math.nan
    if current.rows == 0:
        return dict.fromkeys(QualityKind, nan)
    constant = 0.0
    if current.constant and not (reference and reference.constant):
        if reference is None:
            # Nothing to compare with: numbers stuck at one value are news, a flag or a label
            # with one value in a model's first window is not (a rare flag is often all false).
            numbers = current.type_counts.get("number", 0)
            constant = float(numbers * 2 > current.values)
        else:
            constant = float(not _likely_constant(current, reference, spec))
    if reference is None or reference.provisional:
        return {
            QualityKind.MISSING: nan,
            QualityKind.NEW: nan,
            QualityKind.CONSTANT: constant,
            QualityKind.TYPE_CHANGED: nan,
        }
    type_changed = nan
    if current.values > 0 and reference.values > 0:
        type_changed = float(
            current.types_in_use(spec.type_share_min) != reference.types_in_use(spec.type_share_min)
        )
    missing = reference.values > 0 and current.values == 0
    if missing and reference.values < reference.rows:
        absent = 1.0 - reference.values / reference.rows
        missing = current.rows * math.log(absent) < math.log(spec.change.alpha)
    new = reference.values == 0 and current.values > 0
    if new and current.values < current.rows:
        present = current.values / current.rows
        new = reference.rows * math.log1p(-present) < math.log(spec.change.alpha)
    return {
        QualityKind.MISSING: float(missing),
        QualityKind.NEW: float(new),
        QualityKind.CONSTANT: constant,
        QualityKind.TYPE_CHANGED: type_changed,
    }


def _likely_constant(
    current: ColumnSummary, reference: ColumnSummary | None, spec: StatsSpec
) -> bool:
    """Whether the window's run of one value is likely for the reference's most frequent share:
    at least ``constant_share`` of ``values`` draws at that share, with probability at least
    ``spec.change.alpha``. False without a known reference share."""
    if reference is None or not 0.0 < reference.top_share < 1.0:
        return False
    from scipy import special  # on first use: importing the stats stays light

    needed = math.ceil(spec.constant_share * current.values)
    tail = float(special.bdtrc(needed - 1, current.values, reference.top_share))
    return tail >= spec.change.alpha


def describe(
    kind: QualityKind, current: ColumnSummary, reference: ColumnSummary | None, spec: StatsSpec
) -> str:
    """One sentence of evidence for an event, with the counts it rests on."""
    if kind is QualityKind.MISSING:
        ref_values = reference.values if reference else 0
        return f"no values in {current.rows} rows; the reference had {ref_values}"
    if kind is QualityKind.NEW:
        ref_rows = reference.rows if reference else 0
        return f"{current.values} values; none in the reference's {ref_rows} rows"
    if kind is QualityKind.CONSTANT:
        return f"one value in at least {spec.constant_share:.1%} of {current.values} values"
    now = sorted(current.types_in_use(spec.type_share_min))
    before = sorted(reference.types_in_use(spec.type_share_min)) if reference else []
    return f"types {before} -> {now}"
