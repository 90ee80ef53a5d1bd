"""The incident side of the ``Store`` protocol: anomalies, incidents, notifications, silences,
feedback. Same rules as the rest of the store: bulk idempotent upserts keyed by what a value is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Protocol

from vigil.alert import DeliveryRecord, NotificationKey
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence


class IncidentStore(Protocol):
    def replace_anomalies(
        self, anomalies: Iterable[Anomaly], *, start: datetime, end: datetime
    ) -> int:
        """Make ``anomalies`` the stored anomalies of ``[start, end)``: earlier ones of that
        period are removed first, so re-running a window replaces its anomalies."""
        ...

    def get_anomalies(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Anomaly]: ...

    def put_incidents(self, incidents: Iterable[Incident]) -> int:
        """Upsert incidents by id (an incident's new state replaces its old one)."""
        ...

    def get_incidents(
        self, *, model: str | None = None, states: Collection[IncidentState] | None = None
    ) -> list[Incident]:
        """Incidents ordered by opening time, then id."""
        ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def put_notification(self, record: DeliveryRecord, *, at: datetime) -> None: ...

    def delivered_notifications(self) -> set[NotificationKey]: ...

    def put_silence(self, silence: Silence) -> None: ...

    def get_silences(self) -> list[Silence]: ...

    def delete_silence(self, silence_id: str) -> bool: ...

    def put_feedback(self, feedback: Feedback) -> None: ...

    def get_feedback(self, incident_id: str | None = None) -> list[Feedback]: ...
