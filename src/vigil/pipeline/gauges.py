"""The latest health of every model version, read from the store: what Prometheus is shown.

One value per model version and statistic, from the latest window with rows (within
``lookback`` of ``now``), so a Grafana panel plots the same numbers the detectors watched. Label
sets stay bounded whatever the data: drift only for the ``top_features`` features with the
highest PSI, missing and constant flags only for the first ``top_features`` flagged features
(with their full counts beside them), open incidents by the kind they opened with.

Quarantined rows are counted per model, not per version: a row that fails validation may have
no readable version.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import ALL_VERSIONS, Family
from vigil.incidents import IncidentState, opening_problem
from vigil.stats import Series
from vigil.store import Store

DEFAULT_LOOKBACK = timedelta(days=2)
DEFAULT_TOP_FEATURES = 10
DRIFT_STATISTIC = "psi"
"""The drift score exported per feature: defined for numeric and categorical columns alike."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionGauges:
    """One model version's latest window, as the numbers Prometheus is given."""

    model: str
    version: str
    window_start: datetime | None
    """Start of the latest window with rows; ``None`` when there is none within the lookback."""
    requests: float = math.nan
    rows: float = math.nan
    latency_ms: dict[str, float] = field(default_factory=dict)
    """By quantile level as Prometheus writes it (``"0.99"``)."""
    drift: tuple[tuple[str, float], ...] = ()
    """The top features by drift score, highest first."""
    missing: tuple[str, ...] = ()
    missing_count: int = 0
    constant: tuple[str, ...] = ()
    constant_count: int = 0
    open_incidents: dict[str, int] = field(default_factory=dict)
    """By the kind each open incident opened with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelGauges:
    """Every version of one model, and the model's quarantined rows in its latest window."""

    model: str
    versions: tuple[VersionGauges, ...]
    quarantined_rows: float = math.nan


def read_gauges(
    store: Store,
    *,
    now: datetime,
    lookback: timedelta = DEFAULT_LOOKBACK,
    top_features: int = DEFAULT_TOP_FEATURES,
) -> list[ModelGauges]:
    """The gauges of every model in ``store`` (see the module docstring)."""
    since = now - lookback
    found = []
    for model in store.profiles.models():
        by_version: dict[str, list[Series]] = defaultdict(list)
        for one in store.series.get(model=model, since=since):
            if one.key.version != ALL_VERSIONS:  # the versions' gauges add up to the model's
                by_version[one.key.version].append(one)
        incidents = store.incidents.get(model=model, states={IncidentState.OPEN})
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for incident in incidents:
            kinds[incident.version][opening_problem(incident).kind.value] += 1
        versions = tuple(
            _version_gauges(
                model, version, by_version.get(version, []), kinds[version], top_features
            )
            for version in sorted(set(by_version) | set(kinds))
        )
        starts = [v.window_start for v in versions if v.window_start is not None]
        quarantined = math.nan
        if starts:
            latest = max(starts)
            quarantined = float(
                sum(
                    c.rows
                    for c in store.quarantine.counts(model=model, since=latest)
                    if c.window_start == latest
                )
            )
        found.append(ModelGauges(model=model, versions=versions, quarantined_rows=quarantined))
    return found


def _version_gauges(
    model: str, version: str, series: Sequence[Series], kinds: Counter[str], top: int
) -> VersionGauges:
    rows = next(
        (s for s in series if s.key.family == Family.AUXILIARY and s.key.statistic == "rows"), None
    )
    latest = _latest_with_value(rows) if rows is not None else None
    if latest is None:
        return VersionGauges(
            model=model, version=version, window_start=None, open_incidents=dict(kinds)
        )
    values = {s.key: value for s in series if not math.isnan(value := _value_at(s, latest))}
    auxiliary = {k.statistic: v for k, v in values.items() if k.family == Family.AUXILIARY}
    drift = sorted(
        (
            (k.column, v)
            for k, v in values.items()
            if k.family == Family.DRIFT and k.statistic == DRIFT_STATISTIC and not k.segment
        ),
        key=lambda item: (-item[1], item[0]),
    )
    flagged = {
        flag: sorted(
            k.column
            for k, v in values.items()
            if k.family == Family.FEATURE and k.statistic == flag and v >= 1
        )
        for flag in ("missing", "constant")
    }
    return VersionGauges(
        model=model,
        version=version,
        window_start=datetime.fromtimestamp(
            int(latest.astype("datetime64[s]").astype(np.int64)), UTC
        ),
        requests=auxiliary.get("requests", math.nan),
        rows=auxiliary.get("rows", math.nan),
        latency_ms={
            _quantile(name): value
            for name, value in auxiliary.items()
            if name.startswith("latency_p")
        },
        drift=tuple(drift[:top]),
        missing=tuple(flagged["missing"][:top]),
        missing_count=len(flagged["missing"]),
        constant=tuple(flagged["constant"][:top]),
        constant_count=len(flagged["constant"]),
        open_incidents=dict(kinds),
    )


def _latest_with_value(series: Series) -> np.datetime64 | None:
    stamps = series.timestamps[~np.isnan(series.values)]
    return stamps[-1] if len(stamps) else None


def _value_at(series: Series, stamp: np.datetime64) -> float:
    hit = np.flatnonzero(series.timestamps == stamp)
    return float(series.values[hit[0]]) if len(hit) else math.nan


def _quantile(statistic: str) -> str:
    """``latency_p99.9`` -> ``"0.999"``: the level as Prometheus' ``quantile`` label writes it."""
    return f"{float(statistic.removeprefix('latency_p')) / 100:g}"
