"""The incident side in SQL: anomalies, incidents, notifications, silences and feedback, each
its own small part over one :class:`Database`."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

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
from vigil.store.sql import tables as t
from vigil.store.sql.database import Database

if TYPE_CHECKING:
    from vigil.alert import DeliveryRecord, NotificationKey


class SqlAnomalies:
    """The :class:`~vigil.store.AnomalyStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def replace(self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime) -> int:
        rows = {tuple(row[k] for k in ANOMALY_KEY): row for row in map(anomaly_row, anomalies)}
        table = t.anomalies
        with self._database.transaction() as connection:
            connection.execute(
                sa.delete(table).where(
                    table.c.timestamp_us >= to_us(start), table.c.timestamp_us < to_us(end)
                )
            )
            self._database.upsert(connection, table, list(rows.values()), ANOMALY_KEY)
        return len(rows)

    def get(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]:
        table = t.anomalies
        query = sa.select(table).order_by(table.c.timestamp_us, *(table.c[k] for k in ANOMALY_KEY))
        if model is not None:
            query = query.where(table.c.model == model)
        if since is not None:
            query = query.where(table.c.timestamp_us >= to_us(since))
        if until is not None:
            query = query.where(table.c.timestamp_us < to_us(until))
        return [anomaly_from_row(row) for row in self._database.rows(query)]


class SqlIncidents:
    """The :class:`~vigil.store.IncidentStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, incidents: Iterable[Incident]) -> int:
        """Each incident only while its row is at the revision it was read at; all or none.
        An incident written as it is stored keeps its revision (nothing is written).

        Compare-and-set in the database itself: an ``UPDATE ... WHERE revision = read`` (or an
        insert that finds no row, for revision 0) is atomic on SQLite and PostgreSQL alike, so
        two writers that read the same revision cannot both succeed."""
        chosen = {incident.id: incident for incident in incidents}
        table = t.incidents
        stale: list[str] = []
        written = 0
        with self._database.transaction() as connection:
            stored = self._rows(connection, [i.id for i in chosen.values() if i.revision > 0])
            for incident in chosen.values():
                row = incident_row(incident)
                held = stored.get(incident.id)
                if (
                    held is not None
                    and held["revision"] == incident.revision
                    and unchanged(held, row)
                ):
                    continue
                if incident.revision == 0:
                    # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... ON CONFLICT.
                    insert = self._database.insert(connection, table).values(row)
                    returned = insert.on_conflict_do_nothing().returning(table.c.id)
                    done = connection.execute(returned).first() is not None
                else:
                    changed = {k: v for k, v in row.items() if k != "id"}
                    result = connection.execute(
                        sa.update(table)
                        .where(table.c.id == incident.id, table.c.revision == incident.revision)
                        .values(changed)
                    )
                    done = result.rowcount == 1
                if not done:
                    stale.append(incident.id)
                written += done
            if stale:  # raised inside the transaction: everything written is rolled back
                raise stale_incidents(stale)
        return written

    @staticmethod
    def _rows(connection: sa.Connection, ids: list[str]) -> dict[str, Mapping[str, Any]]:
        """The stored rows of ``ids``, a few hundred at a time (SQLite's bound-parameter cap)."""
        table = t.incidents
        found: dict[str, Mapping[str, Any]] = {}
        for first in range(0, len(ids), 500):
            query = sa.select(table).where(table.c.id.in_(ids[first : first + 500]))
            for row in connection.execute(query).mappings():
                found[row["id"]] = {str(name): value for name, value in row.items()}
        return found

    def get(
        self,
        *,
        model: str | None = None,
        states: Collection[IncidentState] | None = None,
        resolved_after: datetime | None = None,
    ) -> list[Incident]:
        table = t.incidents
        query = sa.select(table).order_by(table.c.opened_at_us, table.c.id)
        if model is not None:
            query = query.where(table.c.model == model)
        if states is not None:
            query = query.where(table.c.state.in_([s.value for s in states]))
        if resolved_after is not None:
            query = query.where(table.c.resolved_at_us > to_us(resolved_after))
        return [incident_from_row(row) for row in self._database.rows(query)]

    def find(self, incident_id: str) -> Incident | None:
        rows = self._database.rows(sa.select(t.incidents).where(t.incidents.c.id == incident_id))
        return incident_from_row(rows[0]) if rows else None


class SqlNotifications:
    """The :class:`~vigil.store.NotificationStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, record: DeliveryRecord, *, at: datetime) -> None:
        row = {
            "incident_id": record.key.incident_id,
            "state": record.key.state,
            "channel": record.key.channel,
            "delivered": record.delivered,
            "attempts": record.attempts,
            "error": record.error,
            "at_us": to_us(at),
        }
        keys = ("incident_id", "state", "channel")
        with self._database.transaction() as connection:
            self._database.upsert(connection, t.notifications, [row], keys)

    def delivered(self) -> set[NotificationKey]:
        from vigil.alert import NotificationKey  # the channels load only when deliveries are read

        table = t.notifications
        query = sa.select(table).where(table.c.delivered.is_(True))
        return {
            NotificationKey(
                incident_id=row["incident_id"], state=row["state"], channel=row["channel"]
            )
            for row in self._database.rows(query)
        }


class SqlSilences:
    """The :class:`~vigil.store.SilenceStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, silence: Silence) -> None:
        with self._database.transaction() as connection:
            self._database.upsert(connection, t.silences, [silence_row(silence)], ("id",))

    def get(self) -> list[Silence]:
        query = sa.select(t.silences).order_by(t.silences.c.starts_us, t.silences.c.id)
        return [silence_from_row(row) for row in self._database.rows(query)]

    def delete(self, silence_id: str) -> bool:
        with self._database.transaction() as connection:
            result = connection.execute(sa.delete(t.silences).where(t.silences.c.id == silence_id))
        return bool(result.rowcount)


class SqlFeedback:
    """The :class:`~vigil.store.FeedbackStore` of a SQL database."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def put(self, feedback: Feedback) -> None:
        keys = ("incident_id", "at_us")
        with self._database.transaction() as connection:
            self._database.upsert(connection, t.feedback, [feedback_row(feedback)], keys)

    def get(self, incident_id: str | None = None) -> list[Feedback]:
        table = t.feedback
        query = sa.select(table).order_by(table.c.at_us, table.c.incident_id)
        if incident_id is not None:
            query = query.where(table.c.incident_id == incident_id)
        return [feedback_from_row(row) for row in self._database.rows(query)]
