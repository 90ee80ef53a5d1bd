"""``MemoryStore``: the in-memory fake of :class:`~vigil.store.Store`, for tests and notebooks.

Its parts keep the same flat records as the SQL store's (encoded profile bytes, microsecond
times, NaN as "no value") through :mod:`vigil.store.records`, so it passes the same conformance
suite and a test that runs on it means the same thing on a database.
"""

from __future__ import annotations

from vigil.store.memory.checkpoints import MemoryCheckpoints
from vigil.store.memory.incidents import (
    MemoryAnomalies,
    MemoryFeedback,
    MemoryIncidents,
    MemoryNotifications,
    MemorySilences,
)
from vigil.store.memory.leases import MemoryLeases
from vigil.store.memory.profiles import MemoryProfiles
from vigil.store.memory.quarantine import MemoryQuarantine
from vigil.store.memory.runs import MemoryRuns
from vigil.store.memory.series import MemorySeries


class MemoryStore:
    """A :class:`~vigil.store.Store` held in dictionaries; gone when the object is.

    No other process can see it (``url`` is ``None``), so the pipeline works on it in this
    process only (``workers`` is 1).
    """

    def __init__(self) -> None:
        self.profiles = MemoryProfiles()
        self.quarantine = MemoryQuarantine()
        self.series = MemorySeries()
        self.runs = MemoryRuns()
        self.anomalies = MemoryAnomalies()
        self.incidents = MemoryIncidents()
        self.notifications = MemoryNotifications()
        self.silences = MemorySilences()
        self.feedback = MemoryFeedback()
        self.leases = MemoryLeases()
        self.checkpoints = MemoryCheckpoints()

    @property
    def url(self) -> None:
        return None

    @property
    def workers(self) -> int:
        return 1

    def close(self) -> None:
        """Nothing to release."""
