"""Filters between raw anomalies and incidents; each reports how many anomalies it removed.

Detectors are tuned to catch things; these filters are tuned to keep a model owner's inbox worth
reading. They are plain functions over anomaly lists, applied in a fixed order by
:func:`apply_filters`, so each can be tested alone and the report shows where alerts went.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.core import ConfigError, Family, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents.silences import MaintenanceWindow, Silence


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterSettings:
    """What the filters let through. Defaults suit hourly health series."""

    min_severity: float = 0.0
    """Drop anomalies closer than this many band widths to the expected value (NaN passes)."""
    duration_k: int = 1
    duration_n: int = 1
    """Keep an anomaly only when at least ``k`` of the last ``n`` steps of its series were
    anomalous (``1 of 1`` keeps everything)."""
    urgent_severity: float = math.inf
    """An anomaly at least this severe is kept without waiting for the duration rule: a step
    that far outside the band that decided is no noise (a change of units). So is a stop: a
    request count of zero where at least ``STOP_MIN_EXPECTED`` were expected."""
    step: timedelta = timedelta(hours=1)
    """The series' step, to count "the last n steps"."""
    cooldown: timedelta = timedelta(0)
    """After an anomaly on a series, drop further ones on it for this long (0 = off)."""
    min_traffic_share: float = 0.0
    """Versions with a smaller share of their model's traffic are downgraded (kept, marked)."""

    def __post_init__(self) -> None:
        if not 1 <= self.duration_k <= self.duration_n:
            raise ConfigError(
                f"duration filter needs 1 <= k <= n, got k={self.duration_k}, n={self.duration_n}"
            )
        if not self.urgent_severity > 0:
            raise ConfigError(f"urgent_severity must be > 0, got {self.urgent_severity!r}")
        if self.min_severity < 0 or not 0 <= self.min_traffic_share <= 1:
            raise ConfigError(
                f"min_severity ({self.min_severity}) must be >= 0 and min_traffic_share "
                f"({self.min_traffic_share}) within [0, 1]"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterReport:
    name: str
    removed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterOutcome:
    """What survived the filters, what each filter removed, and which versions are downgraded."""

    kept: tuple[Anomaly, ...]
    reports: tuple[FilterReport, ...]
    downgraded_versions: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def deduplicate(anomalies: Sequence[Anomaly]) -> list[Anomaly]:
    """One anomaly per (series, time): the highest-scoring one when several detectors agree."""
    best: dict[tuple[SeriesKey, datetime], Anomaly] = {}
    for anomaly in anomalies:
        slot = (anomaly.key, anomaly.timestamp)
        current = best.get(slot)
        if current is None or _score(anomaly) > _score(current):
            best[slot] = anomaly
    return sorted(best.values(), key=lambda a: (a.timestamp, str(a.key)))


def drop_silenced(
    anomalies: Sequence[Anomaly],
    silences: Sequence[Silence],
    maintenance: Sequence[MaintenanceWindow] = (),
) -> list[Anomaly]:
    """Remove anomalies covered by a silence active at their time or a maintenance window."""
    return [
        anomaly
        for anomaly in anomalies
        if not any(s.is_active(anomaly.timestamp) and s.matches(anomaly.key) for s in silences)
        and not any(window.covers(anomaly.key, anomaly.timestamp) for window in maintenance)
    ]


def drop_mild(anomalies: Sequence[Anomaly], min_severity: float) -> list[Anomaly]:
    """Remove anomalies whose severity is known and below ``min_severity``."""
    return [a for a in anomalies if math.isnan(a.severity) or a.severity >= min_severity]


def require_duration(
    anomalies: Sequence[Anomaly],
    k: int,
    n: int,
    step: timedelta,
    urgent_severity: float = math.inf,
) -> list[Anomaly]:
    """Keep an anomaly when its series had at least ``k`` anomalous steps among the last ``n``,
    or when it is at least ``urgent_severity`` severe."""
    if k == 1:
        return list(anomalies)
    by_series = _by_series(anomalies)
    kept: list[Anomaly] = []
    horizon = step * (n - 1)
    for series_anomalies in by_series.values():
        times = [a.timestamp for a in series_anomalies]
        for index, anomaly in enumerate(series_anomalies):
            recent = sum(1 for t in times[: index + 1] if anomaly.timestamp - t <= horizon)
            if recent >= k or anomaly.severity >= urgent_severity or is_stop(anomaly):
                kept.append(anomaly)
    return sorted(kept, key=lambda a: (a.timestamp, str(a.key)))


STOP_MIN_EXPECTED = 20.0
"""Zero requests where twenty were expected has a Poisson probability under 1e-8: a stop."""


def is_stop(anomaly: Anomaly) -> bool:
    """A window with no request (or row) at all where the band expected traffic: a stop is
    news at once, however wide the band of a busy, jumpy hour is."""
    return (
        anomaly.key.family == Family.AUXILIARY
        and anomaly.key.statistic in ("requests", "rows")
        and anomaly.value == 0
        and anomaly.expected >= STOP_MIN_EXPECTED
    )


def apply_cooldown(anomalies: Sequence[Anomaly], cooldown: timedelta) -> list[Anomaly]:
    """After an anomaly on a series, drop that series' anomalies for ``cooldown``."""
    if cooldown <= timedelta(0):
        return list(anomalies)
    kept: list[Anomaly] = []
    for series_anomalies in _by_series(anomalies).values():
        last_kept: datetime | None = None
        for anomaly in series_anomalies:
            if last_kept is None or anomaly.timestamp - last_kept >= cooldown:
                kept.append(anomaly)
                last_kept = anomaly.timestamp
    return sorted(kept, key=lambda a: (a.timestamp, str(a.key)))


def low_traffic_versions(
    traffic_share: Mapping[tuple[str, str], float], min_share: float
) -> frozenset[tuple[str, str]]:
    """The (model, version) pairs whose share of their model's traffic is below ``min_share``."""
    return frozenset(pair for pair, share in traffic_share.items() if share < min_share)


def apply_filters(
    anomalies: Sequence[Anomaly],
    settings: FilterSettings,
    *,
    silences: Sequence[Silence] = (),
    maintenance: Sequence[MaintenanceWindow] = (),
    traffic_share: Mapping[tuple[str, str], float] | None = None,
) -> FilterOutcome:
    """Run every filter in order: dedup, silences, severity, duration, cooldown; then mark
    low-traffic versions (downgraded, not removed: a canary at 1% still deserves a look)."""
    steps: list[tuple[str, Callable[[list[Anomaly]], list[Anomaly]]]] = [
        ("deduplicate", deduplicate),
        ("silences", lambda items: drop_silenced(items, silences, maintenance)),
        ("severity", lambda items: drop_mild(items, settings.min_severity)),
        (
            "duration",
            lambda items: require_duration(
                items,
                settings.duration_k,
                settings.duration_n,
                settings.step,
                settings.urgent_severity,
            ),
        ),
        ("cooldown", lambda items: apply_cooldown(items, settings.cooldown)),
    ]
    current = list(anomalies)
    reports: list[FilterReport] = []
    for name, step in steps:
        survivors = step(current)
        reports.append(FilterReport(name=name, removed=len(current) - len(survivors)))
        current = survivors
    downgraded = low_traffic_versions(traffic_share or {}, settings.min_traffic_share)
    return FilterOutcome(
        kept=tuple(current), reports=tuple(reports), downgraded_versions=downgraded
    )


def _by_series(anomalies: Sequence[Anomaly]) -> dict[SeriesKey, list[Anomaly]]:
    grouped: dict[SeriesKey, list[Anomaly]] = defaultdict(list)
    for anomaly in sorted(anomalies, key=lambda a: a.timestamp):
        grouped[anomaly.key].append(anomaly)
    return grouped


def _score(anomaly: Anomaly) -> float:
    return anomaly.score if not math.isnan(anomaly.score) else -math.inf
