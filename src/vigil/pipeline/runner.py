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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from vigil.alert import (
    Channel,
    Outbox,
)
from vigil.core import ConflictError, SeriesKey, StoreError, Window
from vigil.detect import Anomaly, EvidenceMemo
from vigil.incidents import FilterOutcome, FilterReport, Incident, IncidentState, as_of
from vigil.pipeline.attribution import attribute_incidents
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.incidents import (
    WRITE_ATTEMPTS,
    abnormal_periods,
    advance_incidents,
    baseline_exclusions,
)
from vigil.pipeline.notices import model_notices
from vigil.pipeline.notify import Senders, notify, record_finished
from vigil.pipeline.profiling import ProfilingSummary
from vigil.pipeline.reports import model_report, write_reports
from vigil.pipeline.schedule import STAGE, data_end, last_done_end, windows_due
from vigil.pipeline.series import build_series
from vigil.pipeline.sources import profile_sources
from vigil.pipeline.watch import WatchedSeries, WatchPolicy, WatchResult, watch
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
    watched, incidents, outcome = _decide_incidents(
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


def _watch(
    series: Sequence[Series],
    *,
    day: Sequence[Window],
    policy: WatchPolicy,
    excluded: Mapping[SeriesKey, datetime],
    abnormal: Mapping[SeriesKey, Sequence[tuple[datetime, datetime]]],
    failed: set[str],
    on_failure: Callable[[ModelFailure], None],
    memo: EvidenceMemo,
) -> WatchResult:
    """:func:`watch` over every model not ``failed`` yet; when it fails, model by model, so
    only the models at fault lose their day (and the cycle's later days) and are reported once.

    A threshold is inferred over all series of one watch, so the fallback's thresholds come from
    fewer series: a fallback, not the same decision."""
    healthy = [s for s in series if s.key.model not in failed]
    start, end = day[0].start, day[-1].end
    try:
        return watch(
            healthy,
            start=start,
            end=end,
            policy=policy,
            excluded=excluded,
            abnormal=abnormal,
            memo=memo,
        )
    except Exception:  # found again, and reported, model by model below
        watched: dict[SeriesKey, WatchedSeries] = {}
        anomalies: list[Anomaly] = []
        for model in sorted({s.key.model for s in healthy}):
            mine = [s for s in healthy if s.key.model == model]
            try:
                result = watch(
                    mine,
                    start=start,
                    end=end,
                    policy=policy,
                    excluded=excluded,
                    abnormal=abnormal,
                    memo=memo,
                )
            except Exception as err:  # one model's failure must not blind the others
                failed.add(model)
                on_failure(model_failure(model, "detect", err))
                continue
            watched.update(result.watched)
            anomalies.extend(result.anomalies)
        ordered = sorted(anomalies, key=lambda a: (a.timestamp, str(a.key)))
        return WatchResult(watched=watched, anomalies=tuple(ordered))


def _decide_incidents(
    store: Store,
    series: Sequence[Series],
    due: Sequence[Window],
    policy: WatchPolicy,
    config: VigilConfig,
    now: datetime,
    on_failure: Callable[[ModelFailure], None],
) -> tuple[WatchResult, list[Incident], FilterOutcome]:
    """Detect, group, attribute and write the due windows' anomalies and incidents, from the
    incidents as stored when the cycle reads them.

    The write is conditional on the revisions read (:meth:`~vigil.store.IncidentStore.put`):
    when another writer changed one of them meanwhile (a person's "false alarm" on the
    dashboard, which resolves the incident and silences its series), the cycle reads again and
    decides again from there, up to :data:`WRITE_ATTEMPTS` times, so the verdict stands instead
    of being written over with the incident as the cycle had it. Only incidents the cycle
    changed are written: a live incident it left as it was keeps its revision.
    """
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        stored = {incident.id: incident for incident in store.incidents.get()}
        failures: list[ModelFailure] = []
        watched, decided, outcome = _watch_and_group(
            store, stored.values(), series, due, policy, config, now, failures.append
        )
        decided = attribute_incidents(store, decided, window=config.window)
        incidents = [replace(i, revision=_revision(stored.get(i.id))) for i in decided]
        store.anomalies.replace(watched.anomalies, start=due[0].start, end=due[-1].end)
        try:
            store.incidents.put(i for i in incidents if stored.get(i.id) != i)
        except ConflictError as err:
            if attempt == WRITE_ATTEMPTS:
                raise
            logger.info("incidents changed while the cycle decided, deciding again: %s", err)
            continue
        for failure in failures:
            on_failure(failure)
        return watched, incidents, outcome
    raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover


def _revision(incident: Incident | None) -> int:
    return 0 if incident is None else incident.revision


def _watch_and_group(
    store: Store,
    stored: Iterable[Incident],
    series: Sequence[Series],
    due: Sequence[Window],
    policy: WatchPolicy,
    config: VigilConfig,
    now: datetime,
    on_failure: Callable[[ModelFailure], None],
) -> tuple[WatchResult, list[Incident], FilterOutcome]:
    """Detect and group the due windows a day at a time.

    A day's detection leaves out of each series' baseline the steps that the incidents open at
    the day's start hold (:func:`baseline_exclusions`), so an incident longer than the
    baseline's memory is still judged against what was normal before it, in a replay of a
    month as in a live run that watches one hour at a time.
    """
    filters, grouping = config.filter_settings(), config.grouping_settings()
    lead = filters.step * (filters.duration_n - 1)
    known = _before(stored, due[0].start, grouping.resolve_after)
    live = [i for i in known if i.state is not IncidentState.RESOLVED]
    silences = store.silences.get()
    earlier = store.anomalies.get(
        since=due[0].start - filters.step * filters.duration_n, until=due[0].start
    )
    touched: dict[str, Incident] = {}
    held = {i.id: i for i in known if i.last_anomaly_at >= due[0].start - policy.lookback}
    watched: dict[SeriesKey, WatchedSeries] = {}
    anomalies: list[Anomaly] = []
    removed: dict[str, int] = {}
    outcome = FilterOutcome(kept=(), reports=())
    failed: set[str] = set()
    memo = EvidenceMemo()  # each series' raw evidence, computed on its first day only
    for day in _days(due):
        result = _watch(
            series,
            day=day,
            policy=policy,
            excluded=baseline_exclusions(live, lead=lead),
            abnormal=abnormal_periods(list(held.values()), lead=lead, step=filters.step),
            failed=failed,
            on_failure=on_failure,
            memo=memo,
        )
        watched.update(result.watched)
        live, outcome = advance_incidents(
            live,
            result.anomalies,
            earlier=earlier,
            silences=silences,
            due=day,
            series=series,
            filters=filters,
            grouping=grouping,
            now=now,
        )
        touched.update((i.id, i) for i in live)
        held.update((i.id, i) for i in live)
        live = [i for i in live if i.state is not IncidentState.RESOLVED]
        earlier = [*earlier, *result.anomalies]
        anomalies.extend(result.anomalies)
        for report in outcome.reports:
            removed[report.name] = removed.get(report.name, 0) + report.removed
    totals = tuple(FilterReport(name=name, removed=count) for name, count in removed.items())
    outcome = replace(outcome, reports=totals)
    result = WatchResult(watched=watched, anomalies=tuple(anomalies))
    return result, sorted(touched.values(), key=lambda i: (i.opened_at, i.id)), outcome


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


def _before(
    stored: Iterable[Incident], moment: datetime, resolve_after: timedelta
) -> list[Incident]:
    """The incidents just before ``moment``, as they were then (see :func:`as_of`): a re-run
    of windows starts from where the first run of them started."""
    found = [as_of(i, moment, resolve_after) for i in stored]
    return [i for i in found if i is not None]


def _days(due: Sequence[Window]) -> list[list[Window]]:
    """The due windows cut at UTC midnights."""
    days: dict[object, list[Window]] = {}
    for window in due:
        days.setdefault(window.start.date(), []).append(window)
    return list(days.values())


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
    )


def _due_slice(series: Series, due: Sequence[Window]) -> tuple[int, int]:
    times = series.timestamps
    begin = np.datetime64(due[0].start.replace(tzinfo=None), "s")
    return int(np.searchsorted(times, begin)), len(times)
