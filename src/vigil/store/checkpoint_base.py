"""The checkpoint side of the ``Store`` protocol: named blobs a long-running process saves so a
restart resumes where it stopped.

The real-time monitors learn rates, histograms and thresholds over days; a server restart that
dropped them would leave the models unwatched (or watched by cold monitors) for that long. The
store is what survives a restart, so the state is saved there, as one opaque blob per name. The
store neither reads nor trusts the bytes; their owner signs and versions them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class CheckpointStore(Protocol):
    def put_checkpoint(self, name: str, blob: bytes, *, now: datetime) -> None:
        """Save ``blob`` as checkpoint ``name``, replacing the previous one."""
        ...

    def get_checkpoint(self, name: str) -> tuple[bytes, datetime] | None:
        """The latest checkpoint ``name`` and when it was saved, or ``None``."""
        ...
