"""The values the store keeps besides the stages' own: stored profiles, quarantine counts, runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vigil.core import ConfigError, ProfileKey, Window


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
