"""The lease side of :class:`~vigil.store.MemoryStore` (one process, so a dict is atomic enough)."""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.core import ConfigError


class LeaseMemoryMixin:
    """Leases as ``name -> (holder, expires_at)``, created on first use so the host class's
    ``__init__`` needs no change."""

    def _lease_table(self) -> dict[str, tuple[str, datetime]]:
        table: dict[str, tuple[str, datetime]] = vars(self).setdefault("_leases", {})
        return table

    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        if ttl <= timedelta(0):
            raise ConfigError(f"lease ttl must be positive, got {ttl}")
        leases = self._lease_table()
        current = leases.get(name)
        if current is not None and current[0] != holder and current[1] > now:
            return False
        leases[name] = (holder, now + ttl)
        return True

    def lease_expiry(self, name: str) -> datetime | None:
        current = self._lease_table().get(name)
        return None if current is None else current[1]

    def release_lease(self, name: str, holder: str) -> bool:
        leases = self._lease_table()
        current = leases.get(name)
        if current is None or current[0] != holder:
            return False
        del leases[name]
        return True
