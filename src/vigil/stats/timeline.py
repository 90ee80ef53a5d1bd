"""Profiles laid out on a regular timeline, and the collector that turns points into ``Series``.

Every series of one model shares one timeline: every window from the model's first to its last,
whether or not a version had rows in it. A window without data is a NaN point, never a skipped
one, so a detector sees the gap (a version that stopped serving) instead of a silently shorter
series.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from vigil.core import SeriesKey, Window, windows_between
from vigil.profile import Profile, rollup
from vigil.stats.series import FloatArray, Series, TimeArray
from vigil.stats.spec import Reference, ReferenceMode


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The profiles of one model on its regular windows (``profiles[version][window]``)."""

    model: str
    windows: tuple[Window, ...]
    profiles: Mapping[str, Mapping[Window, Profile]]
    _starts: list[datetime] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", [w.start for w in self.windows])

    def reference_windows(self, current: Window, reference: Reference) -> list[Window]:
        """The timeline windows ``reference`` selects for ``current``, oldest first."""
        found: list[Window] = []
        for bounds in reference.ranges(current):
            lo = bisect.bisect_left(self._starts, bounds.start)
            hi = bisect.bisect_left(self._starts, bounds.end)
            found.extend(w for w in self.windows[lo:hi] if w.end <= bounds.end)
        return sorted(set(found))

    def reference_profiles(
        self, version: str, current: Window, reference: Reference, *, min_own: int = 1
    ) -> list[Profile]:
        """The version's profiles in ``current``'s reference windows.

        A version with fewer than ``min_own`` profiles there (it is new) is compared with the
        model's other versions in those windows too, so a fresh deployment is checked against
        what it replaced.
        """
        if reference.mode is ReferenceMode.PROFILES:
            return list(reference.profiles)
        windows = self.reference_windows(current, reference)
        own = self.profiles.get(version, {})
        found = [own[w] for w in windows if w in own]
        if len(found) >= min_own:
            return found
        return found + [
            by_window[w]
            for other, by_window in sorted(self.profiles.items())
            if other != version
            for w in windows
            if w in by_window
        ]

    def earlier_profiles(self, version: str, current: Window) -> list[Profile]:
        """Every profile of the version before ``current`` (of the model's other versions when
        it has none): what a window of a model younger than its reference is compared with."""
        own = self.profiles.get(version, {})
        found = [profile for window, profile in sorted(own.items()) if window.end <= current.start]
        if found:
            return found
        return [
            profile
            for other, by_window in sorted(self.profiles.items())
            if other != version
            for window, profile in sorted(by_window.items())
            if window.end <= current.start
        ]

    def rows(self, window: Window) -> int:
        """Rows of every version of the model in ``window`` (0 when none)."""
        return sum(
            by_window[window].rows for by_window in self.profiles.values() if window in by_window
        )


def timelines(profiles: Iterable[Profile], window: timedelta) -> list[Timeline]:
    """Roll ``profiles`` up to ``window`` and lay each model's out on its own timeline."""
    by_model: dict[str, dict[str, dict[Window, Profile]]] = {}
    for key, profile in rollup(profiles, window).items():
        by_model.setdefault(key.model, {}).setdefault(key.version, {})[key.window] = profile
    result = []
    for model, versions in sorted(by_model.items()):
        starts = [w.start for by_window in versions.values() for w in by_window]
        ends = [w.end for by_window in versions.values() for w in by_window]
        windows = tuple(windows_between(min(starts), max(ends), window))
        result.append(Timeline(model=model, windows=windows, profiles=versions))
    return result


def timestamps_of(windows: tuple[Window, ...]) -> TimeArray:
    """Window starts as ``datetime64[s]`` (the ``Series`` convention: UTC, no zone)."""
    return np.array([int(w.start.timestamp()) for w in windows], dtype="datetime64[s]")


@dataclass(slots=True)
class SeriesCollector:
    """Gathers ``(key, step, value)`` points, with their sample size and standard error when
    known, and emits one NaN-padded ``Series`` per key."""

    windows: tuple[Window, ...]
    _values: dict[SeriesKey, FloatArray] = field(default_factory=dict)
    _support: dict[SeriesKey, FloatArray] = field(default_factory=dict)
    _stderr: dict[SeriesKey, FloatArray] = field(default_factory=dict)
    _step_of: dict[Window, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._step_of = {window: step for step, window in enumerate(self.windows)}

    def covers(self, window: Window) -> bool:
        return window in self._step_of

    def add(
        self,
        key: SeriesKey,
        window: Window,
        value: float,
        support: float | None = None,
        stderr: float | None = None,
    ) -> None:
        """Record one point; a window outside the collector's (reference only) is ignored."""
        step = self._step_of.get(window)
        if step is None:
            return
        values = self._values.get(key)
        if values is None:
            values = self._values[key] = np.full(len(self.windows), np.nan)
        values[step] = value
        if support is not None:
            column = self._support.get(key)
            if column is None:
                column = self._support[key] = np.full(len(self.windows), np.nan)
            column[step] = support
        if stderr is not None:
            errors = self._stderr.get(key)
            if errors is None:
                errors = self._stderr[key] = np.full(len(self.windows), np.nan)
            errors[step] = stderr

    def add_points(
        self,
        key: SeriesKey,
        windows: Sequence[Window],
        values: Sequence[float],
        support: Sequence[float],
    ) -> None:
        """:meth:`add` of each window's point with its sample size, the key looked up once (a
        batch of windows' drift gives each of its series a point per window)."""
        kept = [
            (self._step_of.get(w), v, n) for w, v, n in zip(windows, values, support, strict=True)
        ]
        found = [(step, v, n) for step, v, n in kept if step is not None]
        if not found:
            return
        steps = [step for step, _, _ in found]
        column = self._values.get(key)
        if column is None:
            column = self._values[key] = np.full(len(self.windows), np.nan)
        column[steps] = [v for _, v, _ in found]
        sizes = self._support.get(key)
        if sizes is None:
            sizes = self._support[key] = np.full(len(self.windows), np.nan)
        sizes[steps] = [n for _, _, n in found]

    def add_column(
        self,
        key: SeriesKey,
        windows: Sequence[Window],
        values: Sequence[float],
        support: Sequence[float | None],
        stderr: Sequence[float | None],
    ) -> None:
        """:meth:`add` of each window's point (a ``None`` sample size or standard error is not
        known at that window, as with :meth:`add`), the key looked up once: health gives each
        column's statistics a point per window, and hashing a key per point cost more than the
        statistic."""
        kept = [i for i, w in enumerate(windows) if w in self._step_of]
        if not kept:
            return
        steps = [self._step_of[windows[i]] for i in kept]
        whole = len(kept) == len(windows)
        column = self._values.get(key)
        if column is None:
            column = self._values[key] = np.full(len(self.windows), np.nan)
        column[steps] = values if whole else [values[i] for i in kept]
        for found, given in ((self._support, support), (self._stderr, stderr)):
            known = [(step, given[i]) for step, i in zip(steps, kept, strict=True)]
            known = [(step, v) for step, v in known if v is not None]
            if not known:
                continue
            column = found.get(key)
            if column is None:
                column = found[key] = np.full(len(self.windows), np.nan)
            column[[step for step, _ in known]] = [v for _, v in known]

    def series(self) -> list[Series]:
        stamps = timestamps_of(self.windows)
        return [
            Series(
                key=key,
                timestamps=stamps,
                values=values,
                support=self._support.get(key),
                stderr=self._stderr.get(key),
            )
            for key, values in sorted(self._values.items())
        ]
