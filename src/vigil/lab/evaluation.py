"""Scoring the demo: which injected incidents did the pipeline find, and how much else did it say.

An injected incident counts as found when a detected incident of the same model overlaps its
interval (a detected incident may open up to ``slack`` after the injected one ends, since a
detector needs a step or two to be sure). A detected incident that matches no injected one is a
false alarm. Platform incidents count as found for every member model they cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.incidents import Incident
from vigil.lab.simulation.logs import InjectedIncident


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    injected: InjectedIncident
    detected: tuple[str, ...]
    """Ids of the detected incidents that match it (empty when missed)."""
    delay: timedelta | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoScore:
    injected: int
    detected: int
    true_positives: int
    false_alarms: int
    matches: tuple[Match, ...]

    @property
    def precision(self) -> float:
        return (self.detected - self.false_alarms) / self.detected if self.detected else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.injected if self.injected else 0.0


def score_demo(
    injected: Sequence[InjectedIncident],
    detected: Sequence[Incident],
    *,
    slack: timedelta = timedelta(hours=3),
    evaluated_from: datetime | None = None,
) -> DemoScore:
    """Match detected incidents to injected ones (see module docstring)."""
    considered = [
        i for i in detected if evaluated_from is None or i.last_anomaly_at >= evaluated_from
    ]
    matched_ids: set[str] = set()
    matches: list[Match] = []
    for truth in injected:
        hits = [
            incident
            for incident in considered
            if _covers_model(incident, truth.model)
            and incident.opened_at <= truth.end + slack
            and incident.last_anomaly_at >= truth.start
        ]
        matched_ids.update(i.id for i in hits)
        first = min((i.opened_at for i in hits), default=None)
        delay = max(first - truth.start, timedelta(0)) if first is not None else None
        matches.append(Match(injected=truth, detected=tuple(i.id for i in hits), delay=delay))
    found = sum(1 for m in matches if m.detected)
    false_alarms = sum(1 for i in considered if i.id not in matched_ids)
    return DemoScore(
        injected=len(injected),
        detected=len(considered),
        true_positives=found,
        false_alarms=false_alarms,
        matches=tuple(matches),
    )


def _covers_model(incident: Incident, model: str) -> bool:
    if incident.model == model:
        return True
    return incident.is_platform and any(a.key.model == model for a in incident.anomalies)
