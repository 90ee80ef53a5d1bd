"""Checkpoints in memory: ``name -> (blob, saved_at)``."""

from __future__ import annotations

from datetime import datetime


class MemoryCheckpoints:
    """The :class:`~vigil.store.CheckpointStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, datetime]] = {}

    def put(self, name: str, blob: bytes, *, now: datetime) -> None:
        self._blobs[name] = (bytes(blob), now)

    def get(self, name: str) -> tuple[bytes, datetime] | None:
        return self._blobs.get(name)
