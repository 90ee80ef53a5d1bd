"""Anomalies of the due windows -> filtered, grouped incidents, window by window.

Values in, values out: the runner loads what this needs from the store (the earlier anomalies,
the silences, the live incidents) and saves what it returns.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from vigil.core import Family, SeriesKey, Window
from vigil.detect import Anomaly
from vigil.incidents import (
    FilterOutcome,
    FilterSettings,
    GroupingSettings,
    Incident,
    IncidentState,
    Silence,
    apply_filters,
    fold_platform_incidents,
    update_incidents,
)
from vigil.stats import Series

WRITE_ATTEMPTS = 3
"""How often a writer of incidents (a cycle, the real-time hub, a verdict) reads and applies its
change again when another writer changed the same incidents between its read and its write (the
store's writes are conditional on the revision read: :class:`~vigil.core.ConflictError`)."""


def advance_incidents(
    previous: Sequence[Incident],
    anomalies: Sequence[Anomaly],
    *,
    earlier: Sequence[Anomaly],
    silences: Sequence[Silence],
    due: Sequence[Window],
    series: Sequence[Series],
    filters: FilterSettings,
    grouping: GroupingSettings,
    now: datetime,
) -> tuple[list[Incident], FilterOutcome]:
    """Filter the anomalies, then fold them into the ``previous`` live incidents one window at
    a time.

    ``earlier`` anomalies (the ``duration_n`` steps before the due windows) take part in the
    duration filter only, so a two-of-three rule spans the boundary between runs.
    """
    outcome = apply_filters(
        [*earlier, *anomalies],
        filters,
        silences=[s for s in silences if s.expires > due[0].start],
        traffic_share=_traffic_shares(series),
    )
    kept = [a for a in outcome.kept if a.timestamp >= due[0].start]
    incidents = list(previous)
    by_window = _by_window(kept, due)
    for window in due:
        incidents = update_incidents(
            incidents,
            by_window.get(window, []),
            now=min(window.end, now),
            settings=grouping,
            downgraded=outcome.downgraded_versions,
        )
    models = {s.key.model for s in series}
    folded = fold_platform_incidents(incidents, total_models=len(models), settings=grouping)
    return folded, outcome


def _by_window(anomalies: Sequence[Anomaly], due: Sequence[Window]) -> dict[Window, list[Anomaly]]:
    grouped: dict[Window, list[Anomaly]] = {}
    starts = [w.start for w in due]
    for anomaly in anomalies:
        index = bisect.bisect_right(starts, anomaly.timestamp) - 1
        if 0 <= index < len(due) and due[index].contains(anomaly.timestamp):
            grouped.setdefault(due[index], []).append(anomaly)
    return grouped


def _traffic_shares(series: Sequence[Series]) -> dict[tuple[str, str], float]:
    """Each version's latest known share of its model's traffic."""
    shares: dict[tuple[str, str], float] = {}
    for one in series:
        if one.key.family == Family.AUXILIARY and one.key.statistic == "traffic_ratio":
            known = one.values[~np.isnan(one.values)]
            if known.size:
                shares[(one.key.model, one.key.version)] = float(known[-1])
    return shares


def baseline_exclusions(
    incidents: Sequence[Incident], *, lead: timedelta
) -> dict[SeriesKey, datetime]:
    """For every series an open incident holds: from when its steps stay out of its baseline.

    ``lead`` reaches back over the steps the duration filter needed before the incident opened
    (they were already abnormal). A resolved incident gives its windows back: the problem is
    over, and a baseline robust to a minority of odd days handles what is left.
    """
    since: dict[SeriesKey, datetime] = {}
    for incident in incidents:
        if incident.state is IncidentState.RESOLVED:
            continue
        start = incident.opened_at - lead
        for key in incident.series:
            since[key] = min(since.get(key, start), start)
    return since


def abnormal_periods(
    incidents: Sequence[Incident], *, lead: timedelta, step: timedelta
) -> dict[SeriesKey, list[tuple[datetime, datetime]]]:
    """For every series any incident (open or resolved) held, the periods it held it: from
    ``lead`` before it opened to the step after its last anomaly."""
    periods: dict[SeriesKey, list[tuple[datetime, datetime]]] = {}
    for incident in incidents:
        span = (incident.opened_at - lead, incident.last_anomaly_at + step)
        for key in incident.series:
            periods.setdefault(key, []).append(span)
    return periods
