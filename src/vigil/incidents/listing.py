"""An incident as plain JSON values: what ``vigil incidents --json`` prints and the API serves.

One form, written once, so a script that reads the CLI reads the API the same way. ``kind`` is
one of :class:`~vigil.incidents.IncidentKind`; ``features`` are the features implicated, most
severe first; ``attribution`` names the hosts or tag values that carry a latency or traffic
incident's excess, with their share of it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from vigil.incidents.incident import Incident


def incident_record(incident: Incident) -> dict[str, Any]:
    """``id, model, version, state, kind, opened_at, resolved_at, summary, series, features,
    attribution`` of ``incident`` (times in ISO 8601, UTC)."""
    return {
        "id": incident.id,
        "model": incident.model,
        "version": incident.version,
        "state": incident.state.value,
        "kind": incident.kind.value,
        "opened_at": _time(incident.opened_at),
        "resolved_at": _time(incident.resolved_at),
        "summary": incident.summary,
        "series": [str(key) for key in incident.series],
        "features": list(incident.features),
        "attribution": [
            {
                "dimension": one.dimension,
                "value": one.value,
                "share": one.share,
                "root_llr": one.root_llr if math.isfinite(one.root_llr) else None,
            }
            for one in incident.attribution
        ],
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
