"""The standard-error floor on the residual's probability: a value its own rows' spread explains
is not news, a value far outside it is; series without standard errors are untouched."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.detect.consensus import raw_evidence
from vigil.detect.residual import residual
from vigil.detect.sampling import stderr_probability
from vigil.stats import Series

ON = ConsensusSettings(stderr_floor=True)
OFF = ConsensusSettings(stderr_floor=False)


def hourly(
    values: np.ndarray, support: np.ndarray | None = None, stderr: np.ndarray | None = None
) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="amount", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values, support=support, stderr=stderr)


def test_the_floor_is_a_student_t_tail_at_the_steps_own_standard_error() -> None:
    values = np.array([10.0, 13.0, 16.0, 10.0, 10.0])
    support = np.array([5.0, 5.0, np.nan, 50.0, 50.0])
    stderr = np.array([1.0, 1.0, 1.0, np.nan, 0.0])
    p = stderr_probability(hourly(values, support, stderr), np.full(5, 10.0))
    assert p is not None
    assert p[0] == pytest.approx(1.0)
    assert p[1] == pytest.approx(2 * stats.t.sf(3.0, df=4), rel=1e-9)  # n - 1 = 4
    assert p[2] == pytest.approx(2 * stats.t.sf(6.0, df=10), rel=1e-9)  # n unknown: 10
    assert np.isnan(p[3]) and np.isnan(p[4])  # no standard error; none (a stuck value)
    assert stderr_probability(hourly(values, support), np.full(5, 10.0)) is None


def _heavy_means(wide: bool) -> Series:
    """A month of hourly means of about 200 rows with a steady standard error of 1, and at step
    600 a mean of 5 rows 9 above the usual: with a wide standard error (its rows spread by 30,
    one large value among them) or a tight one (its rows agree)."""
    rng = np.random.default_rng(11)
    steps = 24 * 30
    support = np.full(steps, 200.0)
    stderr = np.full(steps, 1.0)
    values = 50.0 + rng.normal(0.0, 1.0, steps)
    support[600], values[600] = 5.0, 59.0
    stderr[600] = 30.0 / np.sqrt(5.0) if wide else 0.5
    return hourly(values, support, stderr)


@pytest.mark.parametrize("wide", [True, False])
def test_a_mean_of_five_heavy_tailed_values_is_routine_only_when_its_rows_spread_wide(
    wide: bool,
) -> None:
    """The residual's probability: without the floor both steps are the same residual, at the
    calibration's floor (one step in 3,000); with it, the wide one is as likely as not and the
    tight one unchanged. (The novelty score knows nothing of standard errors: on this series,
    which never strayed before, it alone still finds the step new; docs/detection.md.)"""
    series = _heavy_means(wide)
    floored = ConsensusDetector(settings=ON)
    floored.fit([series.slice(0, 300)])
    plain = ConsensusDetector(settings=OFF)
    plain.fit([series.slice(0, 300)])
    bare = plain.evidence(series).residual[600]
    assert bare < 1e-3
    p = floored.evidence(series).residual[600]
    if wide:  # 9 off at a standard error of 13.4: t = 0.67 on 4 degrees of freedom
        off = 59.0 - residual(series).expected[600]
        assert p == pytest.approx(2 * stats.t.sf(off / (30.0 / np.sqrt(5.0)), df=4), rel=1e-9)
        assert p > 0.5
    else:  # 9 off at 0.5: t = 18, P about 6e-5, below what the residual already says
        assert p == bare


def test_a_proportion_keeps_its_exact_binomial_floor_not_the_plug_in_one() -> None:
    """4 nulls in 13 rows where none is usual: the binomial at the expected rate says news
    (P about 1e-7), the plug-in standard error of 4/13 (0.128, t = 2.4) would not."""
    steps = 24 * 20
    rows = np.full(steps, 13.0)
    values = np.zeros(steps)
    values[400] = 4.0 / 13.0
    stderr = np.sqrt(values * (1 - values) / rows)
    series = hourly(values, rows, stderr)
    chance = raw_evidence(series, ON).chance
    exact = raw_evidence(series, OFF).chance
    assert chance is not None and exact is not None
    assert chance[400] == exact[400] < 1e-6
    by_stderr = stderr_probability(series, np.zeros(steps))
    assert by_stderr is not None and by_stderr[400] > 0.02


def test_the_floor_only_raises_the_residual_probability() -> None:
    series = _heavy_means(True)
    with_floor = ConsensusDetector(settings=ON).evidence(series).residual
    bare = ConsensusDetector(settings=OFF).evidence(series).residual
    assert np.all((with_floor >= bare) | np.isnan(bare))
    assert np.array_equal(np.isnan(with_floor), np.isnan(bare))


@pytest.mark.parametrize("support", [False, True])
def test_consensus_without_standard_errors_is_bit_identical(support: bool) -> None:
    rng = np.random.default_rng(2)
    values = 100 + 10 * np.sin(np.arange(24 * 30) * 2 * np.pi / 24) + rng.normal(0, 2, 720)
    values[500] += 40
    rows = np.where(np.arange(720) % 24 < 6, 20.0, 400.0) if support else None
    series = hourly(values, rows)
    a = ConsensusDetector(settings=OFF).score([series])[0]
    b = ConsensusDetector(settings=ON).score([series])[0]
    for left, right in ((a.score, b.score), (a.expected, b.expected), (a.upper, b.upper)):
        np.testing.assert_array_equal(left, right)
