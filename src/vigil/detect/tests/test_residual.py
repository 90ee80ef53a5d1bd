"""The residual's variance model sums its windows in one pass over stacked columns; it must give
exactly what one pandas rolling sum per quantity gave (kept here as the reference)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.core import SeriesKey
from vigil.detect import residual as residual_module
from vigil.detect.residual import residual
from vigil.stats import Series

NAB = Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "nab" / "data"
NAB_FILES = (
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
    "realAWSCloudwatch/elb_request_count_8c0756.csv",
    "realAWSCloudwatch/ec2_network_in_257a54.csv",
    "realTraffic/TravelTime_387.csv",
    "realTraffic/occupancy_6005.csv",
)


def _reference_sum(values: np.ndarray, window: int) -> np.ndarray:
    return pd.Series(values).shift(1).rolling(window, min_periods=1).sum().to_numpy(np.float64)


def _reference_model(
    target: np.ndarray, ok: np.ndarray, n: np.ndarray, typical: float, window: int
) -> np.ndarray:
    one = ok.astype(np.float64)
    y = np.where(ok, target, 0.0)
    s0, sy, syy = (_reference_sum(v, window) for v in (one, y, y * y))
    best_variance = np.full(target.size, np.nan)
    best_error = np.full(target.size, np.inf)
    for feature in (typical / n, n / typical):
        f = np.where(ok, feature, 0.0)
        s1, s11, s1y = (_reference_sum(v, window) for v in (f, f * f, f * y))
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.maximum((s0 * s1y - s1 * sy) / (s0 * s11 - s1**2), 0.0)
            b = np.where(np.isfinite(b), b, 0.0)
            a = (sy - b * s1) / s0
            b = np.where(a < 0, s1y / s11, b)
            a = np.maximum(a, 0.0)
        error = syy - 2 * a * sy - 2 * b * s1y + a * a * s0 + 2 * a * b * s1 + b * b * s11
        better = error < best_error
        best_error = np.where(better, error, best_error)
        best_variance = np.where(better, a + b * np.where(ok, feature, np.nan), best_variance)
    return best_variance


def _reference_scale(
    error: np.ndarray, scale: np.ndarray, size: np.ndarray, window: int
) -> np.ndarray:
    """The variance model as it was written before its sums were batched (with today's typical
    n, a power of two)."""
    ok = ~np.isnan(error) & (size > 0)
    n = np.maximum(size, 1.0)
    typical = 2.0 ** round(math.log2(float(np.median(n[ok])))) if ok.any() else 1.0
    squared = np.where(ok, error**2, 0.0)
    first = _reference_model(
        np.minimum(squared, (50 * np.nan_to_num(scale, nan=np.inf)) ** 2), ok, n, typical, window
    )
    variance = _reference_model(
        np.minimum(squared, 25 * np.nan_to_num(first, nan=np.inf)), ok, n, typical, window
    )
    good = (_reference_sum(ok.astype(np.float64), window) >= 30) & (variance > 0) & ok
    return np.where(good, np.sqrt(np.maximum(variance, 1e-300)), scale)


def _series(values: np.ndarray, support: np.ndarray | None, step_s: int = 3600) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(values.size) * np.timedelta64(
        step_s, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="c", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def _assert_same_as_reference(series: Series, monkeypatch: pytest.MonkeyPatch) -> None:
    batched = residual(series)
    with monkeypatch.context() as patched:
        patched.setattr(residual_module, "_sampling_scale", _reference_scale)
        reference = residual(series)
    for name in ("expected", "scale", "z"):
        np.testing.assert_array_equal(getattr(batched, name), getattr(reference, name), name)


@pytest.mark.parametrize("seed", range(12))
def test_batched_sums_give_the_reference_residual_on_random_series(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(seed)
    size = int(rng.choice([1, 2, 5, 29, 31, 80, 400, 1200]))  # short ones too
    hours = np.arange(size)
    noise = rng.standard_t(3, size) * 10.0 ** (seed % 4)  # heavy tails at four scales
    values = 100 + 10 * np.sin(2 * np.pi * hours / 24) + noise
    values[rng.random(size) < 0.15] = np.nan  # missing points
    if seed % 3 == 0:
        support = None
    elif seed % 3 == 1:  # a rate's rows, some steps with none
        support = rng.integers(0, 400, size).astype(np.float64)
    else:  # a count carrying itself
        values = np.round(np.abs(values))
        support = values.copy()
    _assert_same_as_reference(_series(values, support), monkeypatch)


def test_batched_sums_give_the_reference_residual_on_extreme_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(99)
    values = rng.normal(0.0, 1.0, 900)
    values[300] = 1e150  # its square overflows a sum of squares to inf
    values[500:520] = 0.0
    support = rng.integers(1, 50, 900).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        _assert_same_as_reference(_series(values, support), monkeypatch)


@pytest.mark.skipif(not NAB.is_dir(), reason="shared NAB data not present")
@pytest.mark.parametrize("name", NAB_FILES)
def test_batched_sums_give_the_reference_residual_on_real_series(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.read_csv(NAB / name, parse_dates=["timestamp"])
    values = frame["value"].to_numpy(np.float64)[:3000]
    stamps = frame["timestamp"].to_numpy("datetime64[s]")[:3000]
    key = SeriesKey(model="nab", version="", family="f", column=name, statistic="mean")
    rng = np.random.default_rng(len(name))
    # NAB carries no sample sizes; a made-up one exercises the variance model on real values.
    support = rng.integers(1, 300, values.size).astype(np.float64)
    for carried in (None, support):
        series = Series(key=key, timestamps=stamps, values=values, support=carried)
        _assert_same_as_reference(series, monkeypatch)


def test_column_medians_are_numpys_nanmedian_to_the_last_bit() -> None:
    from vigil.detect.residual import _column_medians

    rng = np.random.default_rng(3)
    for trial in range(300):
        rows = rng.normal(0.0, 10.0 ** rng.uniform(-3, 6), (int(rng.integers(1, 8)), 40))
        if trial % 3 == 0:
            rows = np.round(rows)  # ties
        rows[rng.random(rows.shape) < rng.uniform(0.0, 0.7)] = np.nan
        rows[:, 0] = np.nan  # a column without values
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
            expected = np.nanmedian(rows, axis=0)
        np.testing.assert_array_equal(_column_medians(rows), expected, str(trial))
