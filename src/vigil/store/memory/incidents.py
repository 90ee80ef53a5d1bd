"""The incident side in memory, kept as the same flat rows the database holds."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence
from vigil.store.incident_records import (
    ANOMALY_KEY,
    anomaly_from_row,
    anomaly_row,
    feedback_from_row,
    feedback_row,
    incident_from_row,
    incident_row,
    silence_from_row,
    silence_row,
    stale_incidents,
    unchanged,
)
from vigil.store.records import to_us

Row = dict[str, Any]


class MemoryAnomalies:
    """The :class:`~vigil.store.AnomalyStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, ...], Row] = {}

    def replace(self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime) -> int:
        low, high = to_us(start), to_us(end)
        for key in [k for k, row in self._rows.items() if low <= row["timestamp_us"] < high]:
            del self._rows[key]
        added = {_anomaly_key(row): row for row in map(anomaly_row, anomalies)}
        self._rows.update(added)
        return len(added)

    def get(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]:
        low = None if since is None else to_us(since)
        high = None if until is None else to_us(until)
        rows = [
            row
            for row in self._rows.values()
            if (model is None or row["model"] == model)
            and (low is None or row["timestamp_us"] >= low)
            and (high is None or row["timestamp_us"] < high)
        ]
        rows.sort(key=lambda row: (row["timestamp_us"], *_anomaly_key(row)))
        return [anomaly_from_row(row) for row in rows]


class MemoryIncidents:
    """The :class:`~vigil.store.IncidentStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}

    def put(self, incidents: Iterable[Incident]) -> int:
        """Each incident only while its row is at the revision it was read at; all or none.
        An incident written as it is stored keeps its revision (nothing is written)."""
        chosen = {incident.id: incident for incident in incidents}
        stale = sorted(
            incident.id
            for incident in chosen.values()
            if incident.revision != self._rows.get(incident.id, {}).get("revision", 0)
        )
        if stale:
            raise stale_incidents(stale)
        rows = {key: incident_row(incident) for key, incident in chosen.items()}
        changed = {
            key: row
            for key, row in rows.items()
            if key not in self._rows or not unchanged(self._rows[key], row)
        }
        self._rows.update(changed)
        return len(changed)

    def get(
        self,
        *,
        model: str | None = None,
        states: Collection[IncidentState] | None = None,
        resolved_after: datetime | None = None,
    ) -> list[Incident]:
        wanted = None if states is None else {s.value for s in states}
        after = None if resolved_after is None else to_us(resolved_after)
        rows = [
            row
            for row in self._rows.values()
            if (model is None or row["model"] == model)
            and (wanted is None or row["state"] in wanted)
            and (after is None or (row["resolved_at_us"] or 0) > after)
        ]
        rows.sort(key=lambda row: (row["opened_at_us"], row["id"]))
        return [incident_from_row(row) for row in rows]

    def find(self, incident_id: str) -> Incident | None:
        row = self._rows.get(incident_id)
        return None if row is None else incident_from_row(row)


class MemoryNotifications:
    """The :class:`~vigil.store.NotificationStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[NotificationKey, Row] = {}

    def put(self, record: DeliveryRecord, *, at: datetime) -> None:
        self._rows[record.key] = {
            "delivered": record.delivered,
            "attempts": record.attempts,
            "error": record.error,
            "at_us": to_us(at),
        }

    def delivered(self) -> set[NotificationKey]:
        return {key for key, row in self._rows.items() if row["delivered"]}


class MemorySilences:
    """The :class:`~vigil.store.SilenceStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[str, Row] = {}

    def put(self, silence: Silence) -> None:
        self._rows[silence.id] = silence_row(silence)

    def get(self) -> list[Silence]:
        rows = sorted(self._rows.values(), key=lambda row: (row["starts_us"], row["id"]))
        return [silence_from_row(row) for row in rows]

    def delete(self, silence_id: str) -> bool:
        return self._rows.pop(silence_id, None) is not None


class MemoryFeedback:
    """The :class:`~vigil.store.FeedbackStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], Row] = {}

    def put(self, feedback: Feedback) -> None:
        row = feedback_row(feedback)
        self._rows[(row["incident_id"], row["at_us"])] = row

    def get(self, incident_id: str | None = None) -> list[Feedback]:
        rows = [
            row
            for row in self._rows.values()
            if incident_id is None or row["incident_id"] == incident_id
        ]
        rows.sort(key=lambda row: (row["at_us"], row["incident_id"]))
        return [feedback_from_row(row) for row in rows]


def _anomaly_key(row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in ANOMALY_KEY)
