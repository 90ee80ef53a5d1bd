"""Grouping anomalies into incidents, and incidents through their lifecycle.

Anomalies of one model and version that start together form one incident: forty series moving
together after a schema migration are one problem, not forty. An anomaly joins an ongoing
incident when it is about a subject the incident already holds (the same feature, output, the
model's traffic or latency; :func:`~vigil.incidents.kinds.subject_of`) within ``gap`` of its
last anomaly, or when it comes within ``gap`` of the incident's opening. Anything else is a new
problem and opens its own incident, even while another is ongoing: a feature that goes missing
three days into a schema incident must be heard, not folded into the old one. An incident stays
open while anomalies keep arriving and resolves once ``resolve_after`` passes without any. When
most models of the platform open incidents at once, they are folded into a single platform
incident.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vigil.core import ConfigError
from vigil.detect import Anomaly
from vigil.incidents.incident import (
    PLATFORM,
    Attribution,
    Incident,
    IncidentState,
    anomaly_weight,
    incident_id,
)
from vigil.incidents.kinds import subject_of
from vigil.incidents.summary import summarize


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupingSettings:
    gap: timedelta = timedelta(hours=3)
    """Anomalies closer than this belong to the same incident."""
    resolve_after: timedelta = timedelta(hours=6)
    """An incident with no anomaly for this long is resolved."""
    platform_fraction: float = 0.5
    """Fold into one platform incident when this share of all models open incidents together."""
    platform_min_models: int = 3
    platform_window: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if self.gap <= timedelta(0) or self.resolve_after <= timedelta(0):
            raise ConfigError(f"gap ({self.gap}) and resolve_after must be positive")
        if not 0 < self.platform_fraction <= 1:
            raise ConfigError(f"platform_fraction must be in (0, 1], got {self.platform_fraction}")


def update_incidents(
    previous: Sequence[Incident],
    anomalies: Sequence[Anomaly],
    *,
    now: datetime,
    settings: GroupingSettings,
    downgraded: Collection[tuple[str, str]] = (),
) -> list[Incident]:
    """Fold new ``anomalies`` into the ``previous`` incidents and resolve the quiet ones.

    Idempotent: feeding the same anomalies twice changes nothing, so re-running a window is safe.
    """
    incidents = {incident.id: incident for incident in previous}
    subjects = {i.id: {subject_of(a.key) for a in i.anomalies} for i in previous}
    by_model: dict[tuple[str, str], list[Anomaly]] = defaultdict(list)
    for anomaly in sorted(anomalies, key=lambda a: (a.timestamp, str(a.key))):
        by_model[(anomaly.key.model, anomaly.key.version)].append(anomaly)
    for (model, version), model_anomalies in by_model.items():
        for anomaly in model_anomalies:
            target = _open_incident_for(incidents.values(), subjects, anomaly, settings.gap)
            if target is None:
                target = _new_incident(model, version, anomaly, (model, version) in downgraded)
            elif _contains(target, anomaly):
                continue
            else:
                target = _with_anomaly(target, anomaly)
            incidents[target.id] = target
            subjects.setdefault(target.id, set()).add(subject_of(anomaly.key))
    return sorted(
        (_maybe_resolve(incident, now, settings.resolve_after) for incident in incidents.values()),
        key=lambda incident: (incident.opened_at, incident.id),
    )


def fold_platform_incidents(
    incidents: Sequence[Incident], *, total_models: int, settings: GroupingSettings
) -> list[Incident]:
    """Replace model incidents of one kind that opened together across most models by one
    platform incident.

    The platform incident lists the folded incidents in ``members`` and carries their anomalies,
    so nothing is lost; the owners receive one message instead of hundreds. Only incidents of
    the same kind fold: traffic stopping everywhere at once is one problem upstream, while a
    latency regression, a missing feature and a drift that happen to coincide on a three-model
    platform are three.
    """
    active = sorted(
        (i for i in incidents if i.state is not IncidentState.RESOLVED and not i.is_platform),
        key=lambda i: i.opened_at,
    )
    needed = max(settings.platform_min_models, math.ceil(settings.platform_fraction * total_models))
    folded: set[str] = set()
    platform: list[Incident] = []
    for start_index, first in enumerate(active):
        if first.id in folded:
            continue
        cluster = [
            i
            for i in active[start_index:]
            if i.id not in folded
            and i.kind is first.kind
            and i.opened_at - first.opened_at <= settings.platform_window
        ]
        if len({i.model for i in cluster}) < needed:
            continue
        folded.update(i.id for i in cluster)
        platform.append(_platform_incident(cluster))
    return [i for i in incidents if i.id not in folded] + platform


def _platform_incident(cluster: Sequence[Incident]) -> Incident:
    opened = min(i.opened_at for i in cluster)
    anomalies = tuple(a for i in cluster for a in i.anomalies)
    models = sorted({i.model for i in cluster})
    shown = ", ".join(models[:3]) + (", …" if len(models) > 3 else "")
    return Incident(
        id=incident_id(PLATFORM, "", opened),
        model=PLATFORM,
        version="",
        state=IncidentState.OPEN,
        opened_at=opened,
        updated_at=max(i.updated_at for i in cluster),
        last_anomaly_at=max(i.last_anomaly_at for i in cluster),
        severity=max(i.severity for i in cluster),
        summary=f"platform incident: {cluster[0].kind.value} on {len(models)} models at once "
        f"since {opened:%Y-%m-%d %H:%M} ({shown})",
        anomalies=anomalies,
        members=tuple(i.id for i in cluster),
    )


def _open_incident_for(
    incidents: Collection[Incident],
    subjects: Mapping[str, set[str]],
    anomaly: Anomaly,
    gap: timedelta,
) -> Incident | None:
    """The live incident ``anomaly`` belongs to (see the module docstring), else ``None``."""
    subject = subject_of(anomaly.key)
    at = anomaly.timestamp
    for incident in incidents:
        if (
            incident.model != anomaly.key.model
            or incident.version != anomaly.key.version
            or incident.state is IncidentState.RESOLVED
            or at < incident.opened_at - gap
        ):
            continue
        held = subject in subjects.get(incident.id, ())
        if (held and at <= incident.last_anomaly_at + gap) or at <= incident.opened_at + gap:
            return incident
    return None


def _new_incident(model: str, version: str, anomaly: Anomaly, downgraded: bool) -> Incident:
    return Incident(
        id=incident_id(model, version, anomaly.timestamp),
        model=model,
        version=version,
        state=IncidentState.OPEN,
        opened_at=anomaly.timestamp,
        updated_at=anomaly.timestamp,
        last_anomaly_at=anomaly.timestamp,
        severity=anomaly_weight(anomaly),
        summary=summarize(model, version, [anomaly], anomaly.timestamp),
        anomalies=(anomaly,),
        downgraded=downgraded,
    )


def _with_anomaly(incident: Incident, anomaly: Anomaly) -> Incident:
    anomalies = (*incident.anomalies, anomaly)
    return replace(
        incident,
        state=IncidentState.OPEN,
        updated_at=max(incident.updated_at, anomaly.timestamp),
        last_anomaly_at=max(incident.last_anomaly_at, anomaly.timestamp),
        severity=max(incident.severity, anomaly_weight(anomaly)),
        summary=summarize(
            incident.model, incident.version, anomalies, incident.opened_at, incident.attribution
        ),
        anomalies=anomalies,
    )


def as_of(incident: Incident, moment: datetime, resolve_after: timedelta) -> Incident | None:
    """The incident as it stood before ``moment`` (``None`` if it did not exist yet).

    A cycle that re-runs windows a crashed or repeated cycle already processed starts from the
    incidents as they were before those windows, so it ends where a single run would: the
    anomalies from ``moment`` on are taken off again, and a resolution that only the quiet
    after them caused is undone. A dismissal (a person's verdict) stands.
    """
    kept = tuple(a for a in incident.anomalies if a.timestamp < moment)
    if incident.opened_at >= moment or not kept:
        return None
    if len(kept) == len(incident.anomalies) and (
        incident.resolved_at is None or incident.resolved_at < moment
    ):
        return incident
    last = max(a.timestamp for a in kept)
    quiet = (
        incident.state is IncidentState.RESOLVED
        and incident.resolved_at == incident.last_anomaly_at + resolve_after
    )
    state, resolved_at = incident.state, incident.resolved_at
    if state is IncidentState.RESOLVED and quiet:
        resolved_at = last + resolve_after
        if resolved_at >= moment:
            state, resolved_at = IncidentState.OPEN, None
    return replace(
        incident,
        state=state,
        resolved_at=resolved_at,
        updated_at=last,
        last_anomaly_at=last,
        severity=max(anomaly_weight(a) for a in kept),
        summary=summarize(
            incident.model, incident.version, kept, incident.opened_at, incident.attribution
        ),
        anomalies=kept,
    )


def with_attribution(incident: Incident, attribution: Sequence[Attribution]) -> Incident:
    """The incident naming where its excess lies, in its fields and its summary."""
    found = tuple(attribution)
    summary = summarize(
        incident.model, incident.version, incident.anomalies, incident.opened_at, found
    )
    return replace(incident, attribution=found, summary=summary)


def _maybe_resolve(incident: Incident, now: datetime, resolve_after: timedelta) -> Incident:
    quiet_since = incident.last_anomaly_at + resolve_after
    if incident.state is IncidentState.RESOLVED or now < quiet_since:
        return incident
    # Resolution time is derived from the data, not the wall clock, so a re-run agrees.
    return replace(incident, state=IncidentState.RESOLVED, resolved_at=quiet_since)


def _contains(incident: Incident, anomaly: Anomaly) -> bool:
    return any(
        a.key == anomaly.key and a.timestamp == anomaly.timestamp for a in incident.anomalies
    )
