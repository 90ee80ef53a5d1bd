"""The pipeline runner: every due window through every stage, idempotently.

One cycle reads top to bottom like the diagram::

    ingest+profile -> stats -> detect -> incidents -> report -> alert -> mark windows done

The cycle works in data time. Due windows are the complete windows after the last one marked
done, up to ``until``: by default the end of the latest data in the store, so a replay of a
folder of March logs stops at its last March window instead of walking to today through months
of empty windows; ``vigil run`` looping on live traffic passes the clock, so a model that stops
sending is watched through its silence (zero requests are an observation). Only the points that
carry a value are stored, so an empty window costs almost nothing. Due windows never start
before ``[ingest] earliest`` and are at most ``[profile] max_windows_per_cycle`` of them (the
oldest; the next cycles take the rest), so a stray old row cannot make a cycle plan every hour
since 1970. They are processed as one batch whose result equals processing them one by one
(detectors are causal and incidents are advanced window by window), so a cycle that crashes is
simply run again: it replaces what it wrote (profiles, series, anomalies by period, incidents by
id) and sends nothing it has a record of sending. Windows are marked done only at the end.

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

from vigil.alert import Channel, Outbox
from vigil.core import StoreError, Window
from vigil.incidents import Incident, IncidentState
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.deciding import decide_incidents
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.notices import model_notices
from vigil.pipeline.notify import Senders, notify, record_finished
from vigil.pipeline.profiling import ProfilingSummary
from vigil.pipeline.reports import model_report, write_reports
from vigil.pipeline.schedule import STAGE, data_end, last_done_end, windows_due
from vigil.pipeline.series import build_series
from vigil.pipeline.sources import profile_sources
from vigil.pipeline.watch import WatchPolicy, WatchResult
from vigil.report import ModelReport
from vigil.stats import Series, StatsSpec
from vigil.store import Run, RunStatus, Store

logger = logging.getLogger(__name__)
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
    notices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per model, what the cycle could not see or vouch for (:mod:`vigil.pipeline.notices`)."""
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
    until: datetime | None = None,
) -> CycleSummary:
    """Run every stage over the windows due by ``until`` (at most ``now``; ``None``: the end of
    the latest data) while holding the pipeline lease (see the module docstring).

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
            until=until,
            senders=Senders(channels=channels, outbox=outbox, wall=clock()),
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
    until: datetime | None,
    senders: Senders,
    sources: Sequence[str],
    reports_out: Path | None,
    say: Progress,
) -> CycleSummary:
    say("ingest and profile")
    last_done = last_done_end(store)
    since = None if last_done is None else last_done - config.late_data
    failures: list[ModelFailure] = []
    profiled = profile_sources(
        sources,
        store,
        spec=config.profile_spec(),
        now=now,
        chunk_rows=config.ingest.chunk_rows,
        since=since,
        limits=config.ingest_limits(),
        on_failure=failures.append,
        labels=config.label_settings(),
    )
    end = data_end(store, window=config.window, now=now, until=until)
    due = windows_due(
        store,
        window=config.window,
        end=end,
        last_done=last_done,
        earliest=config.earliest,
        limit=config.profile.max_windows_per_cycle,
    )
    if not due:
        _record_failures(store, failures, span=Window.containing(now, config.window), now=now)
        return CycleSummary(windows=(), profiling=profiled, failures=tuple(failures))
    policy = config.watch_policy()
    say(f"health statistics for {len(due)} windows")
    spec = _stats_spec(config, policy)
    fixed = {m: r for m in store.profiles.models() if (r := config.resolved.reference_for(m))}
    series = build_series(
        store,
        grid=due,
        lookback=_lookback(policy, spec, due[0]),
        spec=spec,
        references=fixed,
        on_failure=failures.append,
        labels=config.label_settings(),
    )
    store.series.put(_with_values(s.slice(*_due_slice(s, due))) for s in series)
    say(f"watch {len(series)} series")
    watched, incidents, outcome = decide_incidents(
        store, series, due, policy, config, now, failures.append
    )
    anomalies = list(watched.anomalies)
    say("write reports")
    notices = _notices(series, due, policy, profiled)
    reports = _model_reports(series, watched, incidents, notices, now, failures.append)
    written = write_reports(reports, reports_out, failures.append) if reports_out else ()
    say("send notifications")
    queued, sent, failed = notify(store, incidents, reports, senders, config, now)
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
        notices=notices,
    )


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


def _model_reports(
    series: Sequence[Series],
    watched: WatchResult,
    incidents: Sequence[Incident],
    notices: Mapping[str, tuple[str, ...]],
    now: datetime,
    on_failure: Callable[[ModelFailure], None],
) -> list[ModelReport]:
    reports = []
    for model in sorted({s.key.model for s in series}):
        try:
            reports.append(
                model_report(
                    model,
                    watched=watched,
                    incidents=incidents,
                    now=now,
                    notices=notices.get(model, ()),
                    series=series,
                )
            )
        except Exception as err:  # one model's failure must not blind the others
            on_failure(model_failure(model, "report", err))
    return reports


def _notices(
    series: Sequence[Series],
    due: Sequence[Window],
    policy: WatchPolicy,
    profiled: ProfilingSummary | None,
) -> dict[str, tuple[str, ...]]:
    counts = {c.model: c for c in profiled.models} if profiled is not None else {}
    by_model: dict[str, list[Series]] = {}
    for one in series:
        by_model.setdefault(one.key.model, []).append(one)
    found = {}
    for model, mine in sorted(by_model.items()):
        tally = counts.get(model)
        said = model_notices(
            mine,
            start=due[0].start,
            end=due[-1].end,
            history=policy.history,
            quarantined=tally.rows_quarantined if tally is not None else 0,
            reasons=tally.reasons if tally is not None else (),
        )
        if said:
            found[model] = said
    return found


def _lookback(policy: WatchPolicy, spec: StatsSpec, first: Window) -> timedelta:
    """How far before the due windows series are computed: what the watch needs, and twice the
    drift reference (a due window's reference windows need their own references, to know
    whether they drifted). A short ``[detect] history`` never starves drift of its reference."""
    reference = first.start - spec.reference.earliest(first.start)
    return max(policy.lookback, 2 * reference)


def _stats_spec(config: VigilConfig, policy: WatchPolicy) -> StatsSpec:
    """What counts as drifted is the policy's decision, for references as for alerts."""
    return StatsSpec(
        window=config.window,
        change=config.change_test(),
        drift_exclusion=dict(policy.drift.thresholds),
        exclude_changed=True,
        drift_min_support=policy.drift.min_support,
    )


def _with_values(series: Series) -> Series:
    """Only the steps that carry a value: a window without data stores nothing."""
    known = ~np.isnan(series.values)
    if bool(known.all()):
        return series
    return Series(
        key=series.key,
        timestamps=series.timestamps[known],
        values=series.values[known],
        support=None if series.support is None else series.support[known],
        stderr=None if series.stderr is None else series.stderr[known],
    )


def _due_slice(series: Series, due: Sequence[Window]) -> tuple[int, int]:
    times = series.timestamps
    begin = np.datetime64(due[0].start.replace(tzinfo=None), "s")
    return int(np.searchsorted(times, begin)), len(times)
