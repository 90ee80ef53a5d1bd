"""Deciding a cycle's incidents: detect the due windows a day at a time, group the anomalies
into incidents, and write them against the revisions read.

:func:`decide_incidents` is the runner's step between the series and the reports. A replay of a
month and a live run that watches one hour at a time decide alike: each day is watched with the
incidents open at its start left out of the baselines, so an incident longer than the baseline's
memory is still judged against what was normal before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial

from vigil.core import ConflictError, SeriesKey, Window
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
from vigil.pipeline.watch import WatchedSeries, WatchPolicy, WatchResult, watch
from vigil.stats import Series
from vigil.store import Store

logger = logging.getLogger(__name__)


def decide_incidents(
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
    watch_day = partial(
        watch,
        start=day[0].start,
        end=day[-1].end,
        policy=policy,
        excluded=excluded,
        abnormal=abnormal,
        memo=memo,
    )
    try:
        return watch_day(healthy)
    except Exception:  # found again, and reported, model by model below
        watched: dict[SeriesKey, WatchedSeries] = {}
        anomalies: list[Anomaly] = []
        for model in sorted({s.key.model for s in healthy}):
            try:
                result = watch_day([s for s in healthy if s.key.model == model])
            except Exception as err:  # one model's failure must not blind the others
                failed.add(model)
                on_failure(model_failure(model, "detect", err))
                continue
            watched.update(result.watched)
            anomalies.extend(result.anomalies)
        ordered = sorted(anomalies, key=lambda a: (a.timestamp, str(a.key)))
        return WatchResult(watched=watched, anomalies=tuple(ordered))


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
    month as in a live run that watches one hour at a time. When an incident opens before the
    day's last window, the windows after the one it opened in are decided again, with its
    series left out from then on (:func:`_opened_before_end`), as a live run's next hour would
    be: a 5-hour outage must not teach the detector that no traffic is normal, and the return
    of traffic must not open "traffic up 61,631%".
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
        pending = day
        while pending:
            advance = partial(
                advance_incidents,
                live,
                earlier=earlier,
                silences=silences,
                series=series,
                filters=filters,
                grouping=grouping,
                now=now,
            )
            result = _watch(
                series,
                day=pending,
                policy=policy,
                excluded=baseline_exclusions(live, lead=lead),
                abnormal=abnormal_periods(list(held.values()), lead=lead, step=filters.step),
                failed=failed,
                on_failure=on_failure,
                memo=memo,
            )
            advanced, outcome = advance(result.anomalies, due=pending)
            cut = _opened_before_end(advanced, live, pending)
            if cut < len(pending):  # decide the windows after the opening again, without it
                kept = tuple(a for a in result.anomalies if a.timestamp < pending[cut].start)
                result = replace(result, anomalies=kept)
                advanced, outcome = advance(kept, due=pending[:cut])
            pending = pending[cut:]
            watched.update(result.watched)
            touched.update((i.id, i) for i in advanced)
            held.update((i.id, i) for i in advanced)
            live = [i for i in advanced if i.state is not IncidentState.RESOLVED]
            earlier = [*earlier, *result.anomalies]
            anomalies.extend(result.anomalies)
            for report in outcome.reports:
                removed[report.name] = removed.get(report.name, 0) + report.removed
    totals = tuple(FilterReport(name=name, removed=count) for name, count in removed.items())
    outcome = replace(outcome, reports=totals)
    result = WatchResult(watched=watched, anomalies=tuple(anomalies))
    return result, sorted(touched.values(), key=lambda i: (i.opened_at, i.id)), outcome


def _opened_before_end(
    advanced: Sequence[Incident], live: Sequence[Incident], windows: Sequence[Window]
) -> int:
    """How many of ``windows`` stand as decided: up to and including the window in which the
    first incident not in ``live`` opened (whether or not it has resolved by the last: while
    open, it held its series), or all of them when none opened before the last.

    The window is the opening's or the first one, whichever is later: an incident is known
    from the window that opened it, and decisions before ``windows`` are not taken again."""
    before = {i.id for i in live}
    opened = [i.opened_at for i in advanced if i.id not in before and i.series]
    if not opened:
        return len(windows)
    first = min(opened)
    within = sum(1 for window in windows if window.start <= first)
    return max(within, 1)


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
