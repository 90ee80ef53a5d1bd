"""The lease side of the ``Store`` protocol: a named, expiring lock held in the store itself.

Two ``vigil run`` processes on one store must not process the same windows (they would send
notifications twice and race on incidents). The store is the only thing both see, so the lock
lives there; it expires so that a holder killed mid-cycle cannot block the next run forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class LeaseStore(Protocol):
    def acquire_lease(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take (or renew) lease ``name`` for ``holder`` until ``now + ttl``; atomic. Refused
        (``False``) while another holder's lease has not expired."""
        ...

    def release_lease(self, name: str, holder: str) -> bool:
        """Give lease ``name`` up if ``holder`` holds it; ``False`` if it did not."""
        ...

    def lease_expiry(self, name: str) -> datetime | None:
        """When lease ``name`` expires unless renewed (``None`` when nobody holds it), so a
        runner that was refused can say how long it may wait."""
        ...
