"""The incident side of :class:`~vigil.store.MemoryStore`, kept as the same flat rows."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence
from vigil.store.incident_records import (
    anomaly_from_row,
    anomaly_row,
    feedback_from_row,
    feedback_row,
    incident_from_row,
    incident_row,
    silence_from_row,
    silence_row,
)
from vigil.store.records import to_us


class IncidentMemoryMixin:
    def _incident_tables(self) -> dict[str, dict[Any, dict[str, Any]]]:
        tables: dict[str, dict[Any, dict[str, Any]]] | None = getattr(self, "_incident_rows", None)
        if tables is None:
            tables = {
                name: {}
                for name in ("anomalies", "incidents", "notifications", "silences", "feedback")
            }
            self._incident_rows = tables
        return tables

    def replace_anomalies(
        self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime
    ) -> int:
        table = self._incident_tables()["anomalies"]
        low, high = to_us(start), to_us(end)
        for key in [k for k, row in table.items() if low <= row["timestamp_us"] < high]:
            del table[key]
        added = {_anomaly_key(row): row for row in map(anomaly_row, anomalies)}
        table.update(added)
        return len(added)

    def get_anomalies(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]:
        rows = [
            row
            for row in self._incident_tables()["anomalies"].values()
            if (model is None or row["model"] == model)
            and (since is None or row["timestamp_us"] >= to_us(since))
            and (until is None or row["timestamp_us"] < to_us(until))
        ]
        rows.sort(key=lambda row: (row["timestamp_us"], *_anomaly_key(row)))
        return [anomaly_from_row(row) for row in rows]

    def put_incidents(self, incidents: Iterable[Incident]) -> int:
        rows = {incident.id: incident_row(incident) for incident in incidents}
        self._incident_tables()["incidents"].update(rows)
        return len(rows)

    def get_incidents(
        self, *, model: str | None = None, states: Collection[IncidentState] | None = None
    ) -> list[Incident]:
        wanted = None if states is None else {s.value for s in states}
        rows = [
            row
            for row in self._incident_tables()["incidents"].values()
            if (model is None or row["model"] == model)
            and (wanted is None or row["state"] in wanted)
        ]
        rows.sort(key=lambda row: (row["opened_at_us"], row["id"]))
        return [incident_from_row(row) for row in rows]

    def get_incident(self, incident_id: str) -> Incident | None:
        row = self._incident_tables()["incidents"].get(incident_id)
        return None if row is None else incident_from_row(row)

    def put_notification(self, record: DeliveryRecord, *, at: datetime) -> None:
        self._incident_tables()["notifications"][record.key] = {
            "delivered": record.delivered,
            "attempts": record.attempts,
            "error": record.error,
            "at_us": to_us(at),
        }

    def delivered_notifications(self) -> set[NotificationKey]:
        return {
            key for key, row in self._incident_tables()["notifications"].items() if row["delivered"]
        }

    def put_silence(self, silence: Silence) -> None:
        self._incident_tables()["silences"][silence.id] = silence_row(silence)

    def get_silences(self) -> list[Silence]:
        rows = sorted(
            self._incident_tables()["silences"].values(),
            key=lambda row: (row["starts_us"], row["id"]),
        )
        return [silence_from_row(row) for row in rows]

    def delete_silence(self, silence_id: str) -> bool:
        return self._incident_tables()["silences"].pop(silence_id, None) is not None

    def put_feedback(self, feedback: Feedback) -> None:
        row = feedback_row(feedback)
        self._incident_tables()["feedback"][(row["incident_id"], row["at_us"])] = row

    def get_feedback(self, incident_id: str | None = None) -> list[Feedback]:
        rows = [
            row
            for row in self._incident_tables()["feedback"].values()
            if incident_id is None or row["incident_id"] == incident_id
        ]
        rows.sort(key=lambda row: (row["at_us"], row["incident_id"]))
        return [feedback_from_row(row) for row in rows]


def _anomaly_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        row[k]
        for k in (
            "model",
            "version",
            "family",
            "column_name",
            "statistic",
            "timestamp_us",
            "detector",
        )
    )
