"""What the server needs from a store: :class:`vigil.store.Store` plus incidents and feedback.

Written as a Protocol so the server states its needs in one place; ``SqlStore`` and
``MemoryStore`` satisfy it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Protocol

from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Silence
from vigil.ingest import QuarantinedRow
from vigil.stats import Series
from vigil.store import QuarantineCount


class ServerStore(Protocol):
    def list_models(self) -> list[str]: ...

    def put_quarantined(self, rows: Iterable[QuarantinedRow], *, now: datetime) -> int: ...

    def get_series(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]: ...

    def quarantine_counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]: ...

    def get_anomalies(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[Anomaly]: ...

    def get_incidents(
        self, *, model: str | None = None, states: Collection[IncidentState] | None = None
    ) -> list[Incident]: ...

    def get_incident(self, incident_id: str) -> Incident | None: ...

    def put_incidents(self, incidents: Iterable[Incident]) -> int: ...

    def put_feedback(self, feedback: Feedback) -> None: ...

    def get_feedback(self, incident_id: str | None = None) -> list[Feedback]: ...

    def put_silence(self, silence: Silence) -> None: ...

    def get_silences(self) -> list[Silence]: ...

    def delete_silence(self, silence_id: str) -> bool: ...

    def close(self) -> None: ...
