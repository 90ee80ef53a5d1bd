"""The broad generated training corpus: the shapes it promises, deterministic in its seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.core import ConfigError
from vigil.lab.training.corpus import Example
from vigil.lab.training.generated import DAY_S, KINDS, SAMPLED, STEPS_S, generated_series

CORPUS = generated_series(seed=5, count=48)


def step_s(one: Example) -> int:
    """The nominal step: the one of ``STEPS_S`` nearest the median (timestamps may jitter)."""
    stamps = one.series.timestamps.astype("datetime64[s]").astype(np.int64)
    median = float(np.median(np.diff(stamps)))
    return min(STEPS_S, key=lambda s: abs(s - median))


def test_count_and_seed() -> None:
    assert generated_series(seed=5, count=0) == []
    with pytest.raises(ConfigError, match="-1"):
        generated_series(seed=5, count=-1)
    again = generated_series(seed=5, count=6)
    other = generated_series(seed=6, count=6)
    for a, b, c in zip(CORPUS[:6], again, other, strict=True):
        np.testing.assert_array_equal(a.series.values, b.series.values)
        assert len(a.series) != len(c.series) or not np.array_equal(
            a.series.values, c.series.values, equal_nan=True
        )


def test_every_kind_and_step_size_and_all_normal() -> None:
    assert {one.series.key.family for one in CORPUS} == set(KINDS)
    assert {step_s(one) for one in CORPUS} == set(STEPS_S)
    for one in CORPUS:
        assert not one.positive.any() and not one.ignore.any()  # anomalies are injected later
        days = len(one.series) * step_s(one) / DAY_S
        assert days >= 1.0, one.name  # at least a daily cycle of context
        assert np.all(np.diff(one.series.timestamps) > np.timedelta64(0, "s"))


def test_values_fit_their_kind() -> None:
    for one in CORPUS:
        values, kind = one.series.values, one.series.key.family
        present = values[~np.isnan(values)]
        if kind == "count":
            assert np.all(present >= 0) and np.all(present == np.round(present))
        if kind == "proportion":
            assert np.all((present >= 0) & (present <= 1))
        # Statistics computed from rows carry the rows; counts and gauges carry none.
        assert (one.series.support is not None) == (kind in SAMPLED)


def test_sampling_noise_follows_the_rows_behind_each_step() -> None:
    """A proportion is a binomial share of ``n`` rows, so its noise scales as ``1/sqrt(n)``:
    steps with few rows wander from the local median by ``sqrt(n_busy / n_quiet)`` times more."""
    checked = 0
    for one in CORPUS:
        if one.series.key.family != "proportion":
            continue
        n, values = one.series.support, one.series.values
        assert n is not None
        local = pd.Series(values).rolling(11, center=True, min_periods=3).median().to_numpy()
        error = np.abs(values - local)
        ok = ~np.isnan(error) & (n > 0)
        quiet, busy = n[ok] <= np.quantile(n[ok], 0.2), n[ok] >= np.quantile(n[ok], 0.8)
        expected = np.sqrt(np.median(n[ok][busy]) / np.median(n[ok][quiet]))
        if expected < 1.4:
            continue  # traffic too even to tell
        measured = np.mean(error[ok][quiet]) / np.mean(error[ok][busy])
        assert 0.75 * expected < measured < 1.3 * expected, one.name
        checked += 1
    assert checked >= 3


def test_gaps_irregular_steps_and_missing_values_occur() -> None:
    irregular = sum(
        bool(np.any(np.diff(one.series.timestamps.astype(np.int64)) != step_s(one)))
        for one in CORPUS
    )
    missing = sum(bool(np.isnan(one.series.values).any()) for one in CORPUS)
    assert irregular >= 5 and missing >= 5
    # ... but a series stays mostly regular and mostly present.
    for one in CORPUS:
        assert np.isnan(one.series.values).mean() < 0.5, one.name
