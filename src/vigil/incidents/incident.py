"""The incident value: one problem, the anomalies that show it, and where it is in its life."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents.kinds import IncidentKind, Problem, features_of, kind_of
from vigil.incidents.kinds import opening_problem as _opening

PLATFORM = "(platform)"
"""The model name of platform-wide incidents (most models turned anomalous at once)."""


class IncidentState(StrEnum):
    """An incident is open while it is live (anomalies still arriving, or not yet quiet for
    ``resolve_after``) and resolved after. There is no third state: "updated" read as a state
    hid live incidents from every "open" filter, so a stored ``"updated"`` reads as open."""

    OPEN = "open"
    RESOLVED = "resolved"

    @classmethod
    def _missing_(cls, value: object) -> IncidentState | None:
        return cls.OPEN if value == "updated" else None


class Verdict(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_ALARM = "false_alarm"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attribution:
    """One host or tag value that carries an incident's excess
    (:mod:`vigil.incidents.attribution` finds them).

    ``share`` is the part of the excess (slow requests beyond the others' rate, or requests
    lost) it accounts for; ``rate`` and ``others`` are its and the rest's rates (of slow
    requests, or of traffic kept against the reference).
    """

    dimension: str
    """``"host"`` or ``"tag:<name>"``."""
    value: str
    share: float
    rate: float
    others: float
    root_llr: float

    def __post_init__(self) -> None:
        if not self.dimension or not 0.0 <= self.share <= 1.0:
            raise ConfigError(
                f"bad attribution {self.dimension!r}={self.value!r} share {self.share}"
            )

    def __str__(self) -> str:
        where = "host" if self.dimension == "host" else self.dimension.removeprefix("tag:")
        return f"{where} {self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """A group of anomalies of one model (and version) that overlap in time.

    ``id`` is derived from the model, version and start time, so re-running the same windows
    yields the same ids (notifications are keyed on it and are never sent twice).
    """

    id: str
    model: str
    version: str
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    last_anomaly_at: datetime
    resolved_at: datetime | None = None
    severity: float
    summary: str
    anomalies: tuple[Anomaly, ...]
    members: tuple[str, ...] = ()
    """For a platform incident, the ids of the model incidents it stands for."""
    downgraded: bool = False
    """True when the version's share of traffic is below the configured minimum."""
    attribution: tuple[Attribution, ...] = ()
    """The hosts or tag values that carry the excess (:mod:`vigil.incidents.attribution`)."""
    revision: int = field(default=0, compare=False)
    """The stored row's revision this value was read at (0: never stored). A store writes an
    incident only while its row is still at this revision, so a change made meanwhile by
    another writer (a person's verdict, another cycle) is never silently written over. Not part
    of equality: two values saying the same thing are equal whichever write they came from."""

    def __post_init__(self) -> None:
        if self.revision < 0:
            raise ConfigError(f"incident {self.id!r}: revision must be >= 0, got {self.revision}")
        if not self.anomalies:
            raise ConfigError(f"incident {self.id!r} has no anomalies")
        if self.resolved_at is not None and self.state is not IncidentState.RESOLVED:
            raise ConfigError(f"incident {self.id!r} has resolved_at but state {self.state}")

    @property
    def series(self) -> tuple[SeriesKey, ...]:
        """The distinct series implicated, most severe first."""
        best: dict[SeriesKey, float] = {}
        for anomaly in self.anomalies:
            best[anomaly.key] = max(best.get(anomaly.key, 0.0), anomaly_weight(anomaly))
        return tuple(sorted(best, key=lambda key: (-best[key], str(key))))

    @property
    def is_platform(self) -> bool:
        return self.model == PLATFORM

    @property
    def kind(self) -> IncidentKind:
        """What kind of problem this is, from all its evidence (:func:`kind_of`)."""
        return kind_of(self.anomalies, platform=self.is_platform)

    @property
    def features(self) -> tuple[str, ...]:
        """The features implicated, most severe first."""
        return features_of(self.anomalies)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback:
    """An owner's verdict on an incident; stored as labels the deep detector can learn from."""

    incident_id: str
    verdict: Verdict
    at: datetime
    by: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackLabel:
    """One labelled step of one series, derived from feedback on an incident."""

    key: SeriesKey
    timestamp: datetime
    label: int


def feedback_labels(incident: Incident, feedback: Feedback) -> list[FeedbackLabel]:
    """Turn a verdict into point labels: 1 on every member anomaly when confirmed, else 0."""
    if feedback.incident_id != incident.id:
        raise ConfigError(f"feedback is for {feedback.incident_id!r}, not {incident.id!r}")
    label = 1 if feedback.verdict is Verdict.CONFIRMED else 0
    return [
        FeedbackLabel(key=anomaly.key, timestamp=anomaly.timestamp, label=label)
        for anomaly in incident.anomalies
    ]


def incident_id(model: str, version: str, opened_at: datetime) -> str:
    """A short stable id: the same model, version and start always give the same id."""
    digest = hashlib.sha256(f"{model}\0{version}\0{opened_at.isoformat()}".encode()).hexdigest()
    return f"inc-{digest[:12]}"


def anomaly_weight(anomaly: Anomaly) -> float:
    """How much an anomaly matters: its severity, else its score, else 0 (never NaN)."""
    for value in (anomaly.severity, anomaly.score):
        if math.isfinite(value):
            return value
    return 0.0


def opening_problem(incident: Incident) -> Problem:
    """The problem ``incident`` opened with: its first window's anomalies, so it never changes
    while the incident lives (what alert labels and metric labels need)."""
    problem = _opening(incident.anomalies, platform=incident.is_platform)
    hosts = [a.value for a in incident.attribution if a.dimension == "host"]
    if problem.kind is IncidentKind.LATENCY and not problem.host and hosts:
        return replace(problem, host=hosts[0])
    return problem
