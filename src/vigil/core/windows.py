"""Time windows: half-open UTC intervals ``[start, end)`` aligned to a fixed duration.

Every window Vigil uses is aligned to the Unix epoch in whole multiples of its duration, so the
same timestamp always falls into the same window whoever computes it (a laptop, a Spark task).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.core.errors import ConfigError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|min|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """Parse ``"5m"``, ``"1h"``, ``"1d"`` or ``"1w"`` into a timedelta."""
    match = _DURATION.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(f"cannot read duration {text!r}; write e.g. '5m', '1h', '1d' or '1w'")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def format_duration(duration: timedelta) -> str:
    """The shortest ``parse_duration`` spelling of ``duration`` (``3600s`` -> ``"1h"``)."""
    seconds = int(duration.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; naive datetimes are rejected rather than guessed."""
    if moment.tzinfo is None:
        raise ConfigError(f"datetime {moment.isoformat()} has no time zone; Vigil needs UTC times")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Window:
    """A half-open UTC interval ``[start, end)``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ConfigError(f"window {self.start}..{self.end} needs timezone-aware UTC times")
        if self.end <= self.start:
            raise ConfigError(f"window end {self.end} is not after its start {self.start}")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def covers(self, other: Window) -> bool:
        """True when ``other`` lies wholly inside this window."""
        return self.start <= other.start and other.end <= self.end

    @classmethod
    def containing(cls, moment: datetime, duration: timedelta) -> Window:
        """The epoch-aligned window of length ``duration`` that contains ``moment``."""
        step = int(duration.total_seconds() * 1_000_000)
        if step <= 0:
            raise ConfigError(f"window duration must be positive, got {duration}")
        offset_us = (ensure_utc(moment) - _EPOCH) // timedelta(microseconds=1)
        try:
            start = _EPOCH + timedelta(microseconds=(offset_us // step) * step)
            return cls(start=start, end=start + duration)
        except OverflowError as err:
            raise ConfigError(
                f"{moment.isoformat()} is too close to the end of time for a {duration} window"
            ) from err

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def window_start_us(timestamps_us: object, duration: timedelta) -> object:
    """Vectorized epoch alignment: floor microsecond timestamps to window starts.

    Works on anything supporting ``//`` and ``*`` (numpy int64 arrays in practice); kept here so
    every stage aligns windows with the same arithmetic as :meth:`Window.containing`.
    """
    step = int(duration.total_seconds() * 1_000_000)
    return (timestamps_us // step) * step  # type: ignore[operator]


def windows_between(start: datetime, end: datetime, duration: timedelta) -> list[Window]:
    """All aligned windows of ``duration`` that overlap ``[start, end)``, in order."""
    windows: list[Window] = []
    current = Window.containing(start, duration)
    while current.start < end:
        windows.append(current)
        current = Window(start=current.end, end=current.end + duration)
    return windows
