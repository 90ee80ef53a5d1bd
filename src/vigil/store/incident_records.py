"""Conversions between incident-side values and flat rows, shared by both stores.

Anomalies inside an incident are kept as JSON text in the incident's row: an incident is read
and written whole, and its anomalies are never queried on their own there (the ``anomalies``
table is the queryable log of every anomaly the detectors raised).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from vigil.core import ConflictError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import Attribution, Feedback, Incident, IncidentState, Silence, Verdict
from vigil.store.records import from_us, to_us

_NUMBERS = ("value", "expected", "lower", "upper", "score", "severity")

ANOMALY_KEY = (
    "model",
    "version",
    "family",
    "column_name",
    "statistic",
    "timestamp_us",
    "detector",
)
"""The columns that say which anomaly a row is: a re-run's anomaly replaces the same one."""


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def anomaly_row(anomaly: Anomaly) -> dict[str, Any]:
    key = anomaly.key
    row: dict[str, Any] = {
        "model": key.model,
        "version": key.version,
        "family": key.family,
        "column_name": key.column,
        "statistic": key.statistic,
        "timestamp_us": to_us(anomaly.timestamp),
        "detector": anomaly.detector,
    }
    row.update({name: _number(getattr(anomaly, name)) for name in _NUMBERS})
    return row


def _with_note(row: dict[str, Any], note: str) -> dict[str, Any]:
    """An incident's anomalies keep their evidence in words; the anomaly log does not."""
    return {**row, "note": note} if note else row


def anomaly_from_row(row: Mapping[str, Any]) -> Anomaly:
    return Anomaly(
        key=SeriesKey(
            model=row["model"],
            version=row["version"],
            family=row["family"],
            column=row["column_name"],
            statistic=row["statistic"],
        ),
        timestamp=from_us(row["timestamp_us"]),
        detector=row["detector"],
        note=row.get("note", ""),
        **{name: _float(row[name]) for name in _NUMBERS},
    )


def incident_row(incident: Incident) -> dict[str, Any]:
    """The row as written: one revision past the one ``incident`` was read at."""
    return {
        "id": incident.id,
        "revision": incident.revision + 1,
        "model": incident.model,
        "version": incident.version,
        "state": incident.state.value,
        "opened_at_us": to_us(incident.opened_at),
        "updated_at_us": to_us(incident.updated_at),
        "last_anomaly_at_us": to_us(incident.last_anomaly_at),
        "resolved_at_us": None if incident.resolved_at is None else to_us(incident.resolved_at),
        "severity": incident.severity,
        "summary": incident.summary,
        "downgraded": incident.downgraded,
        "members": json.dumps(list(incident.members)),
        "anomalies": json.dumps([_with_note(anomaly_row(a), a.note) for a in incident.anomalies]),
        "attribution": json.dumps([_attribution_row(a) for a in incident.attribution]),
    }


def _attribution_row(attribution: Attribution) -> dict[str, Any]:
    return {
        "dimension": attribution.dimension,
        "value": attribution.value,
        **{name: _number(getattr(attribution, name)) for name in _ATTRIBUTION_NUMBERS},
    }


def _attribution_from_row(row: Mapping[str, Any]) -> Attribution:
    return Attribution(
        dimension=row["dimension"],
        value=row["value"],
        **{name: _float(row[name]) for name in _ATTRIBUTION_NUMBERS},
    )


_ATTRIBUTION_NUMBERS = ("share", "rate", "others", "root_llr")


def incident_from_row(row: Mapping[str, Any]) -> Incident:
    resolved = row["resolved_at_us"]
    return Incident(
        id=row["id"],
        model=row["model"],
        version=row["version"],
        state=IncidentState(row["state"]),
        opened_at=from_us(row["opened_at_us"]),
        updated_at=from_us(row["updated_at_us"]),
        last_anomaly_at=from_us(row["last_anomaly_at_us"]),
        resolved_at=None if resolved is None else from_us(resolved),
        severity=float(row["severity"]),
        summary=row["summary"],
        downgraded=bool(row["downgraded"]),
        members=tuple(json.loads(row["members"])),
        anomalies=tuple(anomaly_from_row(a) for a in json.loads(row["anomalies"])),
        attribution=tuple(
            _attribution_from_row(a) for a in json.loads(row.get("attribution") or "[]")
        ),
        revision=int(row["revision"]),
    )


def unchanged(stored: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """True when writing ``row`` over ``stored`` would change nothing but the revision.

    Such a write is skipped and the row keeps its revision: a cycle that re-runs windows it
    already decided (after a crash, or a repeated run) must leave the store as one run does,
    and a reader holding that revision must not be refused for a change that never happened.
    Rows are compared, not values: an anomaly's NaN score is never equal to itself as a float,
    but both sides are the same JSON text.
    """
    return all(stored[name] == value for name, value in row.items() if name != "revision")


def stale_incidents(ids: Iterable[str]) -> ConflictError:
    """The error of a write refused because these incidents changed since they were read."""
    found = tuple(sorted(ids))
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return ConflictError(
        f"incidents {shown} changed since they were read (another writer: a verdict on the "
        "server, or another cycle); nothing was written: read them again and apply the change",
        found,
    )


def silence_row(silence: Silence) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": json.dumps(dict(sorted(silence.matchers.items()))),
        "starts_us": to_us(silence.starts),
        "expires_us": to_us(silence.expires),
        "reason": silence.reason,
        "created_by": silence.created_by,
    }


def silence_from_row(row: Mapping[str, Any]) -> Silence:
    return Silence(
        id=row["id"],
        matchers=json.loads(row["matchers"]),
        starts=from_us(row["starts_us"]),
        expires=from_us(row["expires_us"]),
        reason=row["reason"],
        created_by=row["created_by"],
    )


def feedback_row(feedback: Feedback) -> dict[str, Any]:
    return {
        "incident_id": feedback.incident_id,
        "at_us": to_us(feedback.at),
        "verdict": feedback.verdict.value,
        "by": feedback.by,
        "note": feedback.note,
    }


def feedback_from_row(row: Mapping[str, Any]) -> Feedback:
    return Feedback(
        incident_id=row["incident_id"],
        at=from_us(row["at_us"]),
        verdict=Verdict(row["verdict"]),
        by=row["by"],
        note=row["note"],
    )
