"""Traffic lights per family: red for an open incident there, amber for a resolved one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vigil.incidents import Incident, IncidentState
from vigil.report.content import Light


def family_lights(families: Iterable[str], incidents: Sequence[Incident]) -> dict[str, Light]:
    """One light per family: red when an unresolved incident has an anomaly in that family,
    amber when only resolved ones do, green otherwise."""
    lights: dict[str, Light] = {}
    for family in families:
        states = {
            incident.state
            for incident in incidents
            if any(anomaly.key.family == family for anomaly in incident.anomalies)
        }
        if states - {IncidentState.RESOLVED}:
            lights[family] = Light.RED
        elif states:
            lights[family] = Light.AMBER
        else:
            lights[family] = Light.GREEN
    return lights
