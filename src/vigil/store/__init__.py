"""Persistence: profiles, quarantined rows, health series and run records.

Only the pipeline (and the layers above it) talk to the store; stages never import it. Open a
store with :class:`SqlStore` (``sqlite:///vigil.db`` by default, PostgreSQL by URL) or use
:class:`MemoryStore` in tests. Both satisfy the :class:`Store` protocol.
"""

from vigil.store.base import QuarantineCount, Run, RunStatus, Store, StoredProfile
from vigil.store.checkpoint_base import CheckpointStore
from vigil.store.memory import MemoryStore
from vigil.store.schema import head_revision
from vigil.store.sql import SqlStore

__all__ = [
    "CheckpointStore",
    "MemoryStore",
    "QuarantineCount",
    "Run",
    "RunStatus",
    "SqlStore",
    "Store",
    "StoredProfile",
    "head_revision",
]
