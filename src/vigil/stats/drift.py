"""``drift_series``: per feature and per output, how far each window sits from its reference.

For every window of a model version, the version's profiles in the reference windows (by
default the same hours of the previous seven days; a new version falls back to the model's
other versions) are merged column by column, and each column is compared with the window's own
sketches by :func:`~vigil.stats.column_drift.numeric_drift` or
:func:`~vigil.stats.column_drift.categorical_drift`. A column is categorical when most of its
reference values are strings or bools, numeric otherwise.

Keys: feature drift is ``Family.DRIFT`` with the feature as column and the statistic name
(``ks``, ``psi``, ``js``, ``g_test``, ``wasserstein``, ``wasserstein_std`` for numbers; ``chi2``,
``g_test``, ``psi``, ``linf`` for categories). Output drift stays with its family,
``Family.OUTPUT``, as ``drift_<statistic>``, so a score drifting reads as an output problem.
Every series carries ``support`` = the smaller of the two sample sizes, per window: a PSI of
0.4 on 12 rows is not strong evidence, and detectors and reports can tell.

A window whose column drifted beyond ``spec.drift_exclusion`` (with ``spec.drift_min_support``
rows behind it) is left out of that column's later references: a problem that lasts longer
than half the reference would otherwise become the reference, and the return to normal would
read as drift for a week. Windows are computed oldest first, so a window's own drift is known
before any later window uses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from vigil.core import Family, SeriesKey, Window, ensure_utc
from vigil.profile import ColumnProfile, FrequentItems, Moments, Profile
from vigil.stats.change import BAND_SUFFIXES, Tested, categorical_change, numeric_changes
from vigil.stats.column_drift import categorical_drift, category_counts, numeric_drift
from vigil.stats.divergence import Divergence
from vigil.stats.numeric_bands import numeric_changes_batch
from vigil.stats.numeric_batch import numeric_drift_batch
from vigil.stats.reference import ReferenceWindow, typical_windows
from vigil.stats.series import Series
from vigil.stats.sketches import FrequentSource, PooledQuantiles, QuantileSource
from vigil.stats.spec import Reference, StatsSpec
from vigil.stats.timeline import SeriesCollector, Timeline, timelines

_WindowCache = dict[tuple[str, Window, str, str], ReferenceWindow]
"""Per model timeline: (version, window, family, column) -> that column's reference window.
A window is in the reference of up to ``days`` later windows; this reads it once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceColumn:
    """One column of the reference, merged over its windows: only what drift reads."""

    quantiles: PooledQuantiles
    frequent: FrequentItems
    moments: Moments
    text_values: int
    number_values: int

    @property
    def categorical(self) -> bool:
        return self.text_values > self.number_values


class CurrentColumn(Protocol):
    """What drift reads of the window's own column: its profile, or the
    :class:`~vigil.stats.reference.ReferenceWindow` read from it once (the replay reads each
    window's sketches once, as the current side and as part of later references)."""

    @property
    def quantiles(self) -> QuantileSource: ...

    @property
    def frequent(self) -> FrequentSource: ...

    @property
    def moments(self) -> Moments: ...


def merge_reference(windows: Sequence[ReferenceWindow]) -> ReferenceColumn:
    """Merge the reference windows' sketches of one column (never mutating them).

    The quantile sketches are pooled, not KLL-merged: a merge compacts with random coin flips,
    which made two runs over the same profiles disagree (measured: ~130 of 77k drift points).
    """
    columns = [window.column for window in windows]
    frequent, moments = columns[0].frequent, columns[0].moments
    for column in columns[1:]:
        frequent = frequent.merge(column.frequent)
        moments = moments.merge(column.moments)
    text_values, number_values = _value_counts(columns)
    filled = [c.quantiles for c in columns if c.quantiles.n > 0]
    return ReferenceColumn(
        quantiles=PooledQuantiles.of_weighted_items(
            [(w.quantiles.sorted_items, w.quantiles.sorted_weights) for w in windows],
            rank_error=max((s.normalized_rank_error for s in filled), default=0.0),
        ),
        frequent=frequent,
        moments=moments,
        text_values=text_values,
        number_values=number_values,
    )


def _value_counts(columns: Sequence[ColumnProfile]) -> tuple[int, int]:
    """Text (string or bool) and number values over ``columns``: more text is categorical."""
    counts = [c.type_counts for c in columns]
    text = sum(c.get("string", 0) + c.get("bool", 0) for c in counts)
    return text, sum(c.get("number", 0) for c in counts)


def reference_column(columns: Sequence[ColumnProfile], spec: StatsSpec) -> ReferenceColumn:
    """One column of the reference windows, merged; windows unlike the others left out."""
    return _reference([ReferenceWindow.of(column) for column in columns], spec)


def _reference(windows: Sequence[ReferenceWindow], spec: StatsSpec) -> ReferenceColumn:
    if spec.reference_tolerance is None:
        return merge_reference(windows)
    text, numbers = _value_counts([window.column for window in windows])
    typical = typical_windows(
        windows,
        categorical=text > numbers,
        tolerance=spec.reference_tolerance,
        max_items=spec.max_categories,
    )
    return merge_reference(typical)


def column_drift(
    current: CurrentColumn, reference: ReferenceColumn, spec: StatsSpec
) -> tuple[Divergence, ...]:
    """The drift statistics of one column against its merged reference."""
    if reference.categorical:
        return categorical_drift(
            current.frequent, reference.frequent, max_items=spec.max_categories
        )
    return numeric_drift(
        current.quantiles,
        reference.quantiles,
        grid_size=spec.drift_grid_size,
        reference_std=_std(reference),
        with_p_values=False,  # series keep values and support, not p-values
    )


def drift_series(
    profiles: Iterable[Profile],
    reference: Reference | None,
    spec: StatsSpec,
    *,
    since: datetime | None = None,
) -> list[Series]:
    """Drift of every feature and output of every model version, one point per window.

    ``reference`` defaults to ``spec.reference``. ``profiles`` must include the reference
    period (e.g. seven days before the first window of interest). With ``since``, only windows
    starting at or after it get a point: the earlier profiles serve as reference only.
    """
    chosen = reference if reference is not None else spec.reference
    start = ensure_utc(since) if since is not None else None
    result: list[Series] = []
    for timeline in timelines(profiles, spec.window):
        windows = tuple(w for w in timeline.windows if start is None or w.start >= start)
        if not windows:
            continue
        collector = SeriesCollector(windows=windows)
        cache: _WindowCache = {}
        drifted: set[tuple[str, str, str, Window]] = set()
        for version in sorted(timeline.profiles):
            _collect_version(collector, timeline, version, chosen, spec, cache, drifted)
        result.extend(collector.series())
    return result


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pair:
    """One column of one window with its merged reference: one drift comparison."""

    window: Window
    source: str
    family: str
    prefix: str
    name: str
    current: ReferenceWindow
    reference: ReferenceColumn


_FAMILIES: tuple[tuple[str, str, str], ...] = (
    (Family.FEATURE.value, Family.DRIFT.value, ""),
    (Family.OUTPUT.value, Family.OUTPUT.value, "drift_"),
)


def _collect_version(
    collector: SeriesCollector,
    timeline: Timeline,
    version: str,
    reference: Reference,
    spec: StatsSpec,
    cache: _WindowCache,
    drifted: set[tuple[str, str, str, Window]],
) -> None:
    """``drifted`` holds (version, family, column, window) of drifted windows, shared across
    the model's versions (a new version's reference may be an older version's windows).

    Windows are compared in batches: a window joins the batch until one of its reference
    windows is in it (by default a day's 24 windows, whose references are the days before),
    so every reference is settled (what drifted is known) before the batch's numeric columns
    are compared all at once (:func:`~vigil.stats.numeric_batch.numeric_drift_batch`)."""
    by_window = timeline.profiles[version]
    # A fixed reference is the same for every window: merged once per column (and per set of
    # its windows still in it), not once per window (720 merges of 168 windows a month).
    merged_once: dict[tuple[str, str, tuple[tuple[str, Window], ...]], ReferenceColumn] = {}
    batch: list[tuple[Window, Profile, list[Profile]]] = []
    in_batch: set[Window] = set()
    for window, profile in sorted(by_window.items()):
        if not collector.covers(window):
            continue
        refs = timeline.reference_profiles(
            version, window, reference, min_own=spec.reference_min_own
        )
        if not refs:
            continue
        if any(p.key.window in in_batch for p in refs):
            _compare(
                collector,
                timeline.model,
                version,
                batch,
                reference,
                spec,
                cache,
                drifted,
                merged_once,
            )
            batch, in_batch = [], set()
        batch.append((window, profile, refs))
        in_batch.add(window)
    _compare(
        collector, timeline.model, version, batch, reference, spec, cache, drifted, merged_once
    )


def _compare(
    collector: SeriesCollector,
    model: str,
    version: str,
    batch: Sequence[tuple[Window, Profile, list[Profile]]],
    reference: Reference,
    spec: StatsSpec,
    cache: _WindowCache,
    drifted: set[tuple[str, str, str, Window]],
    merged_once: dict[tuple[str, str, tuple[tuple[str, Window], ...]], ReferenceColumn],
) -> None:
    """Compare every column of the batch's windows with its reference, and collect them."""
    pairs: list[_Pair] = []
    for window, profile, refs in batch:
        for source, family, prefix in _FAMILIES:
            for name in sorted(_columns(profile, source)):
                kept = [
                    p
                    for p in refs
                    if name in _columns(p, source)
                    and (p.key.version, source, name, p.key.window) not in drifted
                ]
                if not kept:
                    continue  # a new column has no drift, it is reported as "new"
                past = [_reference_window(cache, p, source, name) for p in kept]
                if reference.is_fixed:
                    which = tuple((p.key.version, p.key.window) for p in kept)
                    merged = merged_once.get((source, name, which))
                    if merged is None:
                        merged = merged_once[(source, name, which)] = _reference(past, spec)
                else:
                    merged = _reference(past, spec)
                current = _reference_window(cache, profile, source, name)
                pairs.append(
                    _Pair(
                        window=window,
                        source=source,
                        family=family,
                        prefix=prefix,
                        name=name,
                        current=current,
                        reference=merged,
                    )
                )
    numeric = [pair for pair in pairs if not pair.reference.categorical]
    found = dict(
        zip(
            (id(pair) for pair in numeric),
            numeric_drift_batch(
                [(p.current.quantiles, p.reference.quantiles, _std(p.reference)) for p in numeric],
                grid_size=spec.drift_grid_size,
            ),
            strict=True,
        )
    )
    drifts = [
        found.get(id(pair)) or column_drift(pair.current, pair.reference, spec) for pair in pairs
    ]
    tested = dict(
        zip(
            (id(pair) for pair in numeric),
            numeric_changes_batch(
                [
                    (
                        p.current.quantiles,
                        p.current.moments,
                        p.reference.quantiles,
                        p.reference.moments,
                        found[id(p)][0],
                    )
                    for p in numeric
                ],
                spec.change,
            ),
            strict=True,
        )
    )
    points: dict[str, _Points] = {}
    for pair, divergences in zip(pairs, drifts, strict=True):
        changes = tested.get(id(pair))
        if changes is None:
            changes = column_changes(pair.current, pair.reference, divergences, spec)
        _collect_pair(points, version, pair, divergences, changes, spec, drifted)
    _add_points(collector, model, version, points)


def _std(reference: ReferenceColumn) -> float:
    return reference.moments.std if reference.moments.count > 1 else float("nan")


_Points = dict[tuple[str, str], tuple[list[Window], list[float], list[float]]]
"""A batch's points by (column's family, statistic) -> windows, values, sample sizes."""


def _collect_pair(
    points: dict[str, _Points],
    version: str,
    pair: _Pair,
    divergences: Sequence[Divergence],
    changes: Sequence[Tested],
    spec: StatsSpec,
    drifted: set[tuple[str, str, str, Window]],
) -> None:
    window, name = pair.window, pair.name
    column = points.setdefault(name, {})
    for divergence in divergences:
        _point(column, pair, divergence.statistic, divergence.value, divergence.support)
        if spec.drifted(divergence.statistic, divergence.value, divergence.support):
            drifted.add((version, pair.source, name, window))
    for tested in changes:
        for statistic, value in tested_points(tested):
            _point(column, pair, statistic, value, tested.support)
        if spec.changed(tested):
            drifted.add((version, pair.source, name, window))


def _point(column: _Points, pair: _Pair, statistic: str, value: float, support: float) -> None:
    windows, values, sizes = column.setdefault((pair.family, pair.prefix + statistic), ([], [], []))
    windows.append(pair.window)
    values.append(value)
    sizes.append(support)


def _add_points(
    collector: SeriesCollector, model: str, version: str, points: dict[str, _Points]
) -> None:
    for name, column in points.items():
        for (family, statistic), (windows, values, sizes) in column.items():
            key = SeriesKey(
                model=model, version=version, family=family, column=name, statistic=statistic
            )
            collector.add_points(key, windows, values, sizes)


def _columns(profile: Profile, family: str) -> Mapping[str, ColumnProfile]:
    return profile.features if family == Family.FEATURE else profile.outputs


def column_changes(
    current: CurrentColumn,
    reference: ReferenceColumn,
    divergences: Sequence[Divergence],
    spec: StatsSpec,
) -> list[Tested]:
    """The tested drift statistics of one column, each with the band that decides it."""
    if reference.categorical:
        _, cur_bins, ref_bins = category_counts(
            current.frequent, reference.frequent, max_items=spec.max_categories
        )
        error = _share_error(current.frequent) + _share_error(reference.frequent)
        return [categorical_change(cur_bins, ref_bins, error, spec.change)]
    ks = next(d for d in divergences if d.statistic == "ks")
    return numeric_changes(
        current.quantiles,
        current.moments,
        reference.quantiles,
        reference.moments,
        spec.change,
        ks=ks.value,
        ks_sketch_error=ks.sketch_error,
    )


def tested_points(tested: Tested) -> list[tuple[str, float]]:
    """The stored points of a tested statistic: its value, then its band."""
    band = tested.band
    values = (band.expected, band.lower, band.upper)
    return [
        (tested.statistic, tested.value),
        *(
            (tested.statistic + suffix, value)
            for suffix, value in zip(BAND_SUFFIXES, values, strict=True)
        ),
    ]


def _share_error(frequent: FrequentSource) -> float:
    return frequent.count_error / frequent.total if frequent.total else 0.0


def _reference_window(
    cache: _WindowCache, profile: Profile, family: str, name: str
) -> ReferenceWindow:
    key = (profile.key.version, profile.key.window, family, name)
    found = cache.get(key)
    if found is None:
        found = cache[key] = ReferenceWindow.of(_columns(profile, family)[name])
    return found
