"""Leases in memory (one process, so a dict is atomic enough)."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.core import ConfigError


class MemoryLeases:
    """The :class:`~vigil.store.LeaseStore` of a :class:`~vigil.store.MemoryStore`: leases as
    ``name -> (holder, expires_at)``."""

    def __init__(self) -> None:
        self._leases: dict[str, tuple[str, datetime]] = {}

    def acquire(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        if ttl <= timedelta(0):
            raise ConfigError(f"lease ttl must be positive, got {ttl}")
        current = self._leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        self._leases[name] = (holder, now + ttl)
        return True

    def expiry(self, name: str) -> datetime | None:
        current = self._leases.get(name)
        return None if current is None else current[1]

    def release(self, name: str, holder: str) -> bool:
        current = self._leases.get(name)
        if current is None or current[0] != holder:
            return False
        del self._leases[name]
        return True
