"""Grouping anomalies into incidents, and incidents through their lifecycle.

Anomalies of one model and version that lie within ``gap`` of each other form one incident:
forty series moving together after a schema migration are one problem, not forty. An incident
stays open while anomalies keep arriving, is *updated* when new ones join, and resolves once
``resolve_after`` passes without any. When most models of the platform open incidents at once,
they are folded into a single platform incident.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from vigil.core import ConfigError
from vigil.detect import Anomaly
from vigil.incidents.incident import (
    PLATFORM,
    Incident,
    IncidentState,
    anomaly_weight,
    incident_id,
)
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
    by_model: dict[tuple[str, str], list[Anomaly]] = defaultdict(list)
    for anomaly in sorted(anomalies, key=lambda a: (a.timestamp, str(a.key))):
        by_model[(anomaly.key.model, anomaly.key.version)].append(anomaly)
    for (model, version), model_anomalies in by_model.items():
        for anomaly in model_anomalies:
            target = _open_incident_for(incidents.values(), model, version, anomaly, settings.gap)
            if target is None:
                target = _new_incident(model, version, anomaly, (model, version) in downgraded)
            elif _contains(target, anomaly):
                continue
            else:
                target = _with_anomaly(target, anomaly)
            incidents[target.id] = target
    return sorted(
        (_maybe_resolve(incident, now, settings.resolve_after) for incident in incidents.values()),
        key=lambda incident: (incident.opened_at, incident.id),
    )


def fold_platform_incidents(
    incidents: Sequence[Incident], *, total_models: int, settings: GroupingSettings
) -> list[Incident]:
    """Replace model incidents that opened together across most models by one platform incident.

    The platform incident lists the folded incidents in ``members`` and carries their anomalies,
    so nothing is lost; the owners receive one message instead of hundreds.
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
            if i.id not in folded and i.opened_at - first.opened_at <= settings.platform_window
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
        summary=f"platform incident: {len(models)} models anomalous at once since "
        f"{opened:%Y-%m-%d %H:%M} ({shown})",
        anomalies=anomalies,
        members=tuple(i.id for i in cluster),
    )


def _open_incident_for(
    incidents: Collection[Incident], model: str, version: str, anomaly: Anomaly, gap: timedelta
) -> Incident | None:
    for incident in incidents:
        if (
            incident.model == model
            and incident.version == version
            and incident.state is not IncidentState.RESOLVED
            and incident.opened_at - gap <= anomaly.timestamp <= incident.last_anomaly_at + gap
        ):
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
        state=IncidentState.UPDATED,
        updated_at=max(incident.updated_at, anomaly.timestamp),
        last_anomaly_at=max(incident.last_anomaly_at, anomaly.timestamp),
        severity=max(incident.severity, anomaly_weight(anomaly)),
        summary=summarize(incident.model, incident.version, anomalies, incident.opened_at),
        anomalies=anomalies,
    )


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
