"""``drift_day_series``: the trailing day of every window tested against the week before it.

An hour of a few hundred rows cannot see a change of a tenth of a standard deviation; a day of
thousands can. So every window also gets the tested statistics of :mod:`vigil.stats.change`
(``mean``, ``std``, ``p05``, ``p50``, ``p95``, ``ks`` for numbers; ``share`` for categories)
over the trailing day, its 24 windows merged, and for numbers the day's mean weighted toward
its latest windows (``recent_mean``, :mod:`vigil.stats.recent_mean`: a slow drift's test), as
``<statistic>_1d`` with its band
(``_1d_expected``, ``_1d_lower``, ``_1d_upper``). A whole day holds every hour once, so a daily
rhythm cancels out and the reference can be the plain week before.

The reference of every window of calendar day ``D`` is days ``D-8`` to ``D-2``: fixed per day
(pooled once, not once per window) and never overlapping the trailing day, which starts at the
earliest at ``D-1``. Windows an hourly test found changed (``excluded``, from
:func:`changed_windows`) are left out of it: a new version whose first days sent a feature as 0
would otherwise have those days as its whole reference, and its return to normal would read as
drift for a week.

With a fixed reference (``spec.reference``: a date range of the logs, or profiles of training
data), every trailing day is compared with it instead: a drift slower than a week cannot move
its own reference along with it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import Family, ProfileKey, SeriesKey, Window, ensure_utc
from vigil.profile import ColumnProfile, FrequentItems, Profile
from vigil.stats.change import BAND_SUFFIXES, Tested, categorical_change, numeric_changes
from vigil.stats.column_drift import category_counts, ks_drift
from vigil.stats.day_pools import Items, Pooled, TrailingItems, categorical, mixed, window_slot
from vigil.stats.numeric_bands import numeric_changes_batch
from vigil.stats.numeric_batch import ks_drift_batch
from vigil.stats.recent_mean import RecentWindow, recent_mean_change
from vigil.stats.reference import typical_windows
from vigil.stats.series import Series
from vigil.stats.spec import ReferenceMode, StatsSpec
from vigil.stats.timeline import SeriesCollector, timelines

DAY = timedelta(days=1)
SUFFIX = "_1d"
REFERENCE_DAYS = 7
_FAMILIES = (
    (Family.FEATURE.value, Family.DRIFT.value, ""),
    (Family.OUTPUT.value, Family.OUTPUT.value, "drift_"),
)


Changed = tuple[str, str, str, datetime]
"""(version, family of the column: ``feature`` or ``output``, column, window start)."""


_Retained = dict[tuple[str, Window, str, str], Items]
"""Per model timeline: (version, window, source, column) -> that column's :data:`Items`. A
window is in 24 trailing days and in the references of seven days; this reads its sketch once."""


def changed_windows(series: Iterable[Series], spec: StatsSpec) -> set[Changed]:
    """The windows whose hourly drift left its band (a tested statistic outside it, or an
    untested one at ``spec.drift_exclusion``), on at least ``spec.drift_min_support`` rows;
    empty unless ``spec.exclude_changed`` or ``spec.drift_exclusion`` ask for it."""
    by_key = {one.key: one for one in series}
    found: set[Changed] = set()
    for key, one in by_key.items():
        if key.family == Family.DRIFT:
            source, statistic = Family.FEATURE.value, key.statistic
        elif key.family == Family.OUTPUT and key.statistic.startswith("drift_"):
            source, statistic = Family.OUTPUT.value, key.statistic.removeprefix("drift_")
        else:
            continue
        if statistic.endswith(BAND_SUFFIXES) or statistic.endswith(SUFFIX):
            continue
        support = one.support if one.support is not None else np.full(len(one), np.inf)
        lower = by_key.get(replace(key, statistic=key.statistic + "_lower"))
        upper = by_key.get(replace(key, statistic=key.statistic + "_upper"))
        with np.errstate(invalid="ignore"):
            if lower is not None and upper is not None and spec.exclude_changed:
                hit = (one.values < lower.values) | (one.values > upper.values)
            elif statistic in spec.drift_exclusion:
                hit = one.values >= spec.drift_exclusion[statistic]
            else:
                continue
            hit = np.nan_to_num(hit & (support >= spec.drift_min_support), nan=0).astype(bool)
        for stamp in one.timestamps[hit]:
            moment = stamp.astype("datetime64[us]").astype(datetime).replace(tzinfo=UTC)
            found.add((key.version, source, key.column, moment))
    return found


def drift_day_series(
    profiles: Iterable[Profile],
    spec: StatsSpec,
    *,
    since: datetime | None = None,
    excluded: Collection[Changed] = (),
) -> list[Series]:
    """The day-long tested drift of every feature and output of every model version;
    ``excluded`` windows stay out of the references (see the module docstring)."""
    start = ensure_utc(since) if since is not None else None
    result: list[Series] = []
    for timeline in timelines(profiles, spec.window):
        windows = tuple(w for w in timeline.windows if start is None or w.start >= start)
        if not windows:
            continue
        collector = SeriesCollector(windows=windows)
        gathered = _Gathered()
        per_day = max(1, DAY // spec.window)
        retained: _Retained = {}
        day_pools: _DayPools = {}
        for version, by_window in sorted(timeline.profiles.items()):
            references: dict[datetime, dict[tuple[str, str], Pooled | None]] = {}
            sliding: dict[tuple[str, str], TrailingItems] = {}
            if spec.reference.mode is ReferenceMode.PROFILES:
                references[_FIXED] = _of_profiles(spec)
            numeric: list[tuple[_Point, Pooled, Pooled]] = []
            for window in windows:
                day = window.start.replace(hour=0, minute=0, second=0, microsecond=0)
                day = _FIXED if spec.reference.is_fixed else day
                if day not in references:
                    # Windows come in order: an earlier day's references are not asked again.
                    references.clear()
                reference = references.setdefault(day, {})
                trailing = [
                    by_window[w]
                    for k in range(per_day)
                    if (w := _shifted(window, -k * spec.window)) in by_window
                ]
                if not trailing:
                    continue
                for source, family, prefix in _FAMILIES:
                    names = sorted({n for p in trailing for n in _columns(p, source)})
                    for name in names:
                        if (source, name) not in reference:
                            reference[(source, name)] = _reference_of(
                                timeline.profiles,
                                version,
                                day,
                                source,
                                name,
                                spec,
                                excluded,
                                retained,
                                day_pools,
                            )
                        base = reference[(source, name)]
                        found = [(p, c) for p in trailing if (c := _columns(p, source).get(name))]
                        if base is None or not found:
                            continue
                        pool = sliding.setdefault((source, name), TrailingItems())
                        current = Pooled(
                            [c for _, c in found],
                            pooled=pool.slide(
                                [p.key.window.start for p, _ in found],
                                _reader(retained, source, name, found),
                            ),
                        )
                        recent = None
                        if not base.categorical:
                            recent = _recent(window, found, base, current, spec, per_day)
                            base = mixed(base, [(window_slot(p.key.window), c) for p, c in found])
                        point = _Point(
                            model=timeline.model,
                            version=version,
                            family=family,
                            name=name,
                            prefix=prefix,
                            window=window,
                        )
                        if base.categorical:
                            for tested in _changes(current, base, spec):
                                _add(gathered, point, tested)
                        elif current.quantiles.n and base.quantiles.n:
                            numeric.append((point, current, base))
                        if recent is not None:
                            _add(gathered, point, recent)
                if len(numeric) >= _BATCH:
                    _add_numeric(gathered, numeric, spec)
                    numeric = []
            _add_numeric(gathered, numeric, spec)
            gathered.flush(collector)
        result.extend(collector.series())
    return result


_BATCH = 100
"""Numeric trailing days tested at once. Each holds its day's pool (a few thousand items at
small windows, more at large ones) until the batch is tested: on `vigil demo`'s store a batch
of 400 raised the run's peak memory from 282 to 402 MB, 100 to 305 MB, at the same CPU."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Point:
    """Where a trailing day's tested statistics go."""

    model: str
    version: str
    family: str
    name: str
    prefix: str
    window: Window


class _Gathered:
    """A version's tested points by series, handed to the collector at once
    (:meth:`SeriesCollector.add_points`): a statistic's four series keys (its value and band)
    are built once per column, not once per window."""

    __slots__ = ("_by_series",)

    def __init__(self) -> None:
        self._by_series: dict[tuple[str, ...], tuple[_Point, list[Window], list[Tested]]] = {}

    def add(self, point: _Point, tested: Tested) -> None:
        at = (point.model, point.version, point.family, point.name, point.prefix, tested.statistic)
        found = self._by_series.get(at)
        if found is None:
            found = self._by_series[at] = (point, [], [])
        found[1].append(point.window)
        found[2].append(tested)

    def flush(self, collector: SeriesCollector) -> None:
        for point, windows, tests in self._by_series.values():
            sizes = [t.support for t in tests]
            columns = (
                [t.value for t in tests],
                [t.band.expected for t in tests],
                [t.band.lower for t in tests],
                [t.band.upper for t in tests],
            )
            for suffix, values in zip(_SUFFIXES, columns, strict=True):
                key = SeriesKey(
                    model=point.model,
                    version=point.version,
                    family=point.family,
                    column=point.name,
                    statistic=point.prefix + tests[0].statistic + suffix,
                )
                collector.add_points(key, windows, values, sizes)
        self._by_series.clear()


_SUFFIXES = (SUFFIX, *(SUFFIX + b for b in BAND_SUFFIXES))
"""A tested statistic's series: its value, then its band's expected value, lower and upper."""


def _add_numeric(
    gathered: _Gathered, numeric: Sequence[tuple[_Point, Pooled, Pooled]], spec: StatsSpec
) -> None:
    """:func:`_changes` of numeric trailing days, read all at once
    (:mod:`vigil.stats.numeric_batch`): the same values to the last bit."""
    if not numeric:
        return
    ks = ks_drift_batch(
        [(cur.quantiles, base.quantiles) for _, cur, base in numeric],
        grid_size=spec.drift_grid_size,
    )
    found = numeric_changes_batch(
        [
            (cur.quantiles, cur.moments, base.quantiles, base.moments, one)
            for (_, cur, base), one in zip(numeric, ks, strict=True)
        ],
        spec.change,
    )
    for (point, _, _), changes in zip(numeric, found, strict=True):
        for tested in changes:
            gathered.add(point, tested)


def _recent(
    window: Window,
    found: Sequence[tuple[Profile, ColumnProfile]],
    reference: Pooled,
    current: Pooled,
    spec: StatsSpec,
    per_day: int,
) -> Tested | None:
    """The trailing day's :mod:`~vigil.stats.recent_mean` against ``reference`` (unmixed: it
    is compared slot by slot); ``current`` is the trailing day pooled, whose moments are
    those of ``found``'s windows merged."""
    hours = [
        RecentWindow(
            age=(window.start - p.key.window.start) // spec.window,
            slot=window_slot(p.key.window),
            moments=c.moments,
        )
        for p, c in found
    ]
    return recent_mean_change(
        hours,
        reference.moments,
        reference.slot_moments(),
        spec.change,
        span=per_day,
        merged=current.moments,
    )


def _items(
    retained: _Retained, key: ProfileKey, source: str, name: str, column: ColumnProfile
) -> Items:
    """``column``'s quantile items (``column`` is ``name`` of the profile ``key``), read once
    per timeline. Sorted, with ties in their order: pooling sorted runs gives exactly the order
    pooling them as read gives (a stable sort), and sorts faster."""
    at = (key.version, key.window, source, name)
    found = retained.get(at)
    if found is None:
        values, weights = column.quantiles.weighted_items()
        order = np.argsort(values, kind="stable")
        found = retained[at] = (values[order], weights[order])
    return found


def _reader(
    retained: _Retained, source: str, name: str, found: Sequence[tuple[Profile, ColumnProfile]]
) -> Callable[[int], Items]:
    """The items of the ``i``-th of ``found`` (column ``name`` of ``source`` in each)."""
    return lambda i: _items(retained, found[i][0].key, source, name, found[i][1])


_DayPools = dict[tuple[str, str, datetime, tuple[tuple[str, datetime], ...]], "Pooled"]
"""Per model timeline: one column's windows of one day (by version and start) -> their pool."""

_FIXED = datetime.min.replace(tzinfo=UTC)
"""The one reference key of every window when the reference is fixed."""


def _bounds(day: datetime, spec: StatsSpec) -> tuple[datetime, datetime]:
    """Where day ``day``'s reference lies: days ``D-8`` to ``D-2``, or a fixed baseline."""
    baseline = spec.reference.baseline
    if spec.reference.mode is ReferenceMode.FIXED and baseline is not None:
        return baseline.start, baseline.end
    return day - (REFERENCE_DAYS + 1) * DAY, day - DAY


def _of_profiles(spec: StatsSpec) -> dict[tuple[str, str], Pooled | None]:
    """Every column of a reference made of profiles (training data), pooled once."""
    found: dict[tuple[str, str], list[ColumnProfile]] = {}
    for profile in spec.reference.profiles:
        for source, _, _ in _FAMILIES:
            for name, column in _columns(profile, source).items():
                found.setdefault((source, name), []).append(column)
    return {key: Pooled(columns) for key, columns in found.items()}


def _reference_of(
    profiles: Mapping[str, Mapping[Window, Profile]],
    version: str,
    day: datetime,
    source: str,
    name: str,
    spec: StatsSpec,
    excluded: Collection[Changed],
    retained: _Retained,
    day_pools: _DayPools | None = None,
) -> Pooled | None:
    """The reference of one column of ``version`` for calendar day ``day``. A version with no
    windows in a fixed baseline (deployed after it) is compared with the versions that were."""
    if spec.reference.mode is ReferenceMode.PROFILES:
        return None  # a column the reference profiles do not have: nothing to compare with
    bounds = _bounds(day, spec)
    own = profiles.get(version, {}).items()
    found = _reference(own, bounds, source, name, spec, retained, version, excluded, day_pools)
    if found is not None or not spec.reference.is_fixed:
        return found
    others = [
        item
        for v, by_window in sorted(profiles.items())
        if v != version
        for item in by_window.items()
    ]
    return _reference(others, bounds, source, name, spec, retained, "", (), day_pools)


def _reference(
    items: Iterable[tuple[Window, Profile]],
    bounds: tuple[datetime, datetime],
    source: str,
    name: str,
    spec: StatsSpec,
    retained: _Retained,
    version: str = "",
    excluded: Collection[Changed] = (),
    day_pools: _DayPools | None = None,
) -> Pooled | None:
    """Days ``D-8`` to ``D-2`` (or a fixed baseline: ``bounds``) of one column, pooled, without
    the days unlike the others. A day is in seven references: its pool is made once, in
    ``day_pools``, keyed by the windows (version and start) it pools.

    A day that held a short incident (a feature constant for a day) would otherwise sit in the
    reference of the next seven days and make each of them read as changed; the days are
    compared with each other as the hourly reference's windows are
    (:func:`~vigil.stats.reference.typical_windows`), and a minority that disagrees is left out.
    """
    first, last = bounds
    days: dict[datetime, list[ColumnProfile]] = {}
    slots: dict[datetime, list[int]] = {}
    read: dict[datetime, list[Items]] = {}
    which: dict[datetime, list[tuple[str, datetime]]] = {}
    for window, profile in items:
        if first <= window.start and window.end <= last:
            if (version, source, name, window.start) in excluded:
                continue
            column = _columns(profile, source).get(name)
            if column is not None:
                day = window.start - (window.start - first) % DAY
                days.setdefault(day, []).append(column)
                slots.setdefault(day, []).append(window_slot(window))
                read.setdefault(day, []).append(_items(retained, profile.key, source, name, column))
                which.setdefault(day, []).append((profile.key.version, window.start))
    if not days:
        return None
    pools = day_pools if day_pools is not None else {}
    pooled: dict[datetime, Pooled] = {}
    for start, columns in sorted(days.items()):
        key = (source, name, start, tuple(which[start]))
        found = pools.get(key)
        if found is None:
            found = pools[key] = Pooled(columns, items=read[start])
        pooled[start] = found
    if spec.reference_tolerance is None:
        kept = list(pooled.values())
    else:
        kept = typical_windows(
            list(pooled.values()),
            categorical=categorical([c for cs in days.values() for c in cs]),
            tolerance=spec.reference_tolerance,
            max_items=spec.max_categories,
        )
    chosen = [start for start, p in pooled.items() if p in kept]
    return Pooled(
        [c for start in chosen for c in days[start]],
        [slot for start in chosen for slot in slots[start]],
        runs=[pooled[start] for start in chosen],  # each made of read[start]
    )


def _changes(current: Pooled, reference: Pooled, spec: StatsSpec) -> list[Tested]:
    if reference.categorical:
        _, cur_bins, ref_bins = category_counts(
            current.frequent, reference.frequent, max_items=spec.max_categories
        )
        error = _share_error(current.frequent) + _share_error(reference.frequent)
        return [categorical_change(cur_bins, ref_bins, error, spec.change)]
    if current.quantiles.n == 0 or reference.quantiles.n == 0:
        return []
    ks = ks_drift(current.quantiles, reference.quantiles, grid_size=spec.drift_grid_size)
    return numeric_changes(
        current.quantiles,
        current.moments,
        reference.quantiles,
        reference.moments,
        spec.change,
        ks=ks.value,
        ks_sketch_error=ks.sketch_error,
    )


def _add(gathered: _Gathered, point: _Point, tested: Tested) -> None:
    gathered.add(point, tested)


def _shifted(window: Window, by: timedelta) -> Window:
    return Window(start=window.start + by, end=window.end + by)


def _share_error(frequent: FrequentItems) -> float:
    return frequent.count_error / frequent.total if frequent.total else 0.0


def _columns(profile: Profile, family: str) -> Mapping[str, ColumnProfile]:
    return profile.features if family == Family.FEATURE else profile.outputs
