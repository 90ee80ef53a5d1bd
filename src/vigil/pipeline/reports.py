"""Gather what the report stage shows: incidents with charts and bands, drift, traffic, latency.

Charts draw what the watch decided with (:class:`~vigil.pipeline.watch.WatchResult`), never a
band computed again for display."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np

from vigil.core import ALL_VERSIONS, Family, SeriesKey, VigilError, file_stem
from vigil.incidents import Incident, IncidentState, co_movements
from vigil.pipeline.failures import ModelFailure, model_failure
from vigil.pipeline.watch import WatchedSeries, WatchPolicy, WatchResult, natural_range, watch
from vigil.report import (
    Chart,
    DriftTable,
    ImageMode,
    IncidentEvidence,
    ModelReport,
    RenderedReport,
    family_lights,
    render_digest,
    render_model_report,
)
from vigil.stats import Series
from vigil.store import Store

CHARTS_PER_INCIDENT = 12
"""An incident's implicated series are charted most severe first, up to this many; the report
says how many it left out."""
INCIDENTS_PER_REPORT = 10
FAMILIES = (Family.FEATURE, Family.OUTPUT, Family.AUXILIARY, Family.DRIFT)


def model_report(
    model: str,
    *,
    watched: WatchResult,
    incidents: Sequence[Incident],
    now: datetime,
    notices: Sequence[str] = (),
    series: Sequence[Series] = (),
) -> ModelReport:
    """The report values of one model from what the watch decided.

    Every chart draws the band that decided its series (:mod:`vigil.pipeline.watch`), so a
    marked step is exactly a step outside the band the reader sees. ``series`` holds what the
    watch does not decide and the report shows: label-free performance estimates."""
    mine_watched = {k: w for k, w in watched.watched.items() if k.model == model}
    mine = [
        i
        for i in incidents
        if i.model == model or (i.is_platform and any(a.key.model == model for a in i.anomalies))
    ]
    anomalies = [a for a in watched.anomalies if a.key.model == model]
    evidence = tuple(
        IncidentEvidence(
            incident=incident,
            charts=tuple(
                watched_chart(mine_watched[key])
                for key in incident.series[:CHARTS_PER_INCIDENT]
                if key in mine_watched and _has_data(mine_watched[key])
            ),
            charts_omitted=max(0, len(incident.series) - CHARTS_PER_INCIDENT),
            co_movements=tuple(co_movements(incident, anomalies)[:8]),
        )
        for incident in mine
    )
    known = [w.series.timestamps[~np.isnan(w.series.values)] for w in mine_watched.values()]
    shown = [t for t in known if len(t)]
    start = _as_datetime(min(t[0] for t in shown)) if shown else now
    end = _as_datetime(max(t[-1] for t in shown)) if shown else now
    estimates = {s.key: s for s in series if s.key.model == model}
    performance = tuple(_performance_charts(mine_watched, estimates))
    families = [*FAMILIES, Family.PERFORMANCE] if performance else list(FAMILIES)
    return ModelReport(
        model=model,
        generated_at=now,
        period_start=start,
        period_end=end,
        lights=family_lights([f.value for f in families], mine),
        incidents=evidence,
        drift=_drift_table({k: w.series for k, w in mine_watched.items()}),
        traffic=tuple(_charts_of(mine_watched, TRAFFIC)),
        latency=tuple(_charts_of(mine_watched, LATENCY)),
        performance=performance,
        versions=tuple(sorted({k.version for k in mine_watched if k.version != ALL_VERSIONS})),
        notices=tuple(notices),
    )


TRAFFIC = "requests"
"""The traffic chart plots what counts requests, for the model over all its versions."""
LATENCY = "latency_p99"


def _charts_of(watched: Mapping[SeriesKey, WatchedSeries], statistic: str) -> list[Chart]:
    return [
        watched_chart(one)
        for key, one in sorted(watched.items())
        if key.family == Family.AUXILIARY and key.statistic == statistic and _has_data(one)
    ]


PERFORMANCE = ("accuracy_1d", "roc_auc_1d", "mae_1d", "rmse_1d")
"""Realised performance the report charts, over the trailing day (an hour holds few labels);
per output, not per segment (a segment's performance that left its band is charted with its
incident)."""


def _performance_charts(
    watched: Mapping[SeriesKey, WatchedSeries], estimates: Mapping[SeriesKey, Series]
) -> list[Chart]:
    """Each realised metric with the band that decided it, its estimate drawn beside it."""
    charts = []
    for key, one in sorted(watched.items()):
        if key.family != Family.PERFORMANCE or key.statistic not in PERFORMANCE:
            continue
        if key.segment or not _has_data(one):
            continue
        chart = watched_chart(one)
        guess = estimates.get(replace(key, statistic="estimated_" + key.statistic))
        if guess is not None:
            chart = replace(chart, estimate=_aligned(guess, chart.series))
        charts.append(chart)
    return charts


def _aligned(series: Series, on: Series) -> np.ndarray:
    """``series``' values at ``on``'s timestamps (NaN where it has none)."""
    values = np.full(len(on), np.nan)
    index = np.searchsorted(series.timestamps, on.timestamps)
    found = index < len(series)
    found[found] = series.timestamps[index[found]] == on.timestamps[found]
    values[found] = series.values[index[found]]
    return values


def _has_data(watched: WatchedSeries) -> bool:
    """A series with no value in the period (a window not yet profiled) has nothing to draw."""
    return bool(np.any(~np.isnan(watched.series.values)))


def watched_chart(watched: WatchedSeries) -> Chart:
    """A chart of a watched series: its deciding band, its flags, over the steps with data.

    The band is drawn within the statistic's natural range (rates in [0, 1], counts and
    latencies at least 0), which changes no decision: values never leave that range."""
    series = watched.series
    known = np.flatnonzero(~np.isnan(series.values))
    first, last = (int(known[0]), int(known[-1]) + 1) if known.size else (0, 0)
    low, high = natural_range(series.key)
    return Chart(
        title=str(series.key),
        series=series.slice(first, last),
        expected=np.clip(watched.expected[first:last], low, high),
        lower=np.clip(watched.lower[first:last], low, high),
        upper=np.clip(watched.upper[first:last], low, high),
        anomalous=watched.flags[first:last],
    )


def stored_reports(
    store: Store,
    *,
    model: str | None,
    policy: WatchPolicy,
    now: datetime,
    days: int = 7,
    until: datetime | None = None,
) -> list[ModelReport]:
    """The reports of ``model`` (or every stored model) over ``days`` days to ``until``.

    ``until`` defaults to the end of the latest stored data, not the clock: a replay of March
    reports March. The bands are the watch policy's on the stored series.
    """
    known = store.profiles.models()
    if model is not None and model not in known:
        raise VigilError(f"no model {model!r} in the store; known: {known}")
    names = [model] if model is not None else known
    series = {name: store.series.get(model=name) for name in names}
    end = until if until is not None else latest_data(series.values())
    if end is None:
        return [
            ModelReport(model=n, generated_at=now, period_start=now, period_end=now) for n in names
        ]
    start = end - timedelta(days=days)
    reports = []
    for name in names:
        shown = [s.slice(*_between(s, start - policy.lookback, end)) for s in series[name]]
        watched = watch(shown, start=start, end=end, policy=policy)
        trimmed = WatchResult(
            watched={k: _trim(w, start) for k, w in watched.watched.items()},
            anomalies=watched.anomalies,
        )
        reports.append(
            model_report(
                name,
                watched=trimmed,
                incidents=store.incidents.get(model=name),
                now=now,
                series=shown,
            )
        )
    return reports


def latest_data(series: Iterable[Sequence[Series]]) -> datetime | None:
    """The end of the newest window any of ``series`` has a value in."""
    ends = [
        one.timestamps[~np.isnan(one.values)][-1] + (one.timestamps[1] - one.timestamps[0])
        for group in series
        for one in group
        if len(one) > 1 and bool(np.any(~np.isnan(one.values)))
    ]
    return _as_datetime(max(ends)) if ends else None


def _between(series: Series, start: datetime, end: datetime) -> tuple[int, int]:
    times = series.timestamps
    return (
        int(np.searchsorted(times, np.datetime64(start.replace(tzinfo=None), "s"))),
        int(np.searchsorted(times, np.datetime64(end.replace(tzinfo=None), "s"))),
    )


def _trim(watched: WatchedSeries, start: datetime) -> WatchedSeries:
    """The watched series from ``start`` on: the lookback decided, it is not shown."""
    begin = int(
        np.searchsorted(watched.series.timestamps, np.datetime64(start.replace(tzinfo=None), "s"))
    )
    return replace(
        watched,
        series=watched.series.slice(begin, len(watched.series)),
        expected=watched.expected[begin:],
        lower=watched.lower[begin:],
        upper=watched.upper[begin:],
        flags=watched.flags[begin:],
        score=watched.score[begin:],
    )


def _most_relevant(incidents: list[Incident]) -> list[Incident]:
    """Open incidents first, then the most recent; at most ``INCIDENTS_PER_REPORT``."""
    ranked = sorted(
        incidents,
        key=lambda i: (i.state is IncidentState.RESOLVED, -i.last_anomaly_at.timestamp()),
    )
    return ranked[:INCIDENTS_PER_REPORT]


def write_reports(
    reports: Sequence[ModelReport],
    out: Path,
    on_failure: Callable[[ModelFailure], None] | None = None,
) -> tuple[Path, ...]:
    """One HTML file per model plus ``index.html`` (the digest); returns the paths written.

    A model's file is named by :func:`vigil.core.file_stem` (``a/b``, ``a_b``, ``index`` and a
    256-character Chinese name all get files of their own); the digest is the readable index
    from names to files. With ``on_failure``, a report that cannot be written is reported there
    and the others (and the digest) are still written; without, its error is raised.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    links: dict[str, str] = {}
    for report in reports:
        path = out / f"{file_stem(report.model)}.html"
        try:
            path.write_text(render_model_report(report).html, encoding="utf-8")
        except (OSError, ValueError) as err:
            if on_failure is None:
                raise
            on_failure(model_failure(report.model, "report", err))
            continue
        written.append(path)
        links[report.model] = quote(path.name)
    index = out / "index.html"
    index.write_text(render_digest(reports, links=links).html, encoding="utf-8")
    return (index, *written)


def email_report(report: ModelReport) -> RenderedReport:
    return render_model_report(report, mode=ImageMode.CID)


def _drift_table(by_key: dict[SeriesKey, Series]) -> DriftTable | None:
    # The whole model's columns only: a segment's drift is shown with the incident it raised.
    drift = sorted(
        (k, s)
        for k, s in by_key.items()
        if k.family == Family.DRIFT and k.statistic == "psi" and not k.segment
    )
    if not drift:
        return None
    columns = tuple(f"{k.column} ({k.version})" if k.version else k.column for k, _ in drift)
    times = drift[0][1].timestamps
    step = max(1, len(times) // 96)
    values = np.vstack([s.values[::step] for _, s in drift])
    return DriftTable(
        statistic="psi",
        columns=columns,
        windows=tuple(_as_datetime(t) for t in times[::step]),
        values=values,
    )


def _as_datetime(moment: np.datetime64) -> datetime:
    value: datetime = moment.astype("datetime64[us]").astype(datetime)
    return value.replace(tzinfo=UTC)
