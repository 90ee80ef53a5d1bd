"""The incident side of :class:`~vigil.store.SqlStore`, as a mixin over its engine helpers."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence
from vigil.store import incident_tables as t
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

_ANOMALY_KEY = (
    "model",
    "version",
    "family",
    "column_name",
    "statistic",
    "timestamp_us",
    "detector",
)


class IncidentSqlMixin:
    """Needs ``_transaction()`` and ``_upsert()`` from :class:`SqlStore`."""

    def _transaction(self) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def _upsert(
        self,
        connection: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: Sequence[str],
    ) -> None:
        raise NotImplementedError

    def replace_anomalies(
        self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime
    ) -> int:
        rows = {tuple(row[k] for k in _ANOMALY_KEY): row for row in map(anomaly_row, anomalies)}
        table = t.anomalies
        with self._transaction() as connection:
            connection.execute(
                sa.delete(table).where(
                    table.c.timestamp_us >= to_us(start), table.c.timestamp_us < to_us(end)
                )
            )
            self._upsert(connection, table, list(rows.values()), _ANOMALY_KEY)
        return len(rows)

    def get_anomalies(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]:
        table = t.anomalies
        query = sa.select(table).order_by(table.c.timestamp_us, *(table.c[k] for k in _ANOMALY_KEY))
        if model is not None:
            query = query.where(table.c.model == model)
        if since is not None:
            query = query.where(table.c.timestamp_us >= to_us(since))
        if until is not None:
            query = query.where(table.c.timestamp_us < to_us(until))
        return [anomaly_from_row(row) for row in self._rows(query)]

    def put_incidents(self, incidents: Iterable[Incident]) -> int:
        rows = {incident.id: incident_row(incident) for incident in incidents}
        with self._transaction() as connection:
            self._upsert(connection, t.incidents, list(rows.values()), ("id",))
        return len(rows)

    def get_incidents(
        self, *, model: str | None = None, states: Collection[IncidentState] | None = None
    ) -> list[Incident]:
        table = t.incidents
        query = sa.select(table).order_by(table.c.opened_at_us, table.c.id)
        if model is not None:
            query = query.where(table.c.model == model)
        if states is not None:
            query = query.where(table.c.state.in_([s.value for s in states]))
        return [incident_from_row(row) for row in self._rows(query)]

    def get_incident(self, incident_id: str) -> Incident | None:
        rows = self._rows(sa.select(t.incidents).where(t.incidents.c.id == incident_id))
        return incident_from_row(rows[0]) if rows else None

    def put_notification(self, record: DeliveryRecord, *, at: datetime) -> None:
        row = {
            "incident_id": record.key.incident_id,
            "state": record.key.state,
            "channel": record.key.channel,
            "delivered": record.delivered,
            "attempts": record.attempts,
            "error": record.error,
            "at_us": to_us(at),
        }
        with self._transaction() as connection:
            self._upsert(connection, t.notifications, [row], ("incident_id", "state", "channel"))

    def delivered_notifications(self) -> set[NotificationKey]:
        table = t.notifications
        query = sa.select(table).where(table.c.delivered.is_(True))
        return {
            NotificationKey(
                incident_id=row["incident_id"], state=row["state"], channel=row["channel"]
            )
            for row in self._rows(query)
        }

    def put_silence(self, silence: Silence) -> None:
        with self._transaction() as connection:
            self._upsert(connection, t.silences, [silence_row(silence)], ("id",))

    def get_silences(self) -> list[Silence]:
        query = sa.select(t.silences).order_by(t.silences.c.starts_us, t.silences.c.id)
        return [silence_from_row(row) for row in self._rows(query)]

    def delete_silence(self, silence_id: str) -> bool:
        with self._transaction() as connection:
            result = connection.execute(sa.delete(t.silences).where(t.silences.c.id == silence_id))
        return bool(result.rowcount)

    def put_feedback(self, feedback: Feedback) -> None:
        with self._transaction() as connection:
            self._upsert(connection, t.feedback, [feedback_row(feedback)], ("incident_id", "at_us"))

    def get_feedback(self, incident_id: str | None = None) -> list[Feedback]:
        table = t.feedback
        query = sa.select(table).order_by(table.c.at_us, table.c.incident_id)
        if incident_id is not None:
            query = query.where(table.c.incident_id == incident_id)
        return [feedback_from_row(row) for row in self._rows(query)]

    def _rows(self, query: sa.Select[Any]) -> list[Mapping[str, Any]]:
        with self._transaction() as connection:
            return [dict(row) for row in connection.execute(query).mappings().all()]
