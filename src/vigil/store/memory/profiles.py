"""Profiles in memory, kept encoded (as the database keeps them) by key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from vigil.core import ProfileKey, ensure_utc
from vigil.profile import Profile
from vigil.store.records import decode_profiles, duration_us, stored_profile, to_us
from vigil.store.values import StoredProfile


class MemoryProfiles:
    """The :class:`~vigil.store.ProfileStore` of a :class:`~vigil.store.MemoryStore`."""

    def __init__(self) -> None:
        self._records: dict[ProfileKey, StoredProfile] = {}

    def put(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        records = {profile.key: stored_profile(profile, now=now) for profile in profiles}
        self._records.update(records)
        return len(records)

    def get(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        return decode_profiles(
            self.records(model=model, version=version, start=start, end=end, duration=duration)
        )

    def records(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[StoredProfile]:
        span_us = None if duration is None else duration_us(duration)
        start = None if start is None else ensure_utc(start)
        end = None if end is None else ensure_utc(end)
        return [
            record
            for key, record in sorted(self._records.items())
            if (model is None or key.model == model)
            and (version is None or key.version == version)
            and (start is None or key.window.start >= start)
            and (end is None or key.window.end <= end)
            and (span_us is None or to_us(key.window.end) - to_us(key.window.start) == span_us)
        ]

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        return min(
            (key.window.start for key in self._records if key.window.duration == duration),
            default=None,
        )

    def last_window_end(
        self, *, duration: timedelta | None = None, model: str | None = None
    ) -> datetime | None:
        return max(
            (
                key.window.end
                for key in self._records
                if (duration is None or key.window.duration == duration)
                and (model is None or key.model == model)
            ),
            default=None,
        )

    def models(self) -> list[str]:
        return sorted({key.model for key in self._records})

    def delete(self, keys: Iterable[ProfileKey]) -> int:
        return sum(self._records.pop(key, None) is not None for key in set(keys))
