"""A small deterministic data set for the dashboard: two models, two days, one real incident.

Built the way the pipeline builds its data (records -> validated chunk -> profiles -> health
and drift series -> detector -> incidents), only smaller, so the browser tests and a first look
at ``vigil serve --sample`` show real pages without the full ``vigil demo``. The ``ranker``
model's ``age`` feature jumps by five standard deviations for the last hours, which opens an
incident; one of its features has a name made of HTML, to show that names are escaped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from vigil.detect import Anomaly, RollingMAD
from vigil.incidents import GroupingSettings, Incident, update_incidents
from vigil.ingest import records_to_chunk
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.stats import Reference, Series, StatsSpec, drift_series, health_series
from vigil.store import Store

HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"
"""A feature name that would run script if a page inserted it as HTML."""
SHIFT_HOURS = 4


def sample_records(
    *, end: datetime, hours: int = 48, rows_per_hour: int = 40
) -> list[dict[str, Any]]:
    """Records of ``hours`` whole hours before ``end`` (floored to the hour), seeded."""
    rng = np.random.default_rng(7)
    last = end.replace(minute=0, second=0, microsecond=0)
    records: list[dict[str, Any]] = []
    for hour in range(hours):
        start = last - timedelta(hours=hours - hour)
        shifted = hour >= hours - SHIFT_HOURS
        for model, version in (("ranker", "v2"), ("fraud", "v1")):
            for i in range(rows_per_hour):
                age_shift = 50.0 if shifted and model == "ranker" else 0.0
                hostile_shift = 0.5 if shifted and model == "fraud" else 0.0
                records.append(
                    {
                        "model": model,
                        "version": version,
                        "timestamp": (
                            start + timedelta(seconds=3600 * i / rows_per_hour)
                        ).isoformat(),
                        "features": {
                            "age": float(rng.normal(40.0 + age_shift, 10.0)),
                            "country": str(rng.choice(["DE", "FR", "US"])),
                            HOSTILE_FEATURE: float(rng.random() + hostile_shift),
                        },
                        "outputs": {"score": float(rng.beta(2, 5))},
                        "latency_ms": float(rng.gamma(4.0, 3.0)),
                    }
                )
    return records


def sample_data(
    *, now: datetime, hours: int = 48
) -> tuple[list[Profile], list[Series], list[Incident]]:
    """Profiles, health + drift series and the incidents a MAD detector raises on them."""
    chunk = records_to_chunk(sample_records(end=now, hours=hours), source="sample", now=None)
    profiles = list(profile_batch(chunk.batch, ProfileSpec()).values())
    spec = StatsSpec(reference=Reference.trailing(timedelta(hours=12)))
    series = health_series(profiles, spec) + drift_series(profiles, None, spec)
    # A strict level: on 48 points per series, noise alone should raise nothing.
    detector = RollingMAD(window=24, min_periods=12, level=0.9999)
    anomalies: list[Anomaly] = []
    watched = [s for s in series if s.key.family == "feature" and s.key.statistic == "mean"]
    for detection in detector.predict(watched):
        anomalies += detection.anomalies(detector.name)
    incidents = update_incidents([], anomalies, now=now, settings=GroupingSettings())
    return profiles, series, incidents


def seed_sample(store: Store, *, now: datetime, hours: int = 48) -> list[Incident]:
    """Write the sample data set into ``store``; returns its incidents."""
    profiles, series, incidents = sample_data(now=now, hours=hours)
    store.profiles.put(profiles, now=now)
    store.series.put(series)
    store.anomalies.replace(
        [a for incident in incidents for a in incident.anomalies],
        start=now - timedelta(hours=hours + 1),
        end=now + timedelta(hours=1),
    )
    store.incidents.put(incidents)
    return incidents
