"""The pipeline's detection policy: traffic on a log scale, drift by bounded statistics, events."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.pipeline.config import parse_config
from vigil.pipeline.detection import DetectionPolicy, detect_anomalies
from vigil.stats import Series

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 10
TIMES = np.datetime64("2026-11-02T00:00", "s") + np.arange(24 * DAYS) * np.timedelta64(3600, "s")
EVALUATED = datetime(2026, 11, 9, tzinfo=UTC)
END = datetime(2026, 11, 12, tzinfo=UTC)


def _series(family: str, statistic: str, values: np.ndarray, column: str = "") -> Series:
    key = SeriesKey(model="m", version="v1", family=family, column=column, statistic=statistic)
    return Series(
        key=key,
        timestamps=TIMES,
        values=values.astype(np.float64),
        support=np.full(len(values), 200.0),
    )


def _traffic(seed: int = 0) -> np.ndarray:
    hours = np.arange(24 * DAYS)
    rate = 150 * (1 + 0.6 * np.sin(2 * np.pi * (hours - 9) / 24))
    weekend = np.isin((hours // 24 + 0) % 7, [5, 6])  # 2026-11-02 is a Monday
    counts: np.ndarray = np.random.default_rng(seed).poisson(rate * np.where(weekend, 0.75, 1.0))
    return counts.astype(np.float64)


@pytest.mark.parametrize("detector", ["consensus", "same-hour"])
def test_a_night_time_traffic_stop_is_flagged_in_its_own_units(detector: str) -> None:
    values = _traffic()
    stop = slice(24 * 8 + 2, 24 * 8 + 7)
    values[stop] = 0.0
    found = detect_anomalies(
        [_series("auxiliary", "requests", values)],
        start=EVALUATED,
        end=END,
        policy=DetectionPolicy(detector=detector),
    )
    flagged = {a.timestamp.hour for a in found if a.timestamp.day == 10}
    # consensus pages at the stop's first hours (the k-of-n filter keeps two in a row);
    # same-hour flags every hour of it.
    assert {2, 3} <= flagged if detector == "consensus" else set(range(2, 7)) <= flagged
    first = next(a for a in found if a.timestamp.hour == 2 and a.timestamp.day == 10)
    assert first.value == 0.0 and first.expected > 10 and first.severity > 1


def test_weekly_dips_and_noise_stay_quiet() -> None:
    found = detect_anomalies(
        [_series("auxiliary", "requests", _traffic(seed=s)) for s in range(5)],
        start=EVALUATED,
        end=END,
        policy=DetectionPolicy(),
    )
    assert len(found) <= 2


def test_absolute_drift_levels_apply_only_where_the_policy_sets_them() -> None:
    ks = np.full(24 * DAYS, 0.05)
    ks[-10:] = 0.6
    linf = np.full(24 * DAYS, 0.02)
    linf[-5:] = 0.5
    psi = np.full(24 * DAYS, 3.0)  # not a watched drift statistic: unbounded on small samples
    series = [
        _series("drift", "ks", ks, column="age"),
        _series("drift", "linf", linf, column="country"),
        _series("drift", "psi", psi, column="age"),
    ]
    levels = DetectionPolicy(drift_thresholds={"ks": 0.3, "linf": 0.2})
    found = detect_anomalies(series, start=EVALUATED, end=END, policy=levels)
    assert {(a.key.statistic, a.key.column) for a in found} == {("ks", "age"), ("linf", "country")}
    assert sum(a.key.statistic == "ks" for a in found) == 10
    assert detect_anomalies(series, start=EVALUATED, end=END, policy=DetectionPolicy()) == []


def test_a_tested_statistic_pages_just_outside_its_band_on_enough_rows() -> None:
    """The band is the stored ``_expected/_lower/_upper`` series; a value on the bound is in."""
    n = 24 * DAYS
    mean = np.full(n, 10.0)
    mean[-3] = 11.0  # exactly on the upper bound: inside
    mean[-2] = 11.0 + 1e-9  # just outside
    mean[-1] = 9.0 - 1e-9  # just outside below
    bands = {"": mean, "_expected": np.full(n, 10.0), "_lower": np.full(n, 9.0)}
    bands["_upper"] = np.full(n, 11.0)
    series = [_series("drift", "mean" + s, v, column="age") for s, v in bands.items()]
    found = detect_anomalies(series, start=EVALUATED, end=END, policy=DetectionPolicy())
    assert [(a.key.statistic, a.detector) for a in found] == [("mean", "drift")] * 2
    assert [a.timestamp.hour for a in found] == [22, 23]
    assert found[0].lower == 9.0 and found[0].upper == 11.0
    too_few = DetectionPolicy(drift_min_support=201.0)  # the series carry 200 rows
    assert detect_anomalies(series, start=EVALUATED, end=END, policy=too_few) == []
    enough = DetectionPolicy(drift_min_support=200.0)
    assert len(detect_anomalies(series, start=EVALUATED, end=END, policy=enough)) == 2


def test_quality_signals_are_events() -> None:
    missing = np.zeros(24 * DAYS)
    missing[-3:] = 1.0
    found = detect_anomalies(
        [_series("feature", "missing", missing, column="geo")],
        start=EVALUATED,
        end=END,
        policy=DetectionPolicy(),
    )
    assert len(found) == 3 and all(a.detector == "quality" for a in found)


def test_the_deep_detector_can_watch_the_health_series() -> None:
    values = _traffic()
    values[24 * 8 + 14 : 24 * 8 + 18] = 0.0  # an afternoon stop, when traffic is high
    policy = DetectionPolicy(detector="deep")
    found = detect_anomalies(
        [_series("auxiliary", "requests", values)], start=EVALUATED, end=END, policy=policy
    )
    assert found and all(a.detector == "deep" for a in found)
    stop = [a for a in found if a.timestamp.day == 10 and 14 <= a.timestamp.hour < 18]
    assert stop and stop[0].value == 0.0 and stop[0].expected > 10  # back in its own units
    quiet = detect_anomalies(
        [_series("auxiliary", "requests", _traffic(seed=s)) for s in range(5)],
        start=EVALUATED,
        end=END,
        policy=policy,
    )
    assert len(quiet) <= 2


def test_an_unknown_detector_is_refused() -> None:
    with pytest.raises(ConfigError, match="detector"):
        DetectionPolicy(detector="prophet")
    with pytest.raises(ConfigError, match=r"detect\.detector"):
        parse_config({"detect": {"detector": "prophet"}})
