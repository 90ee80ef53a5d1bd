"""The pipeline runner: every due window through every stage, idempotently.

One cycle reads top to bottom like the diagram::

    ingest+profile -> stats -> detect -> incidents -> report -> alert -> mark windows done

Due windows are the complete windows after the last one marked done, never before ``[ingest]
earliest`` and at most ``[profile] max_windows_per_cycle`` of them (the oldest; the next cycles
take the rest), so a stray old row cannot make a cycle plan every hour since 1970. They are
processed as one batch whose result equals processing them one by one (detectors are causal and
incidents are advanced window by window), so a cycle that crashes is simply run again: it
replaces what it wrote (profiles, series, anomalies by period, incidents by id) and sends
nothing it has a record of sending. Windows are marked done only at the end.

A cycle holds the store's ``pipeline`` lease from start to end, so two runners on one store never
process the same windows: the second finds the lease taken and skips (``skipped_locked``). The
lease is timed by the wall clock (``clock``), not by ``now`` (which may be a simulated time), and
expires after ``lease_ttl`` so a runner killed mid-cycle blocks the next one only that long; it
is renewed at every stage, and a cycle that finds it lost stops before writing more.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from vigil.alert import (
    Alert,
    AlertmanagerSettings,
    Channel,
    DeliveryError,
    DeliveryRecord,
    Links,
    Outbox,
    deliver,
    incident_alert,
    plan_notifications,
)
from vigil.core import StoreError, Window, windows_between
from vigil.detect import Anomaly
from vigil.incidents import Incident, IncidentState
from vigil.ingest import EARLIEST
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.detection import DetectionPolicy, detect_anomalies
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.incidents import advance_incidents
from vigil.pipeline.profiling import ProfilingSummary
from vigil.pipeline.reports import email_report, model_report, write_reports
from vigil.pipeline.series import build_series
from vigil.pipeline.sources import profile_sources
from vigil.profile import ProfileSpec
from vigil.report import ModelReport
from vigil.stats import Series, StatsSpec
from vigil.store import Run, RunStatus, Store

logger = logging.getLogger(__name__)
STAGE = "pipeline"
LEASE = "pipeline"
DEFAULT_LEASE_TTL = timedelta(minutes=30)
"""Longer than any cycle we have measured; a killed runner's lease is free again after it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleSummary:
    """What one cycle did; ``windows`` is empty when nothing was due."""

    windows: tuple[Window, ...]
    profiling: ProfilingSummary | None = None
    series: int = 0
    anomalies: int = 0
    filtered: Mapping[str, int] = field(default_factory=dict)
    incidents: tuple[Incident, ...] = ()
    notifications_queued: int = 0
    """Handed to the outbox this cycle (sent off the cycle's thread)."""
    notifications_sent: int = 0
    """Sends that finished during this cycle (queued by it or an earlier one) and succeeded."""
    notifications_failed: int = 0
    reports: tuple[Path, ...] = ()
    skipped_locked: bool = False
    """True when another runner held the store's pipeline lease, so this cycle did nothing."""
    lease_until: datetime | None = None
    """With ``skipped_locked``: when the other runner's lease expires unless it renews it."""
    failures: tuple[ModelFailure, ...] = ()
    """Models whose stage failed this cycle (each named with the object that failed); every
    other model went on."""

    @property
    def open_incidents(self) -> int:
        return sum(1 for i in self.incidents if i.state is not IncidentState.RESOLVED)


Progress = Callable[[str], None]
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def run_cycle(
    *,
    config: VigilConfig,
    store: Store,
    now: datetime,
    channels: Mapping[str, Channel],
    sources: Sequence[str] = (),
    reports_out: Path | None = None,
    progress: Progress | None = None,
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    clock: Clock = wall_clock,
    outbox: Outbox | None = None,
) -> CycleSummary:
    """Run every stage over the windows due at ``now`` while holding the pipeline lease (see
    module docstring).

    With an ``outbox`` (``vigil run`` keeps one across cycles), notifications and Alertmanager
    alerts are sent off this thread, so a hanging receiver never holds a cycle; what the outbox
    finished is recorded in the store by the next cycle (or by its owner), so a crash can repeat
    the sends it finished since (at least once, with the same idempotency keys). Without one,
    the cycle sends through ``channels`` itself and records each success before the next send:
    a crash repeats at most the message in flight.
    """
    holder = uuid.uuid4().hex
    if not store.leases.acquire(LEASE, holder, now=clock(), ttl=lease_ttl):
        logger.warning("another vigil run holds the %r lease of this store; skipping", LEASE)
        return CycleSummary(windows=(), skipped_locked=True, lease_until=store.leases.expiry(LEASE))
    tell = progress or (lambda _: None)

    def say(step: str) -> None:
        if not store.leases.acquire(LEASE, holder, now=clock(), ttl=lease_ttl):
            raise StoreError(
                f"lost the {LEASE!r} lease before {step!r} (the cycle took longer than "
                f"{lease_ttl}); stopping before writing more"
            )
        tell(step)

    try:
        summary = _run_cycle(
            config=config,
            store=store,
            now=now,
            senders=_Senders(channels=channels, outbox=outbox, wall=clock()),
            sources=sources,
            reports_out=reports_out,
            say=say,
        )
        if outbox is None:
            return summary
        sent, failed = record_finished(store, outbox, now=now)  # finished by now, any cycle's
        return replace(
            summary,
            notifications_sent=summary.notifications_sent + sent,
            notifications_failed=summary.notifications_failed + failed,
        )
    finally:
        store.leases.release(LEASE, holder)


def _run_cycle(
    *,
    config: VigilConfig,
    store: Store,
    now: datetime,
    senders: _Senders,
    sources: Sequence[str],
    reports_out: Path | None,
    say: Progress,
) -> CycleSummary:
    say("ingest and profile")
    last_done = _last_done_end(store)
    since = None if last_done is None else last_done - config.late_data
    failures: list[ModelFailure] = []
    profiled = profile_sources(
        sources,
        store,
        spec=ProfileSpec(window=config.window),
        now=now,
        chunk_rows=config.ingest.chunk_rows,
        since=since,
        limits=config.ingest_limits(),
        on_failure=failures.append,
        labels=config.label_settings(),
    )
    due = _windows_due(
        store,
        window=config.window,
        now=now,
        last_done=last_done,
        earliest=config.earliest,
        limit=config.profile.max_windows_per_cycle,
    )
    if not due:
        _record_failures(store, failures, span=Window.containing(now, config.window), now=now)
        return CycleSummary(windows=(), profiling=profiled, failures=tuple(failures))
    say(f"health statistics for {len(due)} windows")
    series = build_series(
        store,
        grid=due,
        lookback=2 * config.history,
        spec=_stats_spec(config),
        on_failure=failures.append,
        labels=config.label_settings(),
    )
    store.series.put(s.slice(*_due_slice(s, due)) for s in series)
    say(f"detect anomalies in {len(series)} series")
    policy = DetectionPolicy(
        history_days=max(1, config.history.days), detector=config.detect.detector
    )
    anomalies = _detect(series, due=due, policy=policy, on_failure=failures.append)
    store.anomalies.replace(anomalies, start=due[0].start, end=due[-1].end)
    say(f"group {len(anomalies)} anomalies into incidents")
    incidents, outcome = advance_incidents(
        store, anomalies, due=due, series=series, config=config, now=now
    )
    store.incidents.put(incidents)
    say("write reports")
    reports = _model_reports(series, incidents, anomalies, policy, now, failures.append)
    written = write_reports(reports, reports_out, failures.append) if reports_out else ()
    say("send notifications")
    queued, sent, failed = _notify(store, incidents, reports, senders, config, now)
    _record_failures(store, failures, span=Window(start=due[0].start, end=due[-1].end), now=now)
    for window in due:
        store.runs.put(
            Run(
                stage=STAGE,
                window=window,
                status=RunStatus.SUCCEEDED,
                started_at=now,
                finished_at=now,
            )
        )
    logger.info(
        "cycle windows=%d..%s anomalies=%d incidents=%d queued=%d",
        len(due),
        due[-1].end.isoformat(),
        len(anomalies),
        len(incidents),
        queued,
    )
    return CycleSummary(
        windows=tuple(due),
        series=len(series),
        anomalies=len(anomalies),
        filtered={r.name: r.removed for r in outcome.reports},
        incidents=tuple(incidents),
        notifications_queued=queued,
        notifications_sent=sent,
        notifications_failed=failed,
        reports=written,
        profiling=profiled,
        failures=tuple(failures),
    )


def _detect(
    series: Sequence[Series],
    *,
    due: Sequence[Window],
    policy: DetectionPolicy,
    on_failure: Callable[[ModelFailure], None],
) -> list[Anomaly]:
    """Anomalies of every series; when detection fails, model by model, so only the models at
    fault lose theirs (the detectors judge each series on its own, so the result is the same)."""
    start, end = due[0].start, due[-1].end
    try:
        return detect_anomalies(series, start=start, end=end, policy=policy)
    except Exception:  # found again, and reported, model by model below
        found: list[Anomaly] = []
        for model in sorted({s.key.model for s in series}):
            mine = [s for s in series if s.key.model == model]
            try:
                found += detect_anomalies(mine, start=start, end=end, policy=policy)
            except Exception as err:  # one model's failure must not blind the others
                on_failure(model_failure(model, "detect", err))
        return sorted(found, key=lambda a: (a.timestamp, str(a.key)))


def _model_reports(
    series: Sequence[Series],
    incidents: Sequence[Incident],
    anomalies: Sequence[Anomaly],
    policy: DetectionPolicy,
    now: datetime,
    on_failure: Callable[[ModelFailure], None],
) -> list[ModelReport]:
    reports = []
    for model in sorted({s.key.model for s in series}):
        try:
            reports.append(
                model_report(
                    model,
                    series=series,
                    incidents=incidents,
                    anomalies=anomalies,
                    now=now,
                    history_days=policy.history_days,
                    detector=policy.detector,
                )
            )
        except Exception as err:  # one model's failure must not blind the others
            on_failure(model_failure(model, "report", err))
    return reports


def _record_failures(
    store: Store, failures: Sequence[ModelFailure], *, span: Window, now: datetime
) -> None:
    """Each failure as a failed run of its stage and model over the cycle's windows, so it
    stays visible after the cycle (``store.runs.get(status=RunStatus.FAILED)``)."""
    for failure in failures:
        store.runs.put(
            Run(
                stage=failure.stage,
                model=failure.model,
                window=span,
                status=RunStatus.FAILED,
                started_at=now,
                finished_at=now,
                message=failure.error[:2000],
            )
        )


def due_windows(
    store: Store,
    *,
    window: timedelta,
    now: datetime,
    earliest: datetime = EARLIEST,
    limit: int | None = None,
) -> list[Window]:
    """Complete windows after the last one done, from the first profiled window (and never
    before ``earliest``) on; the oldest ``limit`` of them when given."""
    return _windows_due(
        store,
        window=window,
        now=now,
        last_done=_last_done_end(store),
        earliest=earliest,
        limit=limit,
    )


def _windows_due(
    store: Store,
    *,
    window: timedelta,
    now: datetime,
    last_done: datetime | None,
    earliest: datetime,
    limit: int | None,
) -> list[Window]:
    first = store.profiles.first_window_start(duration=window)
    if first is None:
        return []
    start = max(first, Window.containing(earliest, window).start)
    if last_done is not None:
        start = max(start, last_done)
    last_complete = Window.containing(now, window).start
    if start >= last_complete:
        return []
    if limit is not None:
        last_complete = min(last_complete, start + limit * window)
    return windows_between(start, last_complete, window)


def _last_done_end(store: Store) -> datetime | None:
    """End of the last window a cycle finished.

    A cycle re-reads from there less the late-data margin (``[ingest] late_data``), or
    everything before the first cycle: without that, every cycle re-read every file ever
    spooled, a cost that grows with history. Rows of earlier windows met on the way are counted
    as skipped, not profiled: their windows' series were already computed and notified (a row
    later than the margin is lost to them).
    """
    done = [r.window.end for r in store.runs.get(stage=STAGE, status=RunStatus.SUCCEEDED)]
    return max(done, default=None)


def _stats_spec(config: VigilConfig) -> StatsSpec:
    return StatsSpec(window=config.window, change=config.change_test())


def _due_slice(series: Series, due: Sequence[Window]) -> tuple[int, int]:
    times = series.timestamps
    begin = np.datetime64(due[0].start.replace(tzinfo=None), "s")
    return int(np.searchsorted(times, begin)), len(times)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Senders:
    """The cycle's own channels, or an outbox that sends off its thread (see run_cycle)."""

    channels: Mapping[str, Channel]
    outbox: Outbox | None
    wall: datetime
    """The wall-clock time of the cycle: Alertmanager times an open alert's end by its own
    clock, also when ``now`` is a simulated time."""


def _notify(
    store: Store,
    incidents: Sequence[Incident],
    reports: Sequence[ModelReport],
    senders: _Senders,
    config: VigilConfig,
    now: datetime,
) -> tuple[int, int, int]:
    """Alerts for Alertmanager, then the notifications still owed on Vigil's own channels.

    Returns (queued, sent, failed): queued in the outbox, or sent and failed by this cycle.
    """
    outbox = senders.outbox
    links = config.build_links()
    alertmanager = config.build_alertmanager()
    if alertmanager is not None:
        alerts = _alerts(store, incidents, alertmanager.settings, links, now, senders.wall)
        if outbox is not None:
            outbox.post_alerts(alerts)
        else:
            try:
                alertmanager.post(alerts)
            except DeliveryError as err:  # retried with the whole set next cycle
                logger.warning("alertmanager: %d alerts not delivered: %s", len(alerts), err)
    routes = config.build_routes()
    if not routes:
        return 0, 0, 0
    already_sent = store.notifications.delivered() | (outbox.pending() if outbox else set())
    pending = plan_notifications(incidents, routes, already_sent=already_sent)
    if not pending:
        return 0, 0, 0
    models = {n.message.model for n in pending}
    rendered = {r.model: email_report(r) for r in reports if r.model in models}
    pending = plan_notifications(
        incidents, routes, already_sent=already_sent, reports=rendered, links=links
    )
    if outbox is not None:
        return outbox.submit(pending), 0, 0
    records = deliver(
        pending, senders.channels, on_delivered=lambda r: store.notifications.put(r, at=now)
    )
    for record in records:
        if not record.delivered:
            store.notifications.put(record, at=now)
    delivered = sum(1 for r in records if r.delivered)
    return 0, delivered, len(records) - delivered


def _alerts(
    store: Store,
    incidents: Sequence[Incident],
    settings: AlertmanagerSettings,
    links: Links,
    now: datetime,
    wall: datetime,
) -> list[Alert]:
    """Every incident of this cycle, and those resolved within ``hold`` of ``now`` (their
    resolution is posted again while it matters, in case a post was lost)."""
    recent = [
        i
        for i in store.incidents.get(states={IncidentState.RESOLVED})
        if i.resolved_at is not None and i.resolved_at > now - settings.hold
    ]
    current = {i.id: i for i in [*recent, *incidents]}  # this cycle's state wins
    return [incident_alert(i, now=wall, settings=settings, links=links) for i in current.values()]


def record_finished(store: Store, outbox: Outbox, *, now: datetime) -> tuple[int, int]:
    """Store what ``outbox`` finished sending (a failure too, so it shows); returns (delivered,
    failed). A cycle does it; so does the owner of the outbox before it exits."""
    records: Sequence[DeliveryRecord] = outbox.collect()
    for record in records:
        store.notifications.put(record, at=now)
    delivered = sum(1 for record in records if record.delivered)
    return delivered, len(records) - delivered
