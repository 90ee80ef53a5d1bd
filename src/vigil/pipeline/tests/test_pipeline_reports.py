"""A model report draws the band that decided, over the data it shows, within natural ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import ALL_VERSIONS, SeriesKey
from vigil.incidents import GroupingSettings, update_incidents
from vigil.pipeline.reports import CHARTS_PER_INCIDENT, model_report, watched_chart
from vigil.pipeline.watch import WatchPolicy, watch
from vigil.report import render_model_report
from vigil.stats import Series

NOW = datetime(2026, 11, 12, tzinfo=UTC)
STAMPS = np.datetime64("2026-11-02T00:00", "s") + np.arange(24 * 10) * np.timedelta64(3600, "s")


def _series(version: str, statistic: str, values: np.ndarray) -> Series:
    key = SeriesKey(model="m", version=version, family="auxiliary", column="", statistic=statistic)
    return Series(key=key, timestamps=STAMPS, values=values)


def _requests() -> Series:
    hours = np.arange(24 * 10)
    values = 100 * (1 + 0.5 * np.sin(2 * np.pi * hours / 24))
    values += np.random.default_rng(3).normal(0, 3, len(hours))
    values[-30:-27] = 0.0  # a stop: flagged
    values[:20] = np.nan  # before the model's first data
    return _series(ALL_VERSIONS, "requests", values)


def test_the_traffic_chart_draws_the_deciding_band_and_flags_over_the_data_shown() -> None:
    series = _requests()
    policy = WatchPolicy(detector="same-hour")  # a band detector: flags are outside the band
    watched = watch([series], start=datetime(2026, 11, 9, tzinfo=UTC), end=NOW, policy=policy)
    report = model_report("m", watched=watched, incidents=[], now=NOW)
    (chart,) = report.traffic
    decided = watched.watched[series.key]
    assert chart.series.timestamps[0] == STAMPS[20]  # the axis starts where the data does
    assert chart.lower is not None and chart.upper is not None and chart.anomalous is not None
    np.testing.assert_array_equal(chart.anomalous, decided.flags[20:])
    np.testing.assert_array_equal(chart.upper, decided.upper[20:])
    np.testing.assert_array_equal(chart.lower, np.clip(decided.lower[20:], 0.0, None))
    assert chart.anomalous.sum() >= 2
    values = chart.series.values
    inside = (values >= chart.lower) & (values <= chart.upper)
    drawn = ~np.isnan(chart.upper)
    assert not np.any(inside & chart.anomalous) and np.all(inside | chart.anomalous | ~drawn)


def test_a_rate_band_is_drawn_within_zero_and_one() -> None:
    rng = np.random.default_rng(4)
    rate = _series("v1", "quarantine_rate", np.clip(rng.normal(0.01, 0.01, 24 * 10), 0, 1))
    watched = watch([rate], start=datetime(2026, 11, 9, tzinfo=UTC), end=NOW, policy=WatchPolicy())
    decided = watched.watched[rate.key]
    assert np.nanmin(decided.lower) < 0  # decided symmetric around ~0.01
    chart = watched_chart(decided)
    assert chart.lower is not None and np.nanmin(chart.lower) == 0.0
    report = model_report("m", watched=watched, incidents=[], now=NOW)
    assert report.period_start == datetime(2026, 11, 2, tzinfo=UTC)
    assert report.versions == ("v1",)


def test_an_incident_charts_its_implicated_series_up_to_the_stated_cap() -> None:
    rng = np.random.default_rng(6)
    start, day = datetime(2026, 11, 9, tzinfo=UTC), 24 * 7
    series = []
    for i in range(17):
        values = 50 + rng.normal(0, 1, 24 * 10)
        values[day + 3 :] += 400.0  # every output moves at once: one incident of 17 series
        key = SeriesKey(model="m", version="v1", family="output", column=f"o{i}", statistic="mean")
        series.append(Series(key=key, timestamps=STAMPS, values=values))
    watched = watch(series, start=start, end=NOW, policy=WatchPolicy())
    incidents = update_incidents(
        [], watched.anomalies, now=start + timedelta(hours=6), settings=GroupingSettings()
    )
    (incident,) = incidents
    assert len(incident.series) == 17
    report = model_report("m", watched=watched, incidents=incidents, now=NOW)
    (evidence,) = report.incidents
    assert len(evidence.charts) == CHARTS_PER_INCIDENT == 12 and evidence.charts_omitted == 5
    assert "5 more implicated series not charted" in render_model_report(report).html


def test_a_series_without_a_value_yet_is_not_charted_and_the_report_renders() -> None:
    """A window not yet profiled (the server waits for it to close) leaves a series all NaN."""
    empty = _series(ALL_VERSIONS, "latency_p99", np.full(len(STAMPS), np.nan))
    watched = watch(
        [_requests(), empty], start=datetime(2026, 11, 9, tzinfo=UTC), end=NOW, policy=WatchPolicy()
    )
    assert empty.key in watched.watched
    report = model_report("m", watched=watched, incidents=[], now=NOW)
    assert len(report.traffic) == 1 and report.latency == ()
    assert "<img" in render_model_report(report).html


def _performance(statistic: str, values: np.ndarray, column: str = "score") -> Series:
    key = SeriesKey(
        model="m", version="v1", family="performance", column=column, statistic=statistic
    )
    return Series(key=key, timestamps=STAMPS, values=values, support=np.full(len(STAMPS), 900.0))


def _labelled_model() -> list[Series]:
    """Day-long accuracy 0.76 in a stored band of ±0.03, dropping to 0.70 for the last 5 hours;
    its estimate stays at 0.76 (a concept shift: the scores did not move)."""
    accuracy = np.full(len(STAMPS), 0.76)
    accuracy[-5:] = 0.70
    accuracy[:30] = np.nan  # before labels arrived
    return [
        _performance("accuracy_1d", accuracy),
        _performance("accuracy_1d_expected", np.full(len(STAMPS), 0.76)),
        _performance("accuracy_1d_lower", np.full(len(STAMPS), 0.73)),
        _performance("accuracy_1d_upper", np.full(len(STAMPS), 0.79)),
        _performance("estimated_accuracy_1d", np.full(len(STAMPS), 0.758)),
        _performance("accuracy_1d", accuracy, column="score@region=eu"),
    ]


def test_the_performance_section_draws_the_deciding_band_with_the_estimate_beside_it() -> None:
    series = _labelled_model()
    start = datetime(2026, 11, 9, tzinfo=UTC)
    watched = watch(series, start=start, end=NOW, policy=WatchPolicy())
    report = model_report("m", watched=watched, incidents=[], now=NOW, series=series)
    (chart,) = report.performance  # the segment's own chart waits for its incident
    decided = watched.watched[series[0].key]
    assert chart.title == str(series[0].key)
    assert chart.series.timestamps[0] == STAMPS[30]
    assert chart.lower is not None and chart.upper is not None and chart.anomalous is not None
    np.testing.assert_array_equal(chart.lower, decided.lower[30:])
    np.testing.assert_array_equal(chart.upper, decided.upper[30:])
    np.testing.assert_array_equal(chart.anomalous, decided.flags[30:])
    assert chart.anomalous[-5:].all() and not chart.anomalous[:-5].any()
    assert chart.estimate is not None and np.all(chart.estimate == 0.758)
    assert "performance" in report.lights
    rendered = render_model_report(report)
    assert "<h2>Model performance</h2>" in rendered.html
    assert (
        f"{series[0].key}: 0.7000 (band 0.7300 to 0.7900), outside it; "
        "estimated from scores 0.7580" in rendered.text
    )


def test_a_model_without_labels_has_no_performance_section_or_light() -> None:
    series = _requests()
    watched = watch(
        [series], start=datetime(2026, 11, 9, tzinfo=UTC), end=NOW, policy=WatchPolicy()
    )
    report = model_report("m", watched=watched, incidents=[], now=NOW, series=[series])
    assert report.performance == () and "performance" not in report.lights
    rendered = render_model_report(report)
    assert "Model performance" not in rendered.html and "Performance" not in rendered.text
