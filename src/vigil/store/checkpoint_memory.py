"""The checkpoint side of :class:`~vigil.store.MemoryStore`."""

from __future__ import annotations

from datetime import datetime


class CheckpointMemoryMixin:
    """Checkpoints as ``name -> (blob, saved_at)``, created on first use."""

    def _checkpoints(self) -> dict[str, tuple[bytes, datetime]]:
        table: dict[str, tuple[bytes, datetime]] = vars(self).setdefault("_checkpoint_blobs", {})
        return table

    def put_checkpoint(self, name: str, blob: bytes, *, now: datetime) -> None:
        self._checkpoints()[name] = (bytes(blob), now)

    def get_checkpoint(self, name: str) -> tuple[bytes, datetime] | None:
        return self._checkpoints().get(name)
