"""The forecasting cores on bare arrays: causal, spikes score high, intervals cover as stated."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest

from vigil.core import ConfigError, MissingExtraError
from vigil.detect.interval import Band, z_for_level
from vigil.lab.forecasting import ar_band, arima_band, mstl_band, prophet_band, sarimax_band
from vigil.lab.forecasting.inputs import (
    daily_period,
    fit_length_for,
    forward_fill,
    refit_plan,
)

Core = Callable[[np.ndarray, np.ndarray, int, float], Band]

FAST_CORES = [
    pytest.param(ar_band, id="ar"),
    pytest.param(arima_band, id="arima"),
    pytest.param(sarimax_band, id="sarimax", marks=pytest.mark.slow),
]
REFITTING_CORES = [
    pytest.param(partial(prophet_band, max_refits=3), id="prophet", marks=pytest.mark.slow),
    pytest.param(partial(mstl_band, max_refits=3), id="mstl", marks=pytest.mark.slow),
]


def stamps(n: int, step_s: int = 3600) -> np.ndarray:
    return np.datetime64("2024-03-04T00:00:00") + np.arange(n) * np.timedelta64(step_s, "s")


def ar1(n: int, seed: int, phi: float = 0.6, period: int | None = 24) -> np.ndarray:
    """AR(1) noise with unit innovations, plus a daily cycle when ``period`` is given."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    shocks = rng.normal(0.0, 1.0, n)
    for t in range(1, n):
        noise[t] = phi * noise[t - 1] + shocks[t]
    cycle = 0.0 if period is None else 3.0 * np.sin(2 * np.pi * np.arange(n) / period)
    return 20.0 + cycle + noise


@pytest.mark.parametrize("core", FAST_CORES + REFITTING_CORES)
def test_changing_the_future_leaves_past_bands_unchanged(core: Core) -> None:
    n, fit_length, cut = 24 * 20, 24 * 5, 24 * 12
    values = ar1(n, seed=1)
    changed = values.copy()
    changed[cut:] += np.random.default_rng(2).normal(0.0, 30.0, n - cut)
    first = core(values, stamps(n), fit_length, 0.99)
    second = core(changed, stamps(n), fit_length, 0.99)
    for field in ("expected", "lower", "upper"):
        past_first = getattr(first, field)[: cut + 1]
        np.testing.assert_array_equal(past_first, getattr(second, field)[: cut + 1], field)
    assert np.isfinite(first.expected[fit_length:]).all()
    assert not np.array_equal(first.expected[cut + 1 :], second.expected[cut + 1 :])


@pytest.mark.parametrize("core", FAST_CORES + REFITTING_CORES)
def test_a_spike_far_outside_the_band_scores_above_one(core: Core) -> None:
    n, fit_length, at = 24 * 14, 24 * 5, 24 * 10
    values = ar1(n, seed=3)
    # 25 innovation sds: far beyond any 99% half-width (2.58 sd, widened a little by the
    # AR(1) noise and the parameter uncertainty, which stays well below a factor of 4).
    values[at] += 25.0
    band = core(values, stamps(n), fit_length, 0.99)
    half = (band.upper[at] - band.lower[at]) / 2.0
    assert abs(values[at] - band.expected[at]) / half > 2.5


@pytest.mark.parametrize(
    ("core", "period", "step_s"),
    [
        pytest.param(ar_band, None, 3600, id="ar"),
        pytest.param(arima_band, None, 3600, id="arima"),
        pytest.param(sarimax_band, 24, 3600, id="sarimax-seasonal", marks=pytest.mark.slow),
        pytest.param(sarimax_band, 288, 300, id="sarimax-fourier", marks=pytest.mark.slow),
    ],
)
def test_one_step_intervals_cover_clean_ar1_noise_at_the_nominal_level(
    core: Core, period: int | None, step_s: int
) -> None:
    level, n, fit_length = 0.9, 3000, 600
    values = ar1(n, seed=4, period=period)
    band = core(values, stamps(n, step_s), fit_length, level)
    inside = (values >= band.lower) & (values <= band.upper)
    scored = inside[fit_length:]
    # Binomial sd of the coverage over 2,400 steps is sqrt(0.9 * 0.1 / 2400) = 0.006; the
    # parameter error of a 600-step fit shifts the band by a few percent of its width. 0.03 is
    # five binomial sds: a wrong variance (e.g. a missing sqrt, or AR(1) noise taken as white)
    # moves coverage by far more.
    assert abs(scored.mean() - level) < 0.03


def test_ar_band_matches_the_fitted_recursion_and_its_normal_interval() -> None:
    n, fit_length = 800, 400
    values = ar1(n, seed=5, period=None)
    band = ar_band(values, stamps(n), fit_length, 0.95, max_lags=1)
    # With one lag the forecast is c + phi * x[t-1]: recover (c, phi) from two steps, check all.
    phi = (band.expected[501] - band.expected[500]) / (values[500] - values[499])
    const = band.expected[500] - phi * values[499]
    np.testing.assert_allclose(band.expected[1:], const + phi * values[:-1], rtol=1e-10)
    assert phi == pytest.approx(0.6, abs=0.1)
    half = (band.upper - band.lower)[1:] / 2.0
    np.testing.assert_allclose(half, half[0])
    sigma = half[0] / z_for_level(0.95)
    assert sigma == pytest.approx(1.0, abs=0.1)  # unit innovations


def test_missing_values_are_skipped_not_propagated() -> None:
    n, fit_length = 24 * 14, 24 * 5
    values = ar1(n, seed=6)
    values[[30, 200, 201, 250]] = np.nan
    for core in (ar_band, arima_band, sarimax_band):
        band = core(values, stamps(n), fit_length, 0.99)
        assert np.isfinite(band.expected[24:]).all(), core.__name__


def test_sarimax_uses_time_of_day_terms_for_five_minute_data() -> None:
    n, fit_length = 288 * 6, 288 * 2
    day = np.arange(n) % 288
    values = 10 + 4 * np.sin(2 * np.pi * day / 288) + np.random.default_rng(7).normal(0, 0.5, n)
    band = sarimax_band(values, stamps(n, 300), fit_length, 0.99)
    residual = values[fit_length:] - band.expected[fit_length:]
    # The daily cycle (amplitude 4) must be explained: what is left is close to the 0.5 noise.
    assert np.std(residual) < 0.7


def test_bad_arguments_are_rejected_with_the_value() -> None:
    values = ar1(100, seed=8)
    with pytest.raises(ConfigError, match=r"1\.5"):
        ar_band(values, stamps(100), 50, 1.5)
    with pytest.raises(ConfigError, match="500"):
        arima_band(values, stamps(100), 500, 0.9)
    with pytest.raises(ConfigError, match="no finite value"):
        ar_band(np.full(100, np.nan), stamps(100), 50, 0.9)


def test_fit_length_is_a_bounded_fraction() -> None:
    assert fit_length_for(4000, fraction=0.15, max_points=750) == 600
    assert fit_length_for(10_000, fraction=0.15, max_points=750) == 750
    assert fit_length_for(40, fraction=0.15, max_points=750) == 16
    assert fit_length_for(10, fraction=0.15, max_points=750) == 9
    with pytest.raises(ConfigError, match=r"1\.5"):
        fit_length_for(100, fraction=1.5, max_points=10)


def test_daily_period_from_the_median_step() -> None:
    assert daily_period(stamps(10, 3600)) == 24
    assert daily_period(stamps(10, 300)) == 288
    assert daily_period(stamps(10, 86_400)) is None
    jittered = stamps(50, 300) + np.tile([0, 7, -5, 2, 0], 10).astype("timedelta64[s]")
    assert daily_period(jittered) == 288


def test_forward_fill_only_looks_back() -> None:
    filled = forward_fill(np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan]), initial=-1.0)
    np.testing.assert_array_equal(filled, [-1.0, 1.0, 1.0, 1.0, 4.0, 4.0])


@pytest.mark.parametrize(
    ("n", "fit_length", "block", "max_refits", "period"),
    [
        (1000, 150, None, 12, 24),
        (1000, 150, 10, 5, None),
        (200, 150, None, 12, 288),
        (150, 150, 5, 3, 24),
    ],
)
def test_refit_plan_covers_every_step_once_and_fits_only_on_the_past(
    n: int, fit_length: int, block: int | None, max_refits: int, period: int | None
) -> None:
    plan = refit_plan(
        n, fit_length, block=block, max_refits=max_refits, period=period, max_fit_points=100
    )
    covered = np.concatenate([np.arange(r.band_start, r.band_stop) for r in plan])
    np.testing.assert_array_equal(covered, np.arange(fit_length - 100, n))
    assert len(plan) <= max_refits
    assert plan[0].fit_stop == fit_length
    for refit in plan[1:]:
        assert refit.fit_stop == refit.band_start
        assert refit.fit_stop - refit.fit_start <= 100


@pytest.mark.parametrize(
    ("module", "core"),
    [("prophet", prophet_band), ("statsforecast", mstl_band)],
)
def test_a_missing_extra_names_the_bench_extra(
    module: str, core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, f"{module}.models", None)
    with pytest.raises(MissingExtraError, match=r"vigil-ml\[bench\]"):
        core(ar1(100, seed=9), stamps(100), 50, 0.9)


def test_importing_the_detect_layer_imports_no_forecasting_library() -> None:
    probe = (
        "import sys, vigil.detect, vigil.lab.forecasting\n"
        "heavy = {'statsmodels', 'prophet', 'statsforecast', 'gluonts', 'torch'}\n"
        "print(sorted(heavy & {name.split('.')[0] for name in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
