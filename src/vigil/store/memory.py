"""``MemoryStore``: the in-memory fake of :class:`~vigil.store.Store`, for tests and notebooks.

It keeps the same flat records as the SQL store (encoded profile bytes, microsecond times, NaN
as "no value") through :mod:`.records`, so it passes the same conformance suite and a test that
runs on it means the same thing on a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import groupby

from vigil.core import ProfileKey, Window, ensure_utc
from vigil.ingest import QuarantinedRow
from vigil.profile import Profile
from vigil.stats.series import Series
from vigil.store.base import QuarantineCount, Run, RunStatus, StoredProfile
from vigil.store.checkpoint_memory import CheckpointMemoryMixin
from vigil.store.incident_memory import IncidentMemoryMixin
from vigil.store.lease_memory import LeaseMemoryMixin
from vigil.store.records import (
    SeriesPoint,
    decode_profiles,
    duration_us,
    series_from_points,
    series_key,
    series_points,
    sort_quarantine_counts,
    stored_profile,
    to_us,
)


class MemoryStore(IncidentMemoryMixin, LeaseMemoryMixin, CheckpointMemoryMixin):
    """A :class:`~vigil.store.Store` held in dictionaries; gone when the object is."""

    def __init__(self) -> None:
        self._profiles: dict[ProfileKey, StoredProfile] = {}
        self._quarantine: list[tuple[QuarantinedRow, datetime | None]] = []
        self._points: dict[tuple[str, str, str, str, str, int], SeriesPoint] = {}
        self._runs: dict[tuple[str, str, Window], Run] = {}

    def close(self) -> None:
        """Nothing to release."""

    def put_profiles(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        records = {profile.key: stored_profile(profile, now=now) for profile in profiles}
        self._profiles.update(records)
        return len(records)

    def get_profiles(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        return decode_profiles(
            self.get_profile_records(
                model=model, version=version, start=start, end=end, duration=duration
            )
        )

    def get_profile_records(
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
            for key, record in sorted(self._profiles.items())
            if (model is None or key.model == model)
            and (version is None or key.version == version)
            and (start is None or key.window.start >= start)
            and (end is None or key.window.end <= end)
            and (span_us is None or to_us(key.window.end) - to_us(key.window.start) == span_us)
        ]

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        return min(
            (key.window.start for key in self._profiles if key.window.duration == duration),
            default=None,
        )

    def list_models(self) -> list[str]:
        return sorted({key.model for key in self._profiles})

    def put_quarantined(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        ensure_utc(now)
        start = None if window is None else window.start
        added = [(replace(row, model=row.model or None), start) for row in rows]
        self._quarantine.extend(added)
        return len(added)

    def delete_quarantined(self, sources: Sequence[str]) -> int:
        wanted = set(sources)
        kept = [entry for entry in self._quarantine if entry[0].source not in wanted]
        deleted = len(self._quarantine) - len(kept)
        self._quarantine = kept
        return deleted

    def get_quarantined(
        self, *, model: str | None = None, limit: int = 1000
    ) -> list[QuarantinedRow]:
        rows = [row for row, _ in self._quarantine if model is None or (row.model or "") == model]
        return rows[:limit]

    def quarantine_counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        since = None if since is None else ensure_utc(since)
        counts = Counter(
            (row.model or "", start)
            for row, start in self._quarantine
            if (model is None or (row.model or "") == model)
            and (since is None or (start is not None and start >= since))
        )
        return sort_quarantine_counts(
            QuarantineCount(model=key[0], window_start=key[1], rows=rows)
            for key, rows in counts.items()
        )

    def put_series(self, series: Iterable[Series]) -> int:
        points = series_points(series)
        self._points.update((point[:6], point) for point in points)
        return len(points)

    def get_series(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        since_us = None if since is None else to_us(since)
        selected = sorted(
            key
            for key in self._points
            if key[0] == model
            and (version is None or key[1] == version)
            and (family is None or key[2] == family)
            and (since_us is None or key[5] >= since_us)
        )
        return [
            series_from_points(
                series_key(parts),
                [(key[5], self._points[key][6], self._points[key][7]) for key in keys],
            )
            for parts, keys in groupby(selected, key=lambda key: key[:5])
        ]

    def put_run(self, run: Run) -> None:
        self._runs[(run.stage, run.model, run.window)] = run

    def get_runs(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        return [
            run
            for (run_stage, model, window), run in sorted(
                self._runs.items(), key=lambda item: (item[0][2], item[0][0], item[0][1])
            )
            if (stage is None or run_stage == stage) and (status is None or run.status == status)
        ]
