"""The event batch every real-time monitor consumes.

Monitors run on the raw event stream, not on profiles, because a broken model must be caught
within minutes. Events arrive in batches of columns (numpy arrays), so a monitor updates with a
few vectorized operations per batch instead of a Python call per request. Timestamps are float
epoch seconds: monitors do arithmetic on them (gaps, ages, interval indices) and a float keeps
microseconds for centuries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind, SchemaError

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]
_T = TypeVar("_T", bound=np.generic)


def epoch_seconds(moment: datetime) -> float:
    """``moment`` (timezone-aware) as float seconds since the Unix epoch."""
    if moment.tzinfo is None:
        raise ConfigError(f"datetime {moment.isoformat()} has no time zone; monitors need UTC")
    return moment.timestamp()


def utc_datetime(seconds: float) -> datetime:
    """The UTC datetime of float epoch ``seconds``."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def _empty_tags() -> dict[str, StrArray]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Events:
    """A batch of events of one model and one kind, as columns of equal length.

    - ``timestamp_s``: float epoch seconds (finite; any order within the batch).
    - ``version``: the model version of each event (None: unversioned, ``""`` for all).
    - ``request_id``: joins arrival/completion/label events and paired model scores.
    - ``score``: one output score per event (score and canary monitors), or the outcome value of
      ``label`` events.
    - ``latency_ms``: per-event latency (completion or prediction events).
    - ``tags``: free string labels per event (``host``, ``region`` ...), each a column.

    A ``prediction`` event counts as both the arrival and the completion of its request.
    """

    model: str
    kind: EventKind
    timestamp_s: FloatArray
    version: StrArray | None = None
    request_id: StrArray | None = None
    score: FloatArray | None = None
    latency_ms: FloatArray | None = None
    tags: Mapping[str, StrArray] = field(default_factory=_empty_tags)

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("events need a non-empty model name")
        if self.timestamp_s.ndim != 1:
            raise SchemaError(f"timestamp_s must be 1-d, got shape {self.timestamp_s.shape}")
        if not bool(np.isfinite(self.timestamp_s).all()):
            bad = int((~np.isfinite(self.timestamp_s)).sum())
            raise SchemaError(f"{bad} event timestamps are not finite; quarantine them upstream")
        n = len(self.timestamp_s)
        columns: dict[str, npt.NDArray[np.generic] | None] = {
            "version": self.version,
            "request_id": self.request_id,
            "score": self.score,
            "latency_ms": self.latency_ms,
        }
        columns.update({f"tags[{name!r}]": values for name, values in self.tags.items()})
        for name, values in columns.items():
            if values is not None and values.shape != (n,):
                raise SchemaError(f"events column {name} has shape {values.shape}, need ({n},)")

    def __len__(self) -> int:
        return len(self.timestamp_s)

    def versions(self) -> StrArray:
        """The version column, or ``""`` for every event when the batch carries none."""
        if self.version is None:
            return np.full(len(self), "", dtype=np.str_)
        return self.version

    def require(self, *columns: str) -> None:
        """Raise a :class:`SchemaError` naming the monitor's missing columns."""
        missing = [name for name in columns if getattr(self, name) is None]
        if missing:
            raise SchemaError(
                f"events of model {self.model!r} ({self.kind}) lack column(s) {missing}; "
                "this monitor needs them"
            )

    def select(self, mask: npt.NDArray[np.bool_]) -> Events:
        """The events where ``mask`` is true, every column filtered alike."""

        def pick(values: npt.NDArray[_T] | None) -> npt.NDArray[_T] | None:
            return None if values is None else values[mask]

        return Events(
            model=self.model,
            kind=self.kind,
            timestamp_s=self.timestamp_s[mask],
            version=pick(self.version),
            request_id=pick(self.request_id),
            score=pick(self.score),
            latency_ms=pick(self.latency_ms),
            tags={name: values[mask] for name, values in self.tags.items()},
        )
