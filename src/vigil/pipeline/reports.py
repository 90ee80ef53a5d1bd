"""Gather what the report stage shows: incidents with charts and bands, drift, traffic, latency."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np

from vigil.core import Family, SeriesKey, VigilError, file_stem
from vigil.detect import DEFAULT_DETECTOR, Anomaly, SameHourMedian
from vigil.detect.base import FloatArray
from vigil.incidents import Incident, IncidentState, co_movements
from vigil.pipeline.detection import POLICY_DETECTORS, watch_detector
from vigil.pipeline.failures import ModelFailure, model_failure
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

CHARTS_PER_INCIDENT = 2
INCIDENTS_PER_REPORT = 10
FAMILIES = (Family.FEATURE, Family.OUTPUT, Family.AUXILIARY, Family.DRIFT)


def model_report(
    model: str,
    *,
    series: Sequence[Series],
    incidents: Sequence[Incident],
    anomalies: Sequence[Anomaly],
    now: datetime,
    history_days: int = 7,
    detector: str = DEFAULT_DETECTOR,
) -> ModelReport:
    """The report values of one model from its series, incidents and anomalies.

    Charts draw the band of the ``detector`` that watched the series (one of the policy's),
    so a marked step sits near the band the reader sees."""
    by_key = {s.key: s for s in series if s.key.model == model}
    mine = [
        i
        for i in incidents
        if i.model == model or (i.is_platform and any(a.key.model == model for a in i.anomalies))
    ]
    band_of = _same_hour_band(history_days) if detector == "same-hour" else _detector_band(detector)
    flagged = {(a.key, a.timestamp) for a in anomalies}
    evidence = tuple(
        IncidentEvidence(
            incident=incident,
            charts=tuple(
                _chart(by_key[key], band_of, flagged)
                for key in incident.series[:CHARTS_PER_INCIDENT]
                if key in by_key
            ),
            co_movements=tuple(co_movements(incident, anomalies)[:8]),
        )
        for incident in mine
    )
    times = next(iter(by_key.values())).timestamps if by_key else np.array([], "datetime64[s]")
    start = _as_datetime(times[0]) if len(times) else now
    end = _as_datetime(times[-1]) if len(times) else now
    return ModelReport(
        model=model,
        generated_at=now,
        period_start=start,
        period_end=end,
        lights=family_lights([f.value for f in FAMILIES], mine),
        incidents=evidence,
        drift=_drift_table(by_key),
        traffic=tuple(
            _chart(s, band_of, flagged)
            for k, s in sorted(by_key.items())
            if k.family == Family.AUXILIARY and k.statistic == "requests"
        ),
        latency=tuple(
            _chart(s, band_of, flagged)
            for k, s in sorted(by_key.items())
            if k.family == Family.AUXILIARY and k.statistic == "latency_p99"
        ),
        versions=tuple(sorted({k.version for k in by_key})),
    )


def stored_reports(
    store: Store, *, model: str | None, now: datetime, since: datetime
) -> list[ModelReport]:
    """The report of ``model``, or of every stored model, from what the store holds since ``since``.

    Charts draw the band of the detector that watched each model (``[detect] detector``), known
    from its stored anomalies.
    """
    known = store.profiles.models()
    if model is not None and model not in known:
        raise VigilError(f"no model {model!r} in the store; known: {known}")
    reports = []
    for name in [model] if model is not None else known:
        anomalies = store.anomalies.get(model=name, since=since)
        reports.append(
            model_report(
                name,
                series=store.series.get(model=name, since=since),
                incidents=store.incidents.get(model=name),
                anomalies=anomalies,
                now=now,
                detector=_watching_detector(anomalies),
            )
        )
    return reports


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


BandOf = Callable[[Series], tuple[FloatArray, FloatArray, FloatArray]]


def _watching_detector(anomalies: Sequence[Anomaly]) -> str:
    """The detector whose anomalies these are (the policy's), else the default one."""
    names = {a.detector for a in anomalies} & set(POLICY_DETECTORS)
    return next(iter(sorted(names)), DEFAULT_DETECTOR)


def _detector_band(name: str) -> BandOf:
    # Built once per report, not once per chart; the band the watch policy drew with.
    detector = watch_detector(name)

    def band_of(series: Series) -> tuple[FloatArray, FloatArray, FloatArray]:
        scores = detector.score([series])[0]
        return scores.expected, scores.lower, scores.upper

    return band_of


def _same_hour_band(days: int) -> BandOf:
    detector = SameHourMedian(days=days)

    def band_of(series: Series) -> tuple[FloatArray, FloatArray, FloatArray]:
        band = detector.band(series)
        return band.expected, band.lower, band.upper

    return band_of


def _chart(series: Series, band_of: BandOf, flagged: set[tuple[SeriesKey, datetime]]) -> Chart:
    expected, lower, upper = band_of(series)
    marks = np.array([(series.key, _as_datetime(t)) in flagged for t in series.timestamps])
    return Chart(
        title=str(series.key),
        series=series,
        expected=expected,
        lower=lower,
        upper=upper,
        anomalous=marks,
    )


def _drift_table(by_key: dict[SeriesKey, Series]) -> DriftTable | None:
    drift = sorted(
        (k, s) for k, s in by_key.items() if k.family == Family.DRIFT and k.statistic == "psi"
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
