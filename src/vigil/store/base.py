"""The ``Store`` plug-in point and the values it stores besides profiles.

Stages never import the store: they take values and return values. The pipeline loads values
from a :class:`Store`, calls the stages and saves their results back. Every write is an
idempotent upsert keyed by what the value *is* (a profile by model, version and window; a series
point by series key and timestamp; a run by stage, model and window), so re-running a window
replaces its results instead of adding to them.

Two implementations ship with Vigil and pass the same conformance suite:
:class:`~vigil.store.SqlStore` (SQLite or PostgreSQL through SQLAlchemy Core) and
:class:`~vigil.store.MemoryStore` (dicts; for tests and notebooks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol, runtime_checkable

from vigil.core import ConfigError, ProfileKey, Window
from vigil.ingest import QuarantinedRow
from vigil.profile import Profile
from vigil.stats.series import Series
from vigil.store.checkpoint_base import CheckpointStore
from vigil.store.incident_base import IncidentStore
from vigil.store.lease_base import LeaseStore


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredProfile:
    """A profile as the store holds it: its key, spec fingerprint, row count and encoded bytes.

    Listing profiles (sizes, row counts) needs no decoding; :func:`Profile.from_bytes` on
    ``blob`` gives the profile back.
    """

    key: ProfileKey
    fingerprint: str
    rows: int
    blob: bytes
    updated_at: datetime

    def __post_init__(self) -> None:
        if self.rows < 0:
            raise ConfigError(f"a stored profile cannot have {self.rows} rows")
        if self.updated_at.tzinfo is None:
            raise ConfigError(f"updated_at {self.updated_at} needs a time zone (UTC)")

    @property
    def size_bytes(self) -> int:
        return len(self.blob)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class QuarantineCount:
    """How many rows were quarantined for one model (``""`` if unknown) and window.

    ``window_start`` is ``None`` for rows whose window could not be told (no valid timestamp).
    """

    model: str
    window_start: datetime | None
    rows: int


class RunStatus(StrEnum):
    """Where the processing of one window stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """The record of processing one window by one pipeline stage (e.g. ``"profile"``).

    Keyed by ``(stage, model, window)``: recording a run again replaces the earlier record, so
    the table always says how the latest attempt at each window went. ``model`` is ``""`` for
    runs that cover every model.
    """

    stage: str
    window: Window
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    model: str = ""
    rows_read: int = 0
    rows_profiled: int = 0
    rows_quarantined: int = 0
    message: str = ""

    def __post_init__(self) -> None:
        if not self.stage:
            raise ConfigError("a run needs a non-empty stage name")
        if self.started_at.tzinfo is None:
            raise ConfigError(f"run started_at {self.started_at} needs a time zone (UTC)")
        if self.finished_at is not None and self.finished_at.tzinfo is None:
            raise ConfigError(f"run finished_at {self.finished_at} needs a time zone (UTC)")
        for name in ("rows_read", "rows_profiled", "rows_quarantined"):
            if getattr(self, name) < 0:
                raise ConfigError(f"run {name} cannot be negative, got {getattr(self, name)}")


@runtime_checkable
class Store(IncidentStore, LeaseStore, CheckpointStore, Protocol):
    """Where profiles, quarantined rows, health series and run records persist.

    Every ``put_*`` is a bulk, idempotent upsert and returns how many values it wrote. Every
    ``get_*`` returns values in a stable order (by key, then time).
    """

    def put_profiles(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        """Store profiles; one already stored under the same key is replaced, never merged."""
        ...

    def get_profiles(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[Profile]:
        """Profiles whose windows lie inside ``[start, end)``, optionally of one ``duration``."""
        ...

    def get_profile_records(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration: timedelta | None = None,
    ) -> list[StoredProfile]:
        """Like :meth:`get_profiles` without decoding: for listings and sizes."""
        ...

    def first_window_start(self, *, duration: timedelta) -> datetime | None:
        """Start of the earliest stored profile of that window length (``None`` when none):
        one aggregate, where :meth:`get_profile_records` would load every blob."""
        ...

    def list_models(self) -> list[str]:
        """Models that have at least one stored profile, sorted."""
        ...

    def put_quarantined(
        self, rows: Iterable[QuarantinedRow], *, now: datetime, window: Window | None = None
    ) -> int:
        """Append quarantined rows (with their reasons) ingested at ``now``."""
        ...

    def delete_quarantined(self, sources: Sequence[str]) -> int:
        """Forget the quarantined rows of ``sources``, before those sources are read again."""
        ...

    def get_quarantined(
        self, *, model: str | None = None, limit: int = 1000
    ) -> list[QuarantinedRow]:
        """Quarantined rows, oldest first, for inspection or replay."""
        ...

    def quarantine_counts(
        self, *, model: str | None = None, since: datetime | None = None
    ) -> list[QuarantineCount]:
        """Quarantined rows per model and window (windows at or after ``since`` when given)."""
        ...

    def put_series(self, series: Iterable[Series]) -> int:
        """Upsert every point of every series; returns the number of points written."""
        ...

    def get_series(
        self,
        *,
        model: str,
        version: str | None = None,
        family: str | None = None,
        since: datetime | None = None,
    ) -> list[Series]:
        """The stored series of ``model``, each with its points at or after ``since``."""
        ...

    def put_run(self, run: Run) -> None:
        """Record (or replace) how processing one window went."""
        ...

    def get_runs(self, *, stage: str | None = None, status: RunStatus | None = None) -> list[Run]:
        """Run records ordered by window start."""
        ...

    def close(self) -> None:
        """Release connections; the store cannot be used afterwards."""
        ...
