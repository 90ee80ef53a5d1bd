"""A model report draws the band of the detector that watched the series."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import SameHourMedian
from vigil.detect.deep import DeepDetector
from vigil.pipeline.reports import model_report
from vigil.stats import Series


def _requests() -> Series:
    hours = np.arange(24 * 10)
    values = 100 * (1 + 0.5 * np.sin(2 * np.pi * hours / 24))
    values += np.random.default_rng(3).normal(0, 3, len(hours))
    key = SeriesKey(model="m", version="v1", family="auxiliary", column="", statistic="requests")
    stamps = np.datetime64("2026-11-02T00:00", "s") + hours * np.timedelta64(3600, "s")
    return Series(key=key, timestamps=stamps, values=values)


@pytest.mark.parametrize("detector", ["same-hour", "deep"])
def test_traffic_chart_uses_the_watching_detectors_band(detector: str) -> None:
    series = _requests()
    report = model_report(
        "m",
        series=[series],
        incidents=[],
        anomalies=[],
        now=datetime(2026, 11, 12, tzinfo=UTC),
        detector=detector,
    )
    (chart,) = report.traffic
    if detector == "deep":
        expected = DeepDetector().score([series])[0].expected
    else:
        expected = SameHourMedian(days=7).band(series).expected
    assert chart.expected is not None and expected is not None
    np.testing.assert_array_equal(chart.expected, expected)
    assert np.isfinite(chart.expected[-24:]).all()
