"""Anomalies of the due windows -> filtered, grouped incidents, window by window."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from vigil.core import Family, Window
from vigil.detect import Anomaly
from vigil.incidents import (
    FilterOutcome,
    Incident,
    IncidentState,
    apply_filters,
    fold_platform_incidents,
    update_incidents,
)
from vigil.pipeline.config import VigilConfig
from vigil.stats import Series
from vigil.store import Store


def advance_incidents(
    store: Store,
    anomalies: Sequence[Anomaly],
    *,
    due: Sequence[Window],
    series: Sequence[Series],
    config: VigilConfig,
    now: datetime,
) -> tuple[list[Incident], FilterOutcome]:
    """Filter the anomalies, then fold them into the stored incidents one window at a time.

    Earlier anomalies (before the due windows) take part in the duration filter only, so a
    two-of-three rule spans the boundary between runs.
    """
    settings = config.filter_settings()
    earlier = store.anomalies.get(
        since=due[0].start - settings.step * settings.duration_n, until=due[0].start
    )
    outcome = apply_filters(
        [*earlier, *anomalies],
        settings,
        silences=[s for s in store.silences.get() if s.expires > due[0].start],
        traffic_share=_traffic_shares(series),
    )
    kept = [a for a in outcome.kept if a.timestamp >= due[0].start]
    grouping = config.grouping_settings()
    incidents = store.incidents.get(states={IncidentState.OPEN, IncidentState.UPDATED})
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
