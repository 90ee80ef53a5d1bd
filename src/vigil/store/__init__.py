"""Persistence: profiles, quarantined rows, health series, runs, incidents and their companions.

Only the pipeline (and the layers above it) talk to the store; stages never import it. A store
is composed of one small part per stored aggregate (``store.profiles``, ``store.series``,
``store.incidents``, ``store.leases``, ...), each described by a protocol in
:mod:`vigil.store.protocols`. Open one with :class:`SqlStore` (``sqlite:///vigil.db`` by
default, PostgreSQL by URL) or use :class:`MemoryStore` in tests; both satisfy :class:`Store`.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.store.memory import MemoryStore
    from vigil.store.protocols import (
        AnomalyStore,
        CheckpointStore,
        FeedbackStore,
        IncidentStore,
        LeaseStore,
        NotificationStore,
        ProfileStore,
        QuarantineStore,
        RunStore,
        SeriesStore,
        SilenceStore,
        Store,
    )
    from vigil.store.sql import SqlStore
    from vigil.store.sql.schema import head_revision
    from vigil.store.values import QuarantineCount, Run, RunStatus, StoredProfile

__all__ = [
    "AnomalyStore",
    "CheckpointStore",
    "FeedbackStore",
    "IncidentStore",
    "LeaseStore",
    "MemoryStore",
    "NotificationStore",
    "ProfileStore",
    "QuarantineCount",
    "QuarantineStore",
    "Run",
    "RunStatus",
    "RunStore",
    "SeriesStore",
    "SilenceStore",
    "SqlStore",
    "Store",
    "StoredProfile",
    "head_revision",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.store.memory": ("MemoryStore",),
        "vigil.store.protocols": (
            "AnomalyStore",
            "CheckpointStore",
            "FeedbackStore",
            "IncidentStore",
            "LeaseStore",
            "NotificationStore",
            "ProfileStore",
            "QuarantineStore",
            "RunStore",
            "SeriesStore",
            "SilenceStore",
            "Store",
        ),
        "vigil.store.sql": ("SqlStore",),
        "vigil.store.sql.schema": ("head_revision",),
        "vigil.store.values": ("QuarantineCount", "Run", "RunStatus", "StoredProfile"),
    },
)
