"""Scoring incidents against raw logs' injected ones: found, how soon, the right kind and name.

Stricter than the demo's score (:mod:`vigil.lab.evaluation`): an injected incident counts as
found only by an incident of its own, of the same model and kind, that overlaps it. Its delay is
counted in windows from the window the problem started in to the window the incident opened
in, and it names the right subject when the injected feature is among the incident's features
or the injected host among its attribution. An incident that overlaps no injected incident of
its model is a false one; one that overlaps an injected incident but is not its match (another
kind, a second incident for it) is listed as extra, not counted as false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.core import Window
from vigil.incidents import Incident
from vigil.lab.simulation.raw_logs import RawIncident

SLACK = timedelta(hours=3)
"""An incident may open this long after the injected one ended (a detector needs a step)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RawMatch:
    injected: RawIncident
    incident: Incident | None
    delay_windows: int | None
    kind_found: str
    subject_named: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RawScore:
    matches: tuple[RawMatch, ...]
    false_incidents: tuple[Incident, ...]
    extra_incidents: tuple[Incident, ...]

    @property
    def found(self) -> int:
        return sum(1 for m in self.matches if m.incident is not None)


def score_raw(
    injected: Sequence[RawIncident],
    incidents: Sequence[Incident],
    *,
    window: timedelta,
    evaluated_from: datetime,
) -> RawScore:
    """Match ``incidents`` (opened from ``evaluated_from`` on) to ``injected`` ones."""
    considered = sorted(
        (i for i in incidents if i.last_anomaly_at >= evaluated_from),
        key=lambda i: (i.opened_at, i.id),
    )
    used: set[str] = set()
    matches = []
    for truth in sorted(injected, key=lambda t: t.start):
        overlapping = [i for i in considered if _overlaps(i, truth)]
        same_kind = [i for i in overlapping if i.kind.value == truth.kind and i.id not in used]
        incident = same_kind[0] if same_kind else None
        if incident is not None:
            used.add(incident.id)
        first = Window.containing(truth.start, window).start
        delay = None if incident is None else max(0, int((incident.opened_at - first) / window))
        matches.append(
            RawMatch(
                injected=truth,
                incident=incident,
                delay_windows=delay,
                kind_found=", ".join(sorted({i.kind.value for i in overlapping})) or "-",
                subject_named=incident is not None and _names(incident, truth.subject),
            )
        )
    related = {i.id for t in injected for i in considered if _overlaps(i, t)}
    return RawScore(
        matches=tuple(matches),
        false_incidents=tuple(i for i in considered if i.id not in related),
        extra_incidents=tuple(i for i in considered if i.id in related and i.id not in used),
    )


def _overlaps(incident: Incident, truth: RawIncident) -> bool:
    return (
        incident.model == truth.model
        and incident.opened_at <= truth.end + SLACK
        and incident.last_anomaly_at >= truth.start - timedelta(hours=1)
    )


def _names(incident: Incident, subject: str) -> bool:
    if not subject:
        return True
    return subject in incident.features or any(a.value == subject for a in incident.attribution)
