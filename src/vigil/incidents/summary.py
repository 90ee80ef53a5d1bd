"""One-line incident summaries that read like what a person would write.

The summary names the kind of problem first (a distribution shift, a constant or missing feature,
a traffic drop, a latency regression) because that is what decides who looks at it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from vigil.core import Family
from vigil.detect import Anomaly
from vigil.incidents.incident import anomaly_weight

_MISSING = ("missing", "coverage")
_CONSTANT = ("constant", "uniform")
_TRAFFIC = ("requests", "rows", "request_count", "traffic")
_LATENCY = ("latency",)
_DRIFT_MIN_FEATURES = 3


def summarize(model: str, version: str, anomalies: Sequence[Anomaly], since: datetime) -> str:
    """Describe the incident formed by ``anomalies`` of ``model``/``version``."""
    name = f"{model}-{version}" if version else model
    when = since.strftime("%Y-%m-%d %H:%M")
    features = _ranked_columns(a for a in anomalies if a.key.family in _FEATURE_FAMILIES)
    missing = _columns_with(anomalies, _MISSING, Family.FEATURE)
    constant = _columns_with(anomalies, _CONSTANT, Family.FEATURE)
    if len(features) >= _DRIFT_MIN_FEATURES:
        top = ", ".join(features[:3]) + (", …" if len(features) > 3 else "")
        return f"distribution shift in {len(features)} features of {name} since {when} (top: {top})"
    if missing:
        return f"feature `{missing[0]}` missing since {when}" + _and_more(missing)
    if constant:
        return (
            f"feature `{constant[0]}` has the same value for every request since {when}"
            + _and_more(constant)
        )
    worst = max(anomalies, key=anomaly_weight)
    statistic = worst.key.statistic
    if worst.key.family == Family.AUXILIARY and any(t in statistic for t in _TRAFFIC):
        change = _relative_change(worst)
        direction = "down" if worst.value < worst.expected else "up"
        return f"traffic {direction} {abs(change):.0%} vs expected for {name} since {when}"
    if any(t in statistic for t in _LATENCY):
        ratio = worst.value / worst.expected if worst.expected > 0 else math.nan
        where = f" on host {worst.key.column}" if worst.key.column else ""
        label = statistic.replace("latency_", "")
        if math.isfinite(ratio):
            return f"{label} latency up {ratio:.1f}× of {name}{where} since {when}"
        return f"{label} latency anomalous for {name}{where} since {when}"
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
