"""One-line incident summaries that read like what a person would write.

The summary names the kind of problem first (a distribution shift, a constant or missing feature,
a traffic drop, a latency regression) because that is what decides who looks at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vigil.core import Family
from vigil.detect import Anomaly
from vigil.incidents.incident import Incident, anomaly_weight

_MISSING = ("missing", "coverage")
_CONSTANT = ("constant", "uniform")
_TRAFFIC = ("requests", "rows", "request_count", "traffic")
_LATENCY = ("latency",)
_DRIFT_MIN_FEATURES = 3


class ProblemKind(StrEnum):
    """What kind of problem an incident is: what decides who looks at it."""

    DISTRIBUTION_SHIFT = "distribution_shift"
    MISSING_FEATURE = "missing_feature"
    CONSTANT_FEATURE = "constant_feature"
    TRAFFIC = "traffic"
    LATENCY = "latency"
    FEATURE = "feature"
    """The rest: one unusual series, named by its family."""
    OUTPUT = "output"
    DRIFT = "drift"
    AUXILIARY = "auxiliary"
    PERFORMANCE = "performance"
    """Realised performance from labels (``column`` is the output, ``@segment`` when split)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """The kind of problem some anomalies show, the columns involved, and the worst anomaly."""

    kind: ProblemKind
    worst: Anomaly
    columns: tuple[str, ...] = ()
    """The features involved, most severe first (shift, missing and constant kinds)."""

    @property
    def feature(self) -> str:
        """The (most severe) feature concerned, or ``""``."""
        if self.columns:
            return self.columns[0]
        return self.worst.key.column if self.worst.key.family in _FEATURE_FAMILIES else ""

    @property
    def host(self) -> str:
        """The host of a per-host latency series, or ``""``."""
        return self.worst.key.column if self.kind is ProblemKind.LATENCY else ""

    @property
    def severity(self) -> float:
        """The severity of the worst anomaly (the incident's unit: band widths)."""
        return anomaly_weight(self.worst)


def opening_problem(incident: Incident) -> Problem:
    """The problem ``incident`` opened with: its first window's anomalies, so it never changes
    while the incident lives (what alert labels and metric labels need)."""
    first = min(anomaly.timestamp for anomaly in incident.anomalies)
    return classify([anomaly for anomaly in incident.anomalies if anomaly.timestamp == first])


def classify(anomalies: Sequence[Anomaly]) -> Problem:
    """The problem ``anomalies`` show; the one decision behind summaries and alert labels."""
    worst = max(anomalies, key=anomaly_weight)
    features = _ranked_columns(a for a in anomalies if a.key.family in _FEATURE_FAMILIES)
    if len(features) >= _DRIFT_MIN_FEATURES:
        return Problem(kind=ProblemKind.DISTRIBUTION_SHIFT, worst=worst, columns=tuple(features))
    missing = _columns_with(anomalies, _MISSING, Family.FEATURE)
    if missing:
        return Problem(kind=ProblemKind.MISSING_FEATURE, worst=worst, columns=tuple(missing))
    constant = _columns_with(anomalies, _CONSTANT, Family.FEATURE)
    if constant:
        return Problem(kind=ProblemKind.CONSTANT_FEATURE, worst=worst, columns=tuple(constant))
    statistic = worst.key.statistic
    if worst.key.family == Family.AUXILIARY and any(t in statistic for t in _TRAFFIC):
        return Problem(kind=ProblemKind.TRAFFIC, worst=worst)
    if any(t in statistic for t in _LATENCY):
        return Problem(kind=ProblemKind.LATENCY, worst=worst)
    return Problem(kind=ProblemKind(worst.key.family), worst=worst)


def summarize(model: str, version: str, anomalies: Sequence[Anomaly], since: datetime) -> str:
    """Describe the incident formed by ``anomalies`` of ``model``/``version``."""
    name = f"{model}-{version}" if version else model
    when = since.strftime("%Y-%m-%d %H:%M")
    problem = classify(anomalies)
    worst, columns = problem.worst, list(problem.columns)
    if problem.kind is ProblemKind.DISTRIBUTION_SHIFT:
        top = ", ".join(columns[:3]) + (", …" if len(columns) > 3 else "")
        return f"distribution shift in {len(columns)} features of {name} since {when} (top: {top})"
    if problem.kind is ProblemKind.MISSING_FEATURE:
        return f"feature `{columns[0]}` missing since {when}" + _and_more(columns)
    if problem.kind is ProblemKind.CONSTANT_FEATURE:
        return (
            f"feature `{columns[0]}` has the same value for every request since {when}"
            + _and_more(columns)
        )
    statistic = worst.key.statistic
    if problem.kind is ProblemKind.TRAFFIC:
        change = _relative_change(worst)
        direction = "down" if worst.value < worst.expected else "up"
        return f"traffic {direction} {abs(change):.0%} vs expected for {name} since {when}"
    if problem.kind is ProblemKind.LATENCY:
        ratio = worst.value / worst.expected if worst.expected > 0 else math.nan
        where = f" on host {problem.host}" if problem.host else ""
        label = statistic.replace("latency_", "")
        if math.isfinite(ratio):
            return f"{label} latency up {ratio:.1f}× of {name}{where} since {when}"
        return f"{label} latency anomalous for {name}{where} since {when}"
    if problem.kind is ProblemKind.PERFORMANCE:
        output, _, segment = worst.key.column.partition("@")
        where = f" in segment {segment}" if segment else ""
        return (
            f"{statistic} of `{output}`{where} {worst.direction} to {worst.value:.3g} from "
            f"{worst.expected:.3g} for {name} since {when}"
        )
    subject = f"{worst.key.family} `{worst.key.column}`" if worst.key.column else worst.key.family
    change = _relative_change(worst)
    size = f" {abs(change):.0%}" if math.isfinite(change) else ""
    return f"{subject} {statistic} {worst.direction}{size} vs expected for {name} since {when}" + (
        f" ({len(anomalies)} anomalies)" if len(anomalies) > 1 else ""
    )


_FEATURE_FAMILIES = (Family.FEATURE, Family.DRIFT)


def _ranked_columns(anomalies: Iterable[Anomaly]) -> list[str]:
    weights: dict[str, float] = {}
    for anomaly in anomalies:
        if anomaly.key.column:
            weights[anomaly.key.column] = max(
                weights.get(anomaly.key.column, 0.0), anomaly_weight(anomaly)
            )
    return sorted(weights, key=lambda column: (-weights[column], column))


def _columns_with(anomalies: Sequence[Anomaly], words: tuple[str, ...], family: str) -> list[str]:
    return _ranked_columns(
        [
            a
            for a in anomalies
            if a.key.family == family and any(w in a.key.statistic for w in words)
        ]
    )


def _and_more(columns: list[str]) -> str:
    return f" (and {len(columns) - 1} more)" if len(columns) > 1 else ""


def _relative_change(anomaly: Anomaly) -> float:
    if anomaly.expected == 0 or not math.isfinite(anomaly.expected):
        return math.nan
    return (anomaly.value - anomaly.expected) / abs(anomaly.expected)
