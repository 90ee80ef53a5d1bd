"""Stored profiles -> health and drift series on the pipeline's window grid.

The stats stage lays each model out on its own timeline, from its first to its last profile. The
pipeline watches a fixed grid up to the newest due window, so a model that stops sending data
still gets points: its ``rows`` and ``requests`` are 0 there (a stop is news), everything else is
NaN (no data, no opinion).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

import numpy as np

from vigil.core import Family, ProfileKey, Window
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.labels import LabelSettings, load_join
from vigil.pipeline.workers import worker_pool
from vigil.profile import Profile
from vigil.stats import (
    IngestTally,
    Reference,
    Series,
    StatsSpec,
    drift_series,
    health_series,
    segment_series,
)
from vigil.stats.drift_day import changed_windows, drift_day_series
from vigil.stats.segments import performance_by_segment
from vigil.store import SqlStore, Store

COUNTS = frozenset({"rows", "requests"})


def build_series(
    store: Store,
    *,
    grid: Sequence[Window],
    lookback: timedelta,
    spec: StatsSpec,
    on_failure: Callable[[ModelFailure], None] | None = None,
    labels: LabelSettings | None = None,
    references: Mapping[str, Reference] | None = None,
) -> list[Series]:
    """Every health and drift series of every model, on ``grid`` extended back by ``lookback``.

    Drift gets points only from the first window whose whole reference lies inside the data:
    against a half-empty reference, the first days of a new model would all read as drift.
    Models are independent, so on a store other processes can open they are computed in
    ``store.workers`` processes. ``references`` gives some models a reference of their own (a
    fixed one, from the config). With ``on_failure``, a model whose series cannot be built (a
    corrupt stored profile) is reported there and left out; without, its error is raised.
    """
    start = grid[0].start - lookback
    end = grid[-1].end
    chosen = references or {}
    jobs = [
        (
            model,
            start,
            end,
            replace(spec, reference=chosen[model]) if model in chosen else spec,
            labels,
        )
        for model in store.profiles.models()
    ]
    found: list[list[Series]] = []
    if store.url is not None and store.workers > 1 and len(jobs) > 1:
        with worker_pool(store.workers) as pool:
            futures = [pool.submit(_model_series_at, store.url, job) for job in jobs]
            for job, future in zip(jobs, futures, strict=True):
                found.append(_isolated(job[0], future.result, on_failure))
    else:
        for job in jobs:
            found.append(_isolated(job[0], partial(_model_series, store, *job), on_failure))
    return [one for model_series in found for one in model_series]


def _isolated(
    model: str,
    work: Callable[[], list[Series]],
    on_failure: Callable[[ModelFailure], None] | None,
) -> list[Series]:
    if on_failure is None:
        return work()
    try:
        return work()
    except Exception as err:  # one model's failure, whatever it is, must not blind the others
        on_failure(model_failure(model, "statistics", err))
        return []


def _model_series_at(
    url: str, job: tuple[str, datetime, datetime, StatsSpec, LabelSettings | None]
) -> list[Series]:
    store = SqlStore(url, workers=1)
    try:
        return _model_series(store, *job)
    finally:
        store.close()


def _model_series(
    store: Store,
    model: str,
    start: datetime,
    end: datetime,
    spec: StatsSpec,
    labels: LabelSettings | None = None,
) -> list[Series]:
    fixed = spec.reference.is_fixed
    # A fixed reference may lie before the period: its profiles are read too.
    load = min(start, spec.reference.earliest(start)) if fixed else start
    profiles = store.profiles.get(model=model, start=load, end=end, duration=spec.window)
    if not any(p.key.window.start >= start for p in profiles):
        return []
    times = _grid_times(start, end, spec.window)
    first = min(p.key.window.start for p in profiles if p.key.window.start >= start)
    # For trailing references, the first window with a whole reference behind it; a fixed one
    # is whole from the start.
    drift_since = start if fixed else first + (first - spec.reference.earliest(first))
    tallies = [
        IngestTally(
            key=ProfileKey(model=model, version="", window=Window(start=at, end=at + spec.window)),
            quarantined=count.rows,
        )
        for count in store.quarantine.counts(model=model, since=start)
        if (at := count.window_start) is not None and at < end
    ]
    found = health_series(profiles, spec, tallies=tallies, since=start)
    hourly = drift_series(profiles, None, spec, since=drift_since)
    changed = changed_windows(hourly, spec)  # out of the daily references too
    found += hourly
    found += drift_day_series(profiles, spec, since=drift_since, excluded=changed)
    found += segment_series(profiles, spec, since=start, drift_since=drift_since)
    if labels is not None:
        outcomes = load_join(store, model, labels).tallies(
            max_segment_values=labels.max_segment_values
        )
        found += performance_by_segment(
            {k: t for k, t in outcomes.items() if start <= k.window.start < end},
            spec,
            since=drift_since,
            until=end,
        )
    return [_on_grid(one, times) for one in found]


def _grid_times(start: datetime, end: datetime, step: timedelta) -> np.ndarray:
    first = np.datetime64(start.replace(tzinfo=None), "s")
    count = int((end - start) / step)
    return first + np.arange(count) * np.timedelta64(int(step.total_seconds()), "s")


def _on_grid(series: Series, times: np.ndarray) -> Series:
    index = np.searchsorted(times, series.timestamps)
    inside = (index < len(times)) & (times[np.minimum(index, len(times) - 1)] == series.timestamps)

    def placed(column: np.ndarray) -> np.ndarray:
        found = np.full(len(times), np.nan)
        found[index[inside]] = column[inside]
        return found

    values = placed(series.values)
    if series.key.family == Family.AUXILIARY and series.key.statistic in COUNTS:
        # Before the model's first window it did not exist yet; after that, no rows means 0.
        known = np.flatnonzero(~np.isnan(values))
        if known.size:
            tail = values[known[0] :]
            values[known[0] :] = np.where(np.isnan(tail), 0.0, tail)
    return Series(
        key=series.key,
        timestamps=times,
        values=values,
        support=None if series.support is None else placed(series.support),
        stderr=None if series.stderr is None else placed(series.stderr),
    )


def series_of_model(
    store: Store,
    model: str,
    *,
    spec: StatsSpec,
    since: datetime | None = None,
    version: str | None = None,
    recompute: bool = False,
) -> list[Series]:
    """The series of one model the pipeline stored, else computed now from its stored profiles.

    Computing reads the reference period before ``since`` too, so drift has its reference; with
    no ``since``, the last day before the newest profile is shown. So ``vigil stats`` works right
    after ``vigil profile``, before any ``vigil run``. ``recompute`` ignores stored series.
    Profiles of one window length are used: ``spec.window`` if stored (after ``vigil rollup``,
    hours and days are both there), else the longest shorter one that divides it.
    """
    if not recompute:
        stored = store.series.get(model=model, version=version, since=since)
        if stored:
            return stored
    if since is None:
        records = store.profiles.records(model=model, version=version)
        duration = profile_duration({r.key.window.duration for r in records}, spec.window)
        if duration is None:
            return []
        ends = [r.key.window.end for r in records if r.key.window.duration == duration]
        since = max(ends) - timedelta(days=1)
    start = Window.containing(spec.reference.earliest(since), spec.window).start
    records = store.profiles.records(model=model, version=version, start=start)
    duration = profile_duration({r.key.window.duration for r in records}, spec.window)
    if duration is None:
        return []
    profiles = [Profile.from_bytes(r.blob) for r in records if r.key.window.duration == duration]
    return (
        health_series(profiles, spec, since=since)
        + drift_series(profiles, None, spec, since=since)
        + segment_series(profiles, spec, since=since, drift_since=since)
    )


def profile_duration(stored: Iterable[timedelta], window: timedelta) -> timedelta | None:
    """The profile length to build series of step ``window`` from: ``window`` itself, else the
    longest stored length that divides it (``None`` when no stored length fits)."""
    fitting = [d for d in stored if d <= window and window % d == timedelta(0)]
    return max(fitting, default=None)
