"""A false alarm, once an owner says so, stops paging: its incident closes and its series go
quiet for a while.

Recording the verdict alone (as labels for the deep detector) left the incident open, so the next
cycle kept updating it and every route kept hearing about it. A dismissal resolves the incident
at the moment of the verdict and adds one silence per implicated series (exact matches, the
incident's own period included, so a re-run of those windows does not page again), for
``silence_for`` after the verdict. The silences are ordinary ones: listed, expiring, deletable.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

from vigil.core import ConfigError, SeriesKey
from vigil.incidents.incident import Feedback, Incident, IncidentState, Verdict
from vigil.incidents.silences import MATCHABLE_FIELDS, Silence

DEFAULT_SILENCE = timedelta(hours=24)
MAX_SILENCED_SERIES = 20
"""An incident of more series than this is muted on its 20 most severe; a verdict should not
write hundreds of silences (the rest stay visible, and a pattern silence can cover them)."""


def dismiss(
    incident: Incident,
    feedback: Feedback,
    *,
    silence_for: timedelta = DEFAULT_SILENCE,
    max_series: int = MAX_SILENCED_SERIES,
) -> tuple[Incident, list[Silence]]:
    """The incident resolved at the verdict, and the silences that keep its series quiet."""
    if feedback.verdict is not Verdict.FALSE_ALARM:
        raise ConfigError(f"only a false alarm dismisses an incident, got {feedback.verdict}")
    if feedback.incident_id != incident.id:
        raise ConfigError(f"feedback is for {feedback.incident_id!r}, not {incident.id!r}")
    if silence_for <= timedelta(0) or max_series < 0:
        raise ConfigError(f"bad silence_for {silence_for} or max_series {max_series}")
    resolved = incident
    if incident.state is not IncidentState.RESOLVED:
        resolved = replace(
            incident,
            state=IncidentState.RESOLVED,
            resolved_at=feedback.at,
            updated_at=max(incident.updated_at, feedback.at),
        )
    who = f" by {feedback.by}" if feedback.by else ""
    note = f": {feedback.note}" if feedback.note else ""
    silences = [
        Silence(
            id=_silence_id(incident.id, key),
            matchers={name: _literal(str(getattr(key, name))) for name in MATCHABLE_FIELDS},
            starts=min(incident.opened_at, feedback.at),
            expires=feedback.at + silence_for,
            reason=f"false alarm on incident {incident.id}{who}{note}"[:500],
            created_by=feedback.by,
        )
        for key in incident.series[:max_series]
    ]
    return resolved, silences


def _literal(text: str) -> str:
    """``text`` as a shell pattern that matches only itself (names may hold ``*``, ``?``, ``[``)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _silence_id(incident: str, key: SeriesKey) -> str:
    digest = hashlib.sha256(f"{incident}\0{key}".encode()).hexdigest()[:10]
    return f"fa-{digest}"
