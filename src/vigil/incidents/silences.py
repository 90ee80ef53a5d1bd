"""Silences and maintenance windows: the ways an owner says "I know, stop telling me".

A silence matches anomalies by shell-style patterns on the series key's fields and holds until it
expires; it always carries a reason so a later reader knows why alerts were quiet. A maintenance
window mutes a model (pattern) for a planned interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase

from vigil.core import ConfigError, SeriesKey

MATCHABLE_FIELDS = ("model", "version", "family", "column", "statistic")


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """Mutes every series whose key matches all ``matchers`` while ``starts <= t < expires``.

    ``matchers`` maps a key field (model, version, family, column, statistic) to a shell pattern
    such as ``"ranker-*"``; a field that is not named matches anything.
    """

    id: str
    matchers: dict[str, str] = field(default_factory=dict)
    starts: datetime
    expires: datetime
    reason: str
    created_by: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.matchers) - set(MATCHABLE_FIELDS)
        if unknown:
            raise ConfigError(
                f"silence {self.id!r} matches on unknown fields {sorted(unknown)}; "
                f"use {list(MATCHABLE_FIELDS)}"
            )
        if not self.reason.strip():
            raise ConfigError(f"silence {self.id!r} needs a reason")
        if self.expires <= self.starts:
            raise ConfigError(f"silence {self.id!r} expires ({self.expires}) before it starts")

    def is_active(self, moment: datetime) -> bool:
        return self.starts <= moment < self.expires

    def matches(self, key: SeriesKey) -> bool:
        return all(
            fnmatchcase(str(getattr(key, name)), pattern) for name, pattern in self.matchers.items()
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MaintenanceWindow:
    """Planned work on the models matching ``model`` (a shell pattern) during ``[start, end)``."""

    model: str
    start: datetime
    end: datetime
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ConfigError(f"maintenance window for {self.model!r} ends before it starts")

    def covers(self, key: SeriesKey, moment: datetime) -> bool:
        return self.start <= moment < self.end and fnmatchcase(key.model, self.model)
