"""The monitor lifecycle, the alerts monitors raise, and a fake for tests.

A monitor is a small stateful learner with a tiny vocabulary (river style): ``update(events)``
folds a batch of events into bounded state, ``alerts(now)`` evaluates everything that is due at
``now`` and returns the alerts raised since the last call. The clock only ever comes in as event
timestamps and ``now``, so a simulated week runs in seconds and a test controls time exactly.

Alerts flow into the same incidents as every other detector: :func:`alert_to_anomaly` turns a
:class:`MonitorAlert` into a :class:`~vigil.detect.base.Anomaly` on an auxiliary series named
after the monitor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from vigil.core import ConfigError, Family, SeriesKey
from vigil.detect.anomaly import Anomaly
from vigil.detect.realtime.events import Events

Evidence = Mapping[str, float | str]


def _no_evidence() -> dict[str, float | str]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorAlert:
    """One alarm of one monitor, with a sentence a person can act on and the numbers behind it.

    ``score`` exceeded ``threshold`` (the threshold matching the monitor's target alarm rate).
    ``statistic`` names what was scored (``"gap"``, ``"rate"``, ``"g_test"`` ...). ``evidence``
    holds the numbers the message quotes (``observed``/``expected`` when the monitor has them).
    """

    monitor: str
    model: str
    version: str
    statistic: str
    timestamp: datetime
    score: float
    threshold: float
    message: str
    evidence: Evidence = field(default_factory=_no_evidence)

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ConfigError(f"alert timestamp {self.timestamp} must be timezone-aware UTC")
        if not self.monitor or not self.model:
            raise ConfigError(
                f"alert needs monitor and model names, got {self.monitor!r}, {self.model!r}"
            )
        if math.isnan(self.score) or math.isnan(self.threshold):
            raise ConfigError(
                f"alert score {self.score!r} and threshold {self.threshold!r} must be numbers"
            )


def _evidence_float(evidence: Evidence, name: str) -> float:
    value = evidence.get(name)
    return float(value) if isinstance(value, float | int) else math.nan


def alert_to_anomaly(alert: MonitorAlert) -> Anomaly:
    """The alert as an :class:`Anomaly` of the auxiliary series ``<monitor>/<statistic>``.

    ``value``/``expected`` come from the evidence's ``observed``/``expected`` when present (the
    score otherwise); ``severity`` is ``score / threshold``, how many thresholds the score reached.
    """
    observed = _evidence_float(alert.evidence, "observed")
    return Anomaly(
        key=SeriesKey(
            model=alert.model,
            version=alert.version,
            family=Family.AUXILIARY.value,
            column=alert.monitor,
            statistic=alert.statistic,
        ),
        timestamp=alert.timestamp,
        value=alert.score if math.isnan(observed) else observed,
        expected=_evidence_float(alert.evidence, "expected"),
        lower=math.nan,
        upper=math.nan,
        score=alert.score,
        severity=alert.score / alert.threshold if alert.threshold > 0 else math.inf,
        detector=f"realtime.{alert.monitor}",
    )


@runtime_checkable
class Monitor(Protocol):
    """The plug-in point every real-time monitor implements.

    - ``update(events)`` folds a batch into the monitor's bounded state. Batches of other models
      or kinds the monitor does not watch are ignored (so one stream can feed many monitors);
      batches missing a column the monitor needs raise :class:`~vigil.core.SchemaError`.
    - ``alerts(now)`` evaluates what is due at ``now`` (closed intervals, silence so far) and
      returns the alerts raised since the last call, each at most once. ``now`` never goes back.
    """

    name: str

    def update(self, events: Events) -> None: ...

    def alerts(self, now: datetime) -> list[MonitorAlert]: ...


class FakeMonitor:
    """A monitor that counts what it is fed and raises the alerts it was given, once each.

    For tests of code that drives monitors (the ingest server, the pipeline): scripted alerts
    are released when ``now`` reaches their timestamp.
    """

    def __init__(self, *, name: str = "fake", scripted: Sequence[MonitorAlert] = ()) -> None:
        self.name = name
        self.events_seen_ = 0
        self.batches_seen_ = 0
        self._pending = sorted(scripted, key=lambda alert: alert.timestamp)

    def update(self, events: Events) -> None:
        self.batches_seen_ += 1
        self.events_seen_ += len(events)

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        due = [alert for alert in self._pending if alert.timestamp <= now]
        self._pending = self._pending[len(due) :]
        return due
