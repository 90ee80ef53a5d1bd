"""``health_series``: stored profiles -> the plain numeric series detectors watch.

No per-model configuration: every model, version, feature and output found in the profiles gets
its series, from its first window. Three families (``Family.FEATURE``, ``OUTPUT``,
``AUXILIARY``), one point per window of ``spec.window`` on the model's timeline:

- features, per feature: ``mean std min max``, the ``spec.quantiles`` (``p01 … p99``),
  ``null_rate`` (nulls / rows mentioning it), ``nonfinite_rate`` (NaN and ±inf / values),
  ``coverage`` (values / rows that carry features), ``distinct``, ``top_share``,
  ``type_mix_change`` (total-variation distance of the number/string/bool mix from the previous
  window with values), and the data-quality signals of :mod:`vigil.stats.quality`;
- outputs, per output: the same moments and quantiles, ``share_above_<t>`` per
  ``spec.score_thresholds``, ``null_rate``, ``nonfinite_rate``, ``coverage`` and the quality
  signals; a ranked output's list length is its own numeric column ``<name>.length``;
- auxiliary (column ``""``): ``rows``, ``requests``, ``latency_p50 … latency_p99.9`` (ms),
  ``traffic_ratio`` (this version's share of the model's rows), and, when ingest tallies are
  passed, ``quarantine_rate``, ``late`` and ``duplicates``;
- auxiliary of the whole model (version :data:`~vigil.core.ALL_VERSIONS`): ``rows``,
  ``requests`` and the latency quantiles over every version, with a point (0 rows) in every
  window of the model's timeline, so a traffic stop is an observation and a rollout that moves
  all traffic to a new version is not a stop.

The denominators of coverage are the rows that carry features (``Profile.feature_rows``) and
outputs (``Profile.output_rows``), and ``requests`` counts the rows that stand for a request;
the profile stage decides once what a row carries, whatever its ``event`` says.

Every point of a rate, a share, a moment or a quantile carries its **sample size** as the
series' ``support`` (:func:`sample_sizes`): a null rate of 1 in 30 rows at night is as uncertain
as it looks, and a detector that knows ``n`` expects it to be noisier than 100 in 3,000. Counts
(``rows``, ``requests``, ``late``, ``duplicates``) and the quality flags carry none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from vigil.core import ALL_VERSIONS, ConfigError, Family, ProfileKey, SeriesKey, Window, ensure_utc
from vigil.profile import ColumnProfile, LogHistogram, Profile
from vigil.stats.quality import (
    TYPE_NAMES,
    ColumnSummary,
    QualityEvent,
    QualityKind,
    combine,
    describe,
    quality_signals,
    summarize,
    top_share,
)
from vigil.stats.series import FloatArray, Series
from vigil.stats.spec import StatsSpec, quantile_name, threshold_name
from vigil.stats.standard_errors import (
    column_stderrs,
    histogram_quantile_stderrs,
    proportion_stderr,
    sketch_quantile_stderrs,
)
from vigil.stats.timeline import SeriesCollector, Timeline, timelines

SummaryCache = dict[tuple[ProfileKey, str, str], ColumnSummary]


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestTally:
    """Counts that live outside profiles, kept by ingest for one model version and window.

    ``key.version == ""`` is a model-level tally (rows whose version could not be read): its
    quarantined rows count against the whole model's traffic in that window."""

    key: ProfileKey
    quarantined: int = 0
    late: int = 0
    duplicates: int = 0

    def __post_init__(self) -> None:
        if min(self.quarantined, self.late, self.duplicates) < 0:
            raise ConfigError(
                f"ingest tally of {self.key} has a negative count: quarantined="
                f"{self.quarantined!r}, late={self.late!r}, duplicates={self.duplicates!r}"
            )


def feature_rows(profile: Profile) -> int:
    return profile.feature_rows


def output_rows(profile: Profile) -> int:
    return profile.output_rows


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan


def column_statistics(
    column: ColumnProfile | None,
    rows: int,
    spec: StatsSpec,
    *,
    thresholds: bool,
    share: float | None = None,
) -> dict[str, float]:
    """The per-window statistics of one feature (``thresholds=False``) or output.

    ``share``: the column's top-value share when the caller has it already (it is the most
    expensive statistic here).
    """
    if column is None:  # the column was not mentioned in any row of this window
        return {"coverage": _ratio(0, rows)}
    values = column.present - column.nulls
    nonfinite = column.nans + column.pos_inf + column.neg_inf
    moments = column.moments
    has_numbers = moments.count > 0
    stats: dict[str, float] = {
        "mean": moments.mean if has_numbers else math.nan,
        "std": moments.std if has_numbers else math.nan,
        "min": moments.min if has_numbers else math.nan,
        "max": moments.max if has_numbers else math.nan,
        "null_rate": _ratio(column.nulls, column.present),
        "nonfinite_rate": _ratio(nonfinite, values),
        "coverage": _ratio(values, rows),
    }
    levels = np.asarray(spec.quantiles, dtype=np.float64)
    for level, value in zip(spec.quantiles, column.quantiles.quantiles(levels), strict=True):
        stats[quantile_name(level)] = float(value)
    if thresholds:
        if column.quantiles.n > 0:
            below = column.quantiles.cdf(np.asarray(spec.score_thresholds, dtype=np.float64))
            shares = 1.0 - below
        else:
            shares = np.full(len(spec.score_thresholds), np.nan)
        for threshold, above in zip(spec.score_thresholds, shares, strict=True):
            stats[threshold_name(threshold)] = float(above)
    else:
        stats["distinct"] = column.distinct.estimate() if values > 0 else 0.0
        stats["top_share"] = top_share(column) if share is None else share
    return stats


def sample_sizes(column: ColumnProfile | None, rows: int) -> dict[str, float]:
    """How many rows each statistic of :func:`column_statistics` rests on.

    ``null_rate``: the rows mentioning the column (its denominator); ``nonfinite_rate``,
    ``distinct``, ``top_share`` and ``type_mix_change``: the non-null values; ``coverage``: the
    rows of the family; the moments, quantiles and ``share_above_*``: the numbers the sketches
    saw. Statistics not named here are looked up with :data:`NUMBERS`.
    """
    if column is None:
        return {"coverage": float(rows)}
    values = float(column.present - column.nulls)
    return {
        "null_rate": float(column.present),
        "nonfinite_rate": values,
        "coverage": float(rows),
        "distinct": values,
        "top_share": values,
        "type_mix_change": values,
        NUMBERS: float(column.moments.count),
    }


NUMBERS = "*"
"""The key of :func:`sample_sizes` for every statistic computed from the column's numbers."""


def type_shares(column: ColumnProfile | None) -> FloatArray | None:
    """Number/string/bool shares of the column's non-null values (None without values)."""
    if column is None:
        return None
    counts = np.array([column.type_counts.get(t, 0) for t in TYPE_NAMES], dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else None


def health_series(
    profiles: Iterable[Profile],
    spec: StatsSpec,
    *,
    tallies: Sequence[IngestTally] | None = None,
    since: datetime | None = None,
) -> list[Series]:
    """Every health series of every model version in ``profiles`` (see the module docstring).

    With ``since``, only windows starting at or after it get points; earlier profiles serve as
    the data-quality reference (load the reference period too, see ``Reference.earliest``).
    ``tallies=None`` means ingest counts are unknown (no ``quarantine_rate`` series); an empty
    sequence means they are known to be zero, so the series exists before its first bad row.
    """
    series: list[Series] = []
    tally_by_key = None if tallies is None else _tallies_by_window(tallies, spec)
    start = ensure_utc(since) if since is not None else None
    for timeline in timelines(profiles, spec.window):
        windows = tuple(w for w in timeline.windows if start is None or w.start >= start)
        if not windows:
            continue
        collector = SeriesCollector(windows=windows)
        for version in sorted(timeline.profiles):
            _collect_version(collector, timeline, version, spec, tally_by_key)
        _collect_model(collector, timeline, spec)
        series.extend(collector.series())
    return series


def _collect_model(collector: SeriesCollector, timeline: Timeline, spec: StatsSpec) -> None:
    """Traffic and latency of the model over all its versions, in every timeline window."""
    for window in timeline.windows:
        if not collector.covers(window):
            continue
        profiles = [p[window] for p in timeline.profiles.values() if window in p]
        stats: dict[str, float] = {
            "rows": float(sum(p.rows for p in profiles)),
            "requests": float(sum(p.requests for p in profiles)),
        }
        histograms = [p.latency.histogram for p in profiles if p.latency.histogram is not None]
        merged = LogHistogram.merge_all(histograms) if histograms else None
        # A latency quantile rests on the timed requests behind it, and carries its rank
        # interval's standard error: a p99 of 200 requests is about their second-largest value.
        timed = float(merged.total) if merged is not None else 0.0
        errors = histogram_quantile_stderrs(merged, spec.latency_quantiles)
        sizes: dict[str, float] = {}
        stderrs: dict[str, float] = {}
        for level, error in zip(spec.latency_quantiles, errors, strict=True):
            name = f"latency_{quantile_name(level)}"
            stats[name] = merged.quantile(level) if merged and merged.total > 0 else math.nan
            sizes[name], stderrs[name] = timed, error
        for statistic, value in stats.items():
            key = SeriesKey(
                model=timeline.model,
                version=ALL_VERSIONS,
                family=Family.AUXILIARY,
                column="",
                statistic=statistic,
            )
            collector.add(key, window, value, sizes.get(statistic), stderrs.get(statistic))


def quality_events(
    profiles: Iterable[Profile], spec: StatsSpec, *, since: datetime | None = None
) -> list[QualityEvent]:
    """The windows where a data-quality signal is raised, with the evidence, oldest first.

    ``since`` works as in :func:`health_series`.
    """
    start = ensure_utc(since) if since is not None else None

    def wanted(window: Window) -> bool:
        return start is None or window.start >= start

    events: list[QualityEvent] = []
    for timeline in timelines(profiles, spec.window):
        for version in sorted(timeline.profiles):
            summaries = _summaries(timeline, version, spec, only=wanted)
            for family, column, window, current, reference in summaries:
                for kind, flag in quality_signals(current, reference, spec).items():
                    if flag == 1.0:
                        key = ProfileKey(model=timeline.model, version=version, window=window)
                        detail = describe(kind, current, reference, spec)
                        events.append(
                            QualityEvent(
                                key=key, family=family, column=column, kind=kind, detail=detail
                            )
                        )
    return sorted(events, key=lambda e: (e.key.window.start, e.key, e.family, e.column, e.kind))


def _columns(profile: Profile, family: str) -> Mapping[str, ColumnProfile]:
    return profile.features if family == Family.FEATURE else profile.outputs


def _rows(profile: Profile, family: str) -> int:
    return feature_rows(profile) if family == Family.FEATURE else output_rows(profile)


def _summary(
    cache: SummaryCache, profile: Profile, family: str, name: str, spec: StatsSpec
) -> ColumnSummary:
    """Each profile's column is summarized once, however many references it is part of."""
    slot = (profile.key, family, name)
    found = cache.get(slot)
    if found is None:
        found = summarize(_columns(profile, family).get(name), _rows(profile, family), spec)
        cache[slot] = found
    return found


def _summaries(
    timeline: Timeline,
    version: str,
    spec: StatsSpec,
    only: Callable[[Window], bool] = lambda window: True,
    cache: SummaryCache | None = None,
) -> Iterable[tuple[str, str, Window, ColumnSummary, ColumnSummary | None]]:
    """Per family, column and window of the version: its summary and its reference's."""
    by_window = timeline.profiles[version]
    known: SummaryCache = {} if cache is None else cache
    for family in (Family.FEATURE.value, Family.OUTPUT.value):
        names = sorted({n for p in by_window.values() for n in _columns(p, family)})
        for window, profile in sorted(by_window.items()):
            if not only(window):
                continue
            reference = timeline.reference_profiles(version, window, spec.reference)
            # A model younger than its reference (its first day, under the same-hour default):
            # its own earlier windows say how often a column holds one value (quality.py).
            provisional = not reference
            if provisional:
                reference = timeline.earlier_profiles(version, window)
            for name in names:
                ref = combine(_summary(known, p, family, name, spec) for p in reference)
                if ref is not None and provisional:
                    ref = replace(ref, provisional=True)
                yield family, name, window, _summary(known, profile, family, name, spec), ref


def _collect_version(
    collector: SeriesCollector,
    timeline: Timeline,
    version: str,
    spec: StatsSpec,
    tallies: Mapping[tuple[str, str, Window], IngestTally] | None,
) -> None:
    model, by_window = timeline.model, timeline.profiles[version]
    cache: SummaryCache = {}
    levels = {quantile_name(level): level for level in spec.quantiles}
    for family in (Family.FEATURE.value, Family.OUTPUT.value):
        names = sorted({n for p in by_window.values() for n in _columns(p, family)})
        for name in names:
            previous_mix = None
            points: dict[str, _Column] = {}
            for window, profile in sorted(by_window.items()):
                column = _columns(profile, family).get(name)
                mix = type_shares(column)
                if not collector.covers(window):
                    previous_mix = mix if mix is not None else previous_mix
                    continue
                stats = column_statistics(
                    column,
                    _rows(profile, family),
                    spec,
                    thresholds=family == Family.OUTPUT,
                    share=_summary(cache, profile, family, name, spec).top_share,
                )
                if family == Family.FEATURE:
                    change = math.nan
                    if mix is not None and previous_mix is not None:
                        change = float(np.abs(mix - previous_mix).sum() / 2)
                    stats["type_mix_change"] = change
                previous_mix = mix if mix is not None else previous_mix
                sizes = sample_sizes(column, _rows(profile, family))
                errors = column_stderrs(column, stats, sizes, levels)
                numbers = sizes.get(NUMBERS)
                for statistic, value in stats.items():
                    found = points.get(statistic)
                    if found is None:
                        found = points[statistic] = _Column()
                    found.add(window, value, sizes.get(statistic, numbers), errors.get(statistic))
            for statistic, found in points.items():
                key = SeriesKey(
                    model=model, version=version, family=family, column=name, statistic=statistic
                )
                collector.add_column(key, found.windows, found.values, found.support, found.stderr)
    flags: dict[tuple[str, str, QualityKind], _Column] = {}
    summaries = _summaries(timeline, version, spec, only=collector.covers, cache=cache)
    for family, name, window, current, reference in summaries:
        for kind, flag in quality_signals(current, reference, spec).items():
            found = flags.get((family, name, kind))
            if found is None:
                found = flags[(family, name, kind)] = _Column()
            found.add(window, flag, None, None)
    for (family, name, kind), found in flags.items():
        key = SeriesKey(model=model, version=version, family=family, column=name, statistic=kind)
        collector.add_column(key, found.windows, found.values, found.support, found.stderr)
    for window, profile in by_window.items():
        if not collector.covers(window):
            continue
        model_rows = timeline.rows(window)
        sizes = _auxiliary_sizes(profile, model_rows, spec)
        auxiliary = _auxiliary(profile, model_rows, spec, tallies)
        errors = _auxiliary_stderrs(profile, auxiliary, sizes, spec)
        for statistic, value in auxiliary.items():
            key = SeriesKey(
                model=model,
                version=version,
                family=Family.AUXILIARY,
                column="",
                statistic=statistic,
            )
            collector.add(key, window, value, sizes.get(statistic), errors.get(statistic))


@dataclass(slots=True)
class _Column:
    """One series' points of a version, gathered window by window and handed to the collector
    at once (:meth:`~vigil.stats.timeline.SeriesCollector.add_column`)."""

    windows: list[Window] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    support: list[float | None] = field(default_factory=list)
    stderr: list[float | None] = field(default_factory=list)

    def add(self, window: Window, value: float, size: float | None, error: float | None) -> None:
        self.windows.append(window)
        self.values.append(value)
        self.support.append(size)
        self.stderr.append(error)


def _auxiliary_stderrs(
    profile: Profile, stats: Mapping[str, float], sizes: Mapping[str, float], spec: StatsSpec
) -> dict[str, float]:
    """Standard errors of the auxiliary statistics that have one: ``traffic_ratio`` (a share
    of the model's rows) and the latency quantiles (their histogram's rank interval, or the
    KLL sketch's when the version has no histogram)."""
    errors = {"traffic_ratio": proportion_stderr(stats["traffic_ratio"], sizes["traffic_ratio"])}
    names = [f"latency_{quantile_name(level)}" for level in spec.latency_quantiles]
    histogram = profile.latency.histogram
    if histogram is not None and histogram.total > 0:
        found = histogram_quantile_stderrs(histogram, spec.latency_quantiles)
    else:
        found = sketch_quantile_stderrs(profile.latency.quantiles, spec.latency_quantiles)
    errors.update(zip(names, (float(e) for e in found), strict=True))
    return errors


def _auxiliary_sizes(profile: Profile, model_rows: int, spec: StatsSpec) -> dict[str, float]:
    """Sample sizes of the auxiliary statistics: the model's rows behind ``traffic_ratio``, the
    timed rows behind each latency quantile; counts carry none."""
    timed = float(profile.latency.moments.count)
    return {
        "traffic_ratio": float(model_rows),
        **{f"latency_{quantile_name(level)}": timed for level in spec.latency_quantiles},
    }


def _auxiliary(
    profile: Profile,
    model_rows: int,
    spec: StatsSpec,
    tallies: Mapping[tuple[str, str, Window], IngestTally] | None,
) -> dict[str, float]:
    stats: dict[str, float] = {
        "rows": float(profile.rows),
        "requests": float(profile.requests),
        "traffic_ratio": _ratio(profile.rows, model_rows),
    }
    histogram = profile.latency.histogram
    for level in spec.latency_quantiles:
        name = f"latency_{quantile_name(level)}"
        if histogram is not None and histogram.total > 0:
            stats[name] = histogram.quantile(level)
        else:
            stats[name] = profile.latency.quantiles.quantile(level)
    if tallies is not None:
        key = profile.key
        found = tallies.get((key.model, key.version, key.window))
        own = found or IngestTally(key=key)
        # Quarantined rows often have no readable version: a model-level tally (version "")
        # gives every version the model's quarantine rate.
        shared = tallies.get((key.model, "", key.window)) if key.version else None
        quarantined, rows = own.quarantined, profile.rows
        if shared is not None and shared.quarantined:
            quarantined, rows = quarantined + shared.quarantined, model_rows
        stats["quarantine_rate"] = _ratio(quarantined, rows + quarantined)
        if found is not None:  # the pipeline tallies quarantine per model only, so far
            stats["late"] = float(own.late)
            stats["duplicates"] = float(own.duplicates)
    return stats


def _tallies_by_window(
    tallies: Sequence[IngestTally], spec: StatsSpec
) -> dict[tuple[str, str, Window], IngestTally]:
    """Tallies added up per model, version and series window."""
    summed: dict[tuple[str, str, Window], IngestTally] = {}
    for tally in tallies:
        window = Window.containing(tally.key.window.start, spec.window)
        slot = (tally.key.model, tally.key.version, window)
        before = summed.get(slot)
        summed[slot] = IngestTally(
            key=ProfileKey(model=tally.key.model, version=tally.key.version, window=window),
            quarantined=tally.quarantined + (before.quarantined if before else 0),
            late=tally.late + (before.late if before else 0),
            duplicates=tally.duplicates + (before.duplicates if before else 0),
        )
    return summed
