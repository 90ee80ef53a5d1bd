"""Cross-dimension evidence: what else about the same model moved while the incident was open."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents.incident import Incident


@dataclass(frozen=True, slots=True, kw_only=True)
class CoMovement:
    """Another series of the incident's model that was anomalous around the same time."""

    key: SeriesKey
    anomalies: int
    max_severity: float


def co_movements(
    incident: Incident, others: Sequence[Anomaly], *, slack: timedelta = timedelta(hours=1)
) -> list[CoMovement]:
    """Rank the model's other anomalous series during the incident (± ``slack``) by severity.

    ``others`` may be any anomalies (typically all anomalies of the period, including those the
    filters removed); only the incident's model, outside the incident's own series, counts.
    """
    members = set(incident.series)
    start, end = incident.opened_at - slack, incident.last_anomaly_at + slack
    found: dict[SeriesKey, list[float]] = {}
    for anomaly in others:
        if (
            anomaly.key.model == incident.model
            and anomaly.key not in members
            and start <= anomaly.timestamp <= end
        ):
            severity = anomaly.severity if math.isfinite(anomaly.severity) else anomaly.score
            found.setdefault(anomaly.key, []).append(severity if math.isfinite(severity) else 0.0)
    ranked = [
        CoMovement(key=key, anomalies=len(values), max_severity=max(values))
        for key, values in found.items()
    ]
    return sorted(ranked, key=lambda c: (-c.max_severity, -c.anomalies, str(c.key)))
