"""Give latency and traffic incidents the hosts and tag values that carry them, from profiles.

The incidents stage scores (:mod:`vigil.incidents.attribution`); this module loads what it
scores: the profiles of the incident's first anomalous windows and of the same hours on the
days before, which hold per-host latency histograms and per-tag value counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from vigil.incidents import (
    Attribution,
    Incident,
    IncidentKind,
    attribute_latency,
    attribute_traffic,
    subject_of,
    with_attribution,
)
from vigil.profile import LogHistogram, Profile
from vigil.store import Store

WINDOWS = 6
"""The incident's first anomalous windows that are attributed: where it started is the news."""
REFERENCE_DAYS = 7
DAY = timedelta(days=1)


def attribute_incidents(
    store: Store, incidents: Sequence[Incident], *, window: timedelta
) -> list[Incident]:
    """``incidents`` (those a cycle touched) with the latency and traffic ones attributed,
    once each: where an incident started does not change."""
    return [
        _attributed(store, incident, window)
        if not incident.attribution
        and incident.kind in (IncidentKind.LATENCY, IncidentKind.TRAFFIC)
        else incident
        for incident in incidents
    ]


def _attributed(store: Store, incident: Incident, window: timedelta) -> Incident:
    subject = "latency" if incident.kind is IncidentKind.LATENCY else "traffic"
    starts = sorted({a.timestamp for a in incident.anomalies if subject_of(a.key) == subject})
    starts = starts[:WINDOWS]
    if not starts:
        return incident
    current = _profiles(store, incident.model, starts, window)
    reference = _profiles(
        store,
        incident.model,
        [t - k * DAY for t in starts for k in range(1, REFERENCE_DAYS + 1)],
        window,
    )
    if not current or not reference:
        return incident
    if incident.kind is IncidentKind.LATENCY:
        found = _latency(current, reference)
    else:
        found = _traffic(current, reference)
    return with_attribution(incident, found) if found else incident


def _profiles(
    store: Store, model: str, starts: Sequence[datetime], window: timedelta
) -> list[Profile]:
    wanted = set(starts)
    loaded = store.profiles.get(
        model=model, start=min(starts), end=max(starts) + window, duration=window
    )
    return [p for p in loaded if p.key.window.start in wanted]


def _latency(current: Sequence[Profile], reference: Sequence[Profile]) -> list[Attribution]:
    hosts: dict[str, list[LogHistogram]] = {}
    for profile in current:
        for host, histogram in profile.host_latency.items():
            hosts.setdefault(host, []).append(histogram)
    normal = [p.latency.histogram for p in reference if p.latency.histogram is not None]
    if not hosts or not normal:
        return []
    merged = {host: LogHistogram.merge_all(parts) for host, parts in hosts.items()}
    return attribute_latency(merged, LogHistogram.merge_all(normal))


def _traffic(current: Sequence[Profile], reference: Sequence[Profile]) -> list[Attribution]:
    found = attribute_traffic("host", _host_counts(current), _host_counts(reference))
    tags = sorted({name for p in [*current, *reference] for name in p.tags})
    for tag in tags:
        found += attribute_traffic(
            f"tag:{tag}", _tag_counts(current, tag), _tag_counts(reference, tag)
        )
    return sorted(found, key=lambda a: (-a.share, a.dimension, a.value))[:3]


def _host_counts(profiles: Sequence[Profile]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for profile in profiles:
        for host, histogram in profile.host_latency.items():
            counts[host] += histogram.total
    return counts


def _tag_counts(profiles: Sequence[Profile], tag: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for profile in profiles:
        items = profile.tags.get(tag)
        if items is not None:
            for value, count in items.items():
                counts[value] += count
    return counts
