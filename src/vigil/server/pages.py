"""What the dashboard's model page shows: families of charts, a drift heat map, incidents.

Assembled from the store per request. Bands are a rolling median ± MAD band
(:class:`vigil.detect.RollingMAD`, causal, computed on the shown series): a display aid that
says what "normal" looked like; the red dots are the anomalies the pipeline actually raised,
taken from the model's incidents with their own evidence.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from markupsafe import Markup

from vigil.core import Family, SeriesKey
from vigil.detect import Anomaly, RollingMAD
from vigil.incidents import Incident
from vigil.report import Light
from vigil.server.charts import Plot, format_number, series_svg
from vigil.server.views import ModelSummary, model_summary
from vigil.stats import Series
from vigil.store import Store

CURATED: dict[str, tuple[str, ...]] = {
    Family.FEATURE.value: ("mean", "p50", "p99", "null_rate"),
    Family.OUTPUT.value: ("mean", "p50", "p95", "drift_psi"),
    Family.AUXILIARY.value: ("rows", "latency_p50", "latency_p99", "quarantine_rate"),
    # realised beside estimated, over the trailing day (an hour holds few labels)
    Family.PERFORMANCE.value: (
        "accuracy_1d",
        "estimated_accuracy_1d",
        "roc_auc_1d",
        "estimated_roc_auc_1d",
        "mae_1d",
        "rmse_1d",
    ),
}
"""Statistics charted by default; series with anomalies are always charted, ``?all=1`` shows all."""
DRIFT_STATISTICS = ("ks", "linf", "psi")
"""Per column, the first of these present is shown in the heat map."""
PSI_LEVELS = (0.1, 0.25)
KS_C_05, KS_C_001 = 1.358, 1.949
"""Two-sample KS critical coefficients c(α) at α = 0.05 and 0.001: D > c(α)·sqrt((n+m)/(n·m))."""
HEAT_WINDOWS = 48


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartView:
    key: SeriesKey
    title: str
    svg: Markup
    latest: str
    anomalies: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FamilyView:
    name: str
    light: Light
    charts: tuple[ChartView, ...]
    hidden: int
    """Series of this family not charted (see ``?all=1``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HeatCell:
    value: str
    level: int
    """0 calm, 1 moderate, 2 large drift, -1 no value."""
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftHeat:
    statistic: str
    windows: tuple[str, ...]
    rows: tuple[tuple[str, tuple[HeatCell, ...]], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPage:
    summary: ModelSummary
    families: tuple[FamilyView, ...]
    drift: DriftHeat | None
    incidents: tuple[Incident, ...]
    version: str | None
    hours: float


def model_page(
    store: Store,
    model: str,
    *,
    now: datetime,
    hours: float,
    version: str | None,
    show_all: bool,
) -> ModelPage:
    incidents = store.incidents.get(model=model)
    summary = model_summary(store, model, incidents, now=now)
    since = now - timedelta(hours=hours)
    series = store.series.get(model=model, version=version, since=since)
    # Every anomaly the pipeline raised, including those filters kept out of incidents.
    raised = store.anomalies.get(model=model, since=since)
    anomalies: dict[SeriesKey, list[Anomaly]] = defaultdict(list)
    seen: set[tuple[SeriesKey, datetime]] = set()
    for anomaly in [a for i in incidents for a in i.anomalies] + raised:
        if (anomaly.key, anomaly.timestamp) not in seen:
            seen.add((anomaly.key, anomaly.timestamp))
            anomalies[anomaly.key].append(anomaly)
    families = []
    for family in CURATED:
        members = [s for s in series if s.key.family == family and np.isfinite(s.values).any()]
        if family == Family.PERFORMANCE.value and not members:
            continue  # a model without labels has no performance section
        shown = [
            s
            for s in members
            if show_all or s.key in anomalies or _curated(family, s.key.statistic)
        ]
        shown.sort(
            key=lambda s: (s.key not in anomalies, s.key.column, s.key.statistic, s.key.version)
        )
        families.append(
            FamilyView(
                name=family,
                light=summary.lights[family],
                charts=tuple(chart_view(s, anomalies.get(s.key, [])) for s in shown),
                hidden=len(members) - len(shown),
            )
        )
    drift = drift_heat([s for s in series if s.key.family == Family.DRIFT.value])
    return ModelPage(
        summary=summary,
        families=tuple(families),
        drift=drift,
        incidents=tuple(sorted(incidents, key=lambda i: i.opened_at, reverse=True)),
        version=version,
        hours=hours,
    )


def incident_charts(
    store: Store, incident: Incident, *, now: datetime, limit: int = 6
) -> list[ChartView]:
    """Charts of the incident's most severe series, from two days before it opened until now."""
    keys = incident.series[:limit]
    since = incident.opened_at - timedelta(days=2)
    until = incident.resolved_at + timedelta(days=1) if incident.resolved_at else now
    anomalies: dict[SeriesKey, list[Anomaly]] = defaultdict(list)
    for anomaly in incident.anomalies:
        anomalies[anomaly.key].append(anomaly)
    found: dict[SeriesKey, Series] = {}
    for model in sorted({key.model for key in keys}):
        for one in store.series.get(model=model, since=since):
            if one.key in keys:
                found[one.key] = _until(one, until)
    return [chart_view(found[key], anomalies[key]) for key in keys if key in found]


def _until(series: Series, until: datetime) -> Series:
    stop = int(np.searchsorted(series.timestamps, np.datetime64(until.replace(tzinfo=None), "s")))
    return series.slice(0, stop)


def chart_view(series: Series, anomalies: Sequence[Anomaly]) -> ChartView:
    band = RollingMAD().band(series) if len(series) >= 2 else None
    seconds = series.timestamps.astype("datetime64[s]").astype(np.int64)
    plot = Plot(
        seconds=seconds,
        values=series.values,
        lower=None if band is None else band.lower,
        upper=None if band is None else band.upper,
        anomalies=tuple(anomalies),
    )
    key = series.key
    title = f"{key.column} · {key.statistic}" if key.column else key.statistic
    if key.version:
        title += f" ({key.version})"
    finite = series.values[np.isfinite(series.values)]
    return ChartView(
        key=key,
        title=title,
        svg=series_svg(plot, label=f"{key}"),
        latest=format_number(float(finite[-1])) if len(finite) else "–",
        anomalies=len(anomalies),
    )


def drift_heat(series: Sequence[Series]) -> DriftHeat | None:
    """Feature × window drift: KS distance for numbers, L∞ of category shares for categories.

    Both are distances between two distributions' CDFs (share vectors), so one colour rule fits
    both, and that rule accounts for sample size: a cell is *moderate* past the two-sample KS
    critical value at 5% and *large* past the one at 0.1%, taking ``n = m = support`` (the
    smaller sample, which makes the bound conservative). A distance of 0.3 on 40 rows is noise;
    on 4,000 rows it is not. Columns with neither statistic fall back to PSI's usual 0.1/0.25.
    """
    by_column: dict[tuple[str, str], dict[str, Series]] = defaultdict(dict)
    for one in series:
        by_column[(one.key.column, one.key.version)][one.key.statistic] = one
    chosen = [
        next((found[name] for name in DRIFT_STATISTICS if name in found), None)
        for _, found in sorted(by_column.items())
    ]
    picked = [one for one in chosen if one is not None]
    if not picked:
        return None
    stamps = np.unique(np.concatenate([s.timestamps for s in picked]))[-HEAT_WINDOWS:]
    rows = []
    for one in picked:
        support = one.support if one.support is not None else np.full(len(one), np.nan)
        lookup = {
            stamp: (value, rows_)
            for stamp, value, rows_ in zip(
                one.timestamps.tolist(), one.values.tolist(), support.tolist(), strict=True
            )
        }
        cells = []
        for stamp in stamps.tolist():
            value, rows_ = lookup.get(stamp, (math.nan, math.nan))
            statistic = one.key.statistic
            cells.append(
                HeatCell(
                    value=format_number(value),
                    level=drift_level(statistic, value, rows_),
                    title=f"{one.key.column}: {statistic} {format_number(value)} "
                    f"on {format_number(rows_)} rows at {stamp:%Y-%m-%d %H:%M}",
                )
            )
        name = one.key.column + (f" ({one.key.version})" if one.key.version else "")
        rows.append((f"{name} · {one.key.statistic}", tuple(cells)))
    windows = tuple(f"{stamp:%d %H:%M}" for stamp in stamps.tolist())
    return DriftHeat(statistic="KS / L∞", windows=windows, rows=tuple(rows))


def drift_level(statistic: str, value: float, support: float) -> int:
    """0 calm, 1 moderate, 2 large, -1 no value (see :func:`drift_heat`)."""
    if not math.isfinite(value):
        return -1
    if statistic in ("ks", "linf") and math.isfinite(support) and support > 0:
        scale = math.sqrt(2.0 / support)
        moderate, large = KS_C_05 * scale, KS_C_001 * scale
    else:
        moderate, large = PSI_LEVELS
    return 2 if value >= large else 1 if value >= moderate else 0


def _curated(family: str, statistic: str) -> bool:
    return statistic in CURATED.get(family, ())
