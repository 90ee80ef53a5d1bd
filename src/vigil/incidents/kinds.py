"""What kind of problem an incident is, and what each of its series is about.

The kind decides who looks at an incident (a feature pipeline owner, the serving team, the
model's owner), so it is named from the evidence, once, here: :func:`classify` is the one
decision behind summaries, ``Incident.kind`` (the JSON of ``vigil incidents``, the dashboard)
and, through :func:`opening_problem`, the labels an alert keeps for its whole life.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from vigil.core import Family, SeriesKey
from vigil.detect import Anomaly


class IncidentKind(StrEnum):
    TRAFFIC = "traffic"
    LATENCY = "latency"
    DRIFT = "drift"
    MISSING_FEATURE = "missing_feature"
    CONSTANT_FEATURE = "constant_feature"
    NEW_FEATURE = "new_feature"
    SCHEMA = "schema"
    OUTPUT = "output"
    QUALITY = "quality"
    PERFORMANCE = "performance"
    PLATFORM = "platform"


TRAFFIC_STATISTICS = frozenset({"requests", "rows", "traffic_ratio"})
SCHEMA_MIN_FEATURES = 2
"""Features whose distributions move as an incident opens (within its first
``OPENING_WINDOWS`` windows with anomalies): a change of units or of encoding upstream, not two
drifts that happen to coincide."""
OPENING_WINDOWS = 3
"""A change that starts mid-window shows on one feature first; the duration filter lets the
others through a window or two later."""


def subject_of(key: SeriesKey) -> str:
    """What a series is about: its feature or output, or the model's traffic or latency.

    Anomalies of one subject belong together however far apart in time; a new subject in a
    model with an ongoing incident is a new problem (:mod:`vigil.incidents.grouping`).
    """
    statistic = key.statistic
    # A segment's series is about its column: a shift in region=eu and its echo in the whole
    # model are one problem, not two incidents.
    if key.family in (Family.FEATURE, Family.DRIFT):
        return f"feature:{key.base_column}"
    if key.family == Family.OUTPUT:
        return f"output:{key.base_column}"
    if key.family == Family.PERFORMANCE:
        return f"performance:{key.base_column}"
    if statistic in TRAFFIC_STATISTICS:
        return "traffic"
    if statistic.startswith("latency"):
        return "latency"
    return f"{key.family}:{statistic}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """The kind of problem some anomalies show, the features involved, and the worst anomaly."""

    kind: IncidentKind
    worst: Anomaly
    columns: tuple[str, ...] = ()
    """The features involved, most severe first."""
    host: str = ""
    """The host a latency problem is on: a per-host series' host, or the attributed one."""

    @property
    def feature(self) -> str:
        """The (most severe) feature concerned, or ``""``."""
        return self.columns[0] if self.columns else ""

    @property
    def severity(self) -> float:
        """The severity of the worst anomaly (never NaN)."""
        for value in (self.worst.severity, self.worst.score):
            if math.isfinite(value):
                return value
        return 0.0


def classify(anomalies: Sequence[Anomaly], *, platform: bool = False) -> Problem:
    """The problem these anomalies show (see the module docstring)."""
    worst = max(anomalies, key=lambda a: a.severity if math.isfinite(a.severity) else -1.0)
    kind = kind_of(anomalies, platform=platform)
    host = worst.key.column if kind is IncidentKind.LATENCY else ""
    return Problem(kind=kind, worst=worst, columns=features_of(anomalies), host=host)


def opening_problem(anomalies: Sequence[Anomaly], *, platform: bool = False) -> Problem:
    """The problem the first window of ``anomalies`` shows: what an incident opened with, which
    never changes while it lives (what alert and metric labels need)."""
    first = min(a.timestamp for a in anomalies)
    return classify([a for a in anomalies if a.timestamp == first], platform=platform)


def kind_of(anomalies: Sequence[Anomaly], *, platform: bool = False) -> IncidentKind:
    """The kind of the incident these anomalies form (see the module docstring).

    Data-quality events name their kind first; then several features moving at the opening
    (or a value type changing) is a schema change; then traffic, latency, one feature's
    distribution, the model's outputs, and other data quality (quarantined or null rows).
    """
    if platform:
        return IncidentKind.PLATFORM
    statistics = {(a.key.family, a.key.statistic) for a in anomalies}
    feature = Family.FEATURE.value
    missing = (feature, "missing") in statistics
    new = (feature, "new") in statistics
    if (feature, "type_changed") in statistics or (missing and new):
        return IncidentKind.SCHEMA
    if missing:
        return IncidentKind.MISSING_FEATURE
    if (feature, "constant") in statistics:
        return IncidentKind.CONSTANT_FEATURE
    if new:
        return IncidentKind.NEW_FEATURE
    if len(_moved_at_opening(anomalies)) >= SCHEMA_MIN_FEATURES:
        return IncidentKind.SCHEMA
    subjects = {subject_of(a.key) for a in anomalies}
    if "traffic" in subjects:
        return IncidentKind.TRAFFIC
    if "latency" in subjects:
        return IncidentKind.LATENCY
    if any(s.startswith("feature:") and not _quality_only(anomalies, s) for s in subjects):
        return IncidentKind.DRIFT
    if any(s.startswith("output:") for s in subjects):
        return IncidentKind.OUTPUT
    if any(s.startswith("performance:") for s in subjects):
        return IncidentKind.PERFORMANCE
    return IncidentKind.QUALITY


def features_of(anomalies: Iterable[Anomaly]) -> tuple[str, ...]:
    """The features implicated, most severe first (a segment's anomaly speaks for its
    feature)."""
    weights: dict[str, float] = {}
    for anomaly in anomalies:
        column = anomaly.key.base_column
        if anomaly.key.family in (Family.FEATURE, Family.DRIFT) and column:
            weight = anomaly.severity if anomaly.severity == anomaly.severity else 0.0
            weights[column] = max(weights.get(column, 0.0), weight)
    return tuple(sorted(weights, key=lambda column: (-weights[column], column)))


def segments_of(anomalies: Iterable[Anomaly]) -> tuple[str, ...]:
    """The segments whose own series moved (``region=eu``), most severe first."""
    weights: dict[str, float] = {}
    for anomaly in anomalies:
        if segment := anomaly.key.segment:
            weight = anomaly.severity if anomaly.severity == anomaly.severity else 0.0
            weights[segment] = max(weights.get(segment, 0.0), weight)
    return tuple(sorted(weights, key=lambda segment: (-weights[segment], segment)))


_SHAPE = frozenset({"mean", "std", "ks", "linf", "share", "p05", "p50", "p95", "psi"})


def _moved_at_opening(anomalies: Sequence[Anomaly]) -> set[str]:
    """Features whose location or distribution was anomalous in the incident's first
    ``OPENING_WINDOWS`` windows with anomalies."""
    opening = sorted({a.timestamp for a in anomalies})[:OPENING_WINDOWS]
    if not opening:
        return set()
    return {
        a.key.base_column
        for a in anomalies
        if a.timestamp <= opening[-1]
        and a.key.family in (Family.FEATURE, Family.DRIFT)
        and a.key.statistic in _SHAPE
    }


def _quality_only(anomalies: Sequence[Anomaly], subject: str) -> bool:
    """True when a feature's anomalies are only of its nulls (a data-quality problem)."""
    return all(
        a.key.statistic in ("null_rate", "nonfinite_rate", "coverage")
        for a in anomalies
        if subject_of(a.key) == subject
    )
