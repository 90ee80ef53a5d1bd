"""``MonitorHub``: the real-time monitors of every model, fed from ingest, alerts into incidents.

The monitors of :mod:`vigil.detect.realtime` each watch one model; a server sees many models
come and go. The hub keeps one set of monitors per model, created on first sight, and keeps the
number of models bounded (the least recently fed one is evicted and counted), so its memory
stays bounded whatever names clients send. It lives in the pipeline layer because it is the
one place that turns alerts into stored incidents.

Alerts go into incidents only, not into the anomalies table. ``replace_anomalies`` replaces a
whole period for every model: writing an alert at ``[t, t + 1 µs)`` would delete any pipeline
anomaly stamped at the same microsecond (rate alerts fall on quarter hours, exactly where hourly
windows start), and the pipeline's next run over that window would delete the alert in turn.
An incident stores its anomalies itself, so the alerts stay visible in ``GET /v1/incidents/{id}``
with their monitor, score, threshold and severity.

Nothing here reads a clock: ``evaluate(now)`` is told the time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from vigil.core import ConfigError, ConflictError, VigilError
from vigil.detect import Anomaly
from vigil.detect.realtime import (
    AlarmRate,
    ArrivalMonitor,
    DelayedFeedbackMonitor,
    LatencyMonitor,
    Monitor,
    MonitorAlert,
    PairedScoreMonitor,
    ScoreDistributionMonitor,
    alert_to_anomaly,
    events_from_batch,
)
from vigil.incidents import (
    GroupingSettings,
    Incident,
    IncidentState,
    drop_silenced,
    update_incidents,
)
from vigil.ingest import DEFAULT_LIMITS, RecordBatch, records_to_chunk
from vigil.ingest.json_arrow import json_lines_to_chunk
from vigil.pipeline.incidents import WRITE_ATTEMPTS
from vigil.store import Store

logger = logging.getLogger(__name__)

OPEN_STATES = frozenset({IncidentState.OPEN})
MonitorFactory = Callable[[str], Sequence[Monitor]]
"""Builds the monitors of one model, given its name."""


ARROW_MIN_LINES = 500
"""Below this many lines the row-by-row validator is faster than arrow's per-call overhead."""


def rebuild_batch(lines: Sequence[bytes]) -> RecordBatch:
    """The record batch of accepted ``lines`` (their timestamps were already bounded).

    Everything queued is rebuilt in one call: under load many requests wait, and arrow's JSON
    reader is then 2-3x faster than the row-by-row validator; a lone small request goes row by
    row. Both give the same rows (``test_ingest_json_paths.py``).
    """
    if len(lines) < ARROW_MIN_LINES:
        return records_to_chunk(lines, source="realtime", now=None, first_position=0).batch
    rules = DEFAULT_LIMITS.rules(None)
    return json_lines_to_chunk(list(enumerate(lines)), source="realtime", rules=rules).batch


def _no_pairs() -> dict[str, dict[str, str]]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class HubSettings:
    """How many models to watch, the alarm budget, and how alerts are grouped.

    ``pairs`` maps a champion model to its roles for :class:`PairedScoreMonitor`, e.g.
    ``{"ranker": {"champion": "ranker", "canary": "ranker-canary"}}``; the paired monitor lives
    with the champion and is also fed the partners' events.
    """

    max_models: int = 100
    alarm_rate: AlarmRate = field(default_factory=AlarmRate)
    score_output: str = "score"
    grouping: GroupingSettings = field(default_factory=GroupingSettings)
    pairs: Mapping[str, Mapping[str, str]] = field(default_factory=_no_pairs)
    max_unsaved: int = 10_000

    def __post_init__(self) -> None:
        if self.max_models < 1:
            raise ConfigError(f"max_models must be at least 1, got {self.max_models}")
        if self.max_unsaved < 1:
            raise ConfigError(f"max_unsaved must be at least 1, got {self.max_unsaved}")
        for champion, roles in self.pairs.items():
            if roles.get("champion") != champion:
                raise ConfigError(
                    f"pairs[{champion!r}] must name {champion!r} as its champion, got {roles!r}"
                )


def default_monitors(settings: HubSettings) -> MonitorFactory:
    """The four single-model monitors (plus the paired one for a configured champion)."""

    def build(model: str) -> list[Monitor]:
        rate = settings.alarm_rate
        found: list[Monitor] = [
            ArrivalMonitor(model, alarm_rate=rate),
            LatencyMonitor(model, alarm_rate=rate),
            ScoreDistributionMonitor(model, alarm_rate=rate),
            DelayedFeedbackMonitor(model, alarm_rate=rate),
        ]
        if model in settings.pairs:
            found.append(PairedScoreMonitor(settings.pairs[model], alarm_rate=rate))
        return found

    return build


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorStatus:
    """One monitor of one model: what it was fed and the latest alert of each statistic."""

    model: str
    monitor: str
    events: int
    alerts: int
    latest: tuple[MonitorAlert, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HubStatus:
    monitors: tuple[MonitorStatus, ...]
    evicted_models: int
    update_errors: int
    unsaved_alerts: int
    dropped_alerts: int
    silenced_alerts: int
    last_evaluated: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotState:
    """One model's monitors and counters, as saved in a checkpoint."""

    model: str
    monitors: tuple[Monitor, ...]
    events: tuple[int, ...]
    alerts: tuple[int, ...]
    latest: tuple[dict[str, MonitorAlert], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class HubState:
    """Everything a hub learned, least recently fed model first."""

    slots: tuple[SlotState, ...]
    last_now: datetime | None


class _Slot:
    """The monitors of one model and their counters."""

    def __init__(self, model: str, monitors: Sequence[Monitor]) -> None:
        self.model = model
        self.monitors = list(monitors)
        self.events = [0] * len(self.monitors)
        self.alerts = [0] * len(self.monitors)
        self.latest: list[dict[str, MonitorAlert]] = [{} for _ in self.monitors]


class MonitorHub:
    """One set of monitors per model (at most ``max_models``), fed batches, asked for alerts.

    ``feed(batch)`` splits an ingested :class:`RecordBatch` into events and updates the monitors
    of each model in it. ``evaluate(now)`` asks every monitor for its alerts and folds them,
    as anomalies, into the open incidents of their model. Both are thread-safe (one lock), so a
    background thread can feed and evaluate while request threads read :meth:`status`.
    """

    def __init__(
        self,
        store: Store,
        *,
        settings: HubSettings | None = None,
        monitors: MonitorFactory | None = None,
    ) -> None:
        self.store = store
        self.settings = settings or HubSettings()
        self.build_monitors = monitors or default_monitors(self.settings)
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._partners: dict[str, list[str]] = defaultdict(list)
        for champion, roles in self.settings.pairs.items():
            for model in roles.values():
                if model != champion:
                    self._partners[model].append(champion)
        self._lock = threading.Lock()
        self._unsaved: list[Anomaly] = []
        self._last_now: datetime | None = None
        self.evicted_models_ = 0
        self.update_errors_ = 0
        self.dropped_alerts_ = 0
        self.silenced_alerts_ = 0

    def _slot(self, model: str) -> _Slot:
        slot = self._slots.get(model)
        if slot is None:
            slot = _Slot(model, self.build_monitors(model))
            self._slots[model] = slot
            while len(self._slots) > self.settings.max_models:
                evicted, _ = self._slots.popitem(last=False)
                self.evicted_models_ += 1
                logger.warning("realtime: evicted the monitors of model %s (least recent)", evicted)
        self._slots.move_to_end(model)
        return slot

    def feed(self, batch: RecordBatch) -> int:
        """Update the monitors of every model in ``batch``; returns the events fed."""
        fed = 0
        with self._lock:
            for events in events_from_batch(batch, score_output=self.settings.score_output):
                for model in (events.model, *self._partners.get(events.model, ())):
                    slot = self._slot(model)
                    for index, monitor in enumerate(slot.monitors):
                        try:
                            monitor.update(events)
                        except VigilError as err:
                            self.update_errors_ += 1
                            logger.warning("realtime: %s of %s: %s", monitor.name, model, err)
                            continue
                        slot.events[index] += len(events)
                fed += len(events)
        return fed

    def evaluate(self, now: datetime) -> list[MonitorAlert]:
        """Ask every monitor for its alerts at ``now`` and fold them into incidents.

        Alerts that could not be saved (the store failed) are kept, up to ``max_unsaved``, and
        saved with the next evaluation; beyond that they are counted in ``dropped_alerts_``.
        """
        if now.tzinfo is None:
            raise ConfigError(f"now must be timezone-aware UTC, got {now!r}")
        with self._lock:
            if self._last_now is not None and now < self._last_now:
                now = self._last_now  # monitors require that now never goes back
            self._last_now = now
            raised = self._collect(now)
            self._unsaved.extend(alert_to_anomaly(alert) for alert in raised)
            overflow = len(self._unsaved) - self.settings.max_unsaved
            if overflow > 0:
                self.dropped_alerts_ += overflow
                del self._unsaved[:overflow]
            pending = list(self._unsaved)
        if pending:
            self._save(pending, now)
            with self._lock:
                del self._unsaved[: len(pending)]
        return raised

    def _collect(self, now: datetime) -> list[MonitorAlert]:
        raised: list[MonitorAlert] = []
        for slot in self._slots.values():
            for index, monitor in enumerate(slot.monitors):
                try:
                    alerts = monitor.alerts(now)
                except VigilError as err:
                    self.update_errors_ += 1
                    logger.warning("realtime: %s of %s: %s", monitor.name, slot.model, err)
                    continue
                slot.alerts[index] += len(alerts)
                for alert in alerts:
                    slot.latest[index][alert.statistic] = alert
                raised.extend(alerts)
        return raised

    def _save(self, anomalies: Sequence[Anomaly], now: datetime) -> None:
        """Fold ``anomalies`` into each model's open incidents; raises StoreError on failure."""
        kept = drop_silenced(anomalies, self.store.silences.get())
        self.silenced_alerts_ += len(anomalies) - len(kept)
        by_model: dict[str, list[Anomaly]] = defaultdict(list)
        for anomaly in kept:
            by_model[anomaly.key.model].append(anomaly)
        for model, found in by_model.items():
            incidents = self._fold(model, found, now)
            logger.info(
                "realtime: model=%s alerts=%d incidents=%d", model, len(found), len(incidents)
            )

    def _fold(self, model: str, found: Sequence[Anomaly], now: datetime) -> list[Incident]:
        """``found`` folded into the model's open incidents as stored; when another writer
        (a verdict, the batch cycle) changed one of them between this read and the write, read
        again and fold again (the write is conditional on the revisions read)."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            previous = self.store.incidents.get(model=model, states=OPEN_STATES)
            incidents = update_incidents(previous, found, now=now, settings=self.settings.grouping)
            try:
                self.store.incidents.put(incidents)
            except ConflictError:
                if attempt == WRITE_ATTEMPTS:
                    raise
                continue
            return incidents
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def export_state(self) -> HubState:
        """Every model's monitors and counters, for a checkpoint (see ``realtime_checkpoint``).

        The monitors are the live objects: pickle (or otherwise copy) them before feeding again.
        """
        with self._lock:
            return HubState(
                slots=tuple(
                    SlotState(
                        model=slot.model,
                        monitors=tuple(slot.monitors),
                        events=tuple(slot.events),
                        alerts=tuple(slot.alerts),
                        latest=tuple(dict(found) for found in slot.latest),
                    )
                    for slot in self._slots.values()
                ),
                last_now=self._last_now,
            )

    def import_state(self, state: HubState) -> int:
        """Resume from ``state``; returns the models restored.

        A model whose saved monitors are not the ones this hub would build now (the settings
        changed: another pair, a monitor added) starts afresh instead, so a checkpoint never
        brings back a configuration that is gone.
        """
        restored = 0
        with self._lock:
            for saved in state.slots[-self.settings.max_models :]:
                wanted = [m.name for m in self.build_monitors(saved.model)]
                if wanted != [m.name for m in saved.monitors]:
                    logger.warning("realtime: monitors of %s changed; not restored", saved.model)
                    continue
                slot = _Slot(saved.model, saved.monitors)
                slot.events, slot.alerts = list(saved.events), list(saved.alerts)
                slot.latest = [dict(found) for found in saved.latest]
                self._slots[saved.model] = slot
                self._slots.move_to_end(saved.model)
                restored += 1
            if state.last_now is not None and (
                self._last_now is None or state.last_now > self._last_now
            ):
                self._last_now = state.last_now
        return restored

    def status(self) -> HubStatus:
        with self._lock:
            monitors = tuple(
                MonitorStatus(
                    model=slot.model,
                    monitor=monitor.name,
                    events=slot.events[index],
                    alerts=slot.alerts[index],
                    latest=tuple(
                        sorted(slot.latest[index].values(), key=lambda alert: alert.statistic)
                    ),
                )
                for slot in self._slots.values()
                for index, monitor in enumerate(slot.monitors)
            )
            return HubStatus(
                monitors=monitors,
                evicted_models=self.evicted_models_,
                update_errors=self.update_errors_,
                unsaved_alerts=len(self._unsaved),
                dropped_alerts=self.dropped_alerts_,
                silenced_alerts=self.silenced_alerts_,
                last_evaluated=self._last_now,
            )
