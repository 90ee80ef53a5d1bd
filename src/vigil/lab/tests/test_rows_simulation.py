"""Model-health series computed from raw rows: the noise follows traffic, the families differ."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import ConfigError
from vigil.lab.simulation.rows import ROW_FAMILIES, simulate_rows


@pytest.mark.parametrize("family", ROW_FAMILIES)
def test_the_same_seed_gives_the_same_series_and_every_step_its_sample_size(family: str) -> None:
    first, second = simulate_rows(family, seed=3, count=6), simulate_rows(family, seed=3, count=6)
    for a, b in zip(first.series, second.series, strict=True):
        np.testing.assert_array_equal(a.series.values, b.series.values)
        assert a.windows == b.windows
        assert a.series.support is not None and np.all(a.series.support >= 0)
    other = simulate_rows(family, seed=4, count=6)
    assert not np.array_equal(first.series[0].series.values, other.series[0].series.values)


def test_a_rate_is_noisier_on_steps_with_fewer_rows() -> None:
    data = simulate_rows("service", seed=5, count=48)
    rates = [s for s in data.series if s.family == "null_rate" and "hourly" in s.name]
    spread_low, spread_high = [], []
    for one in rates:
        n, v = one.series.support, one.series.values
        assert n is not None
        normal = ~one.labels & (n > 0)
        deviation = np.abs(v - np.nanmedian(v[normal]))
        low, high = (
            normal & (n <= np.quantile(n[normal], 0.2)),
            normal & (n >= np.quantile(n[normal], 0.8)),
        )
        spread_low.append(np.nanmedian(deviation[low]))
        spread_high.append(np.nanmedian(deviation[high]))
    assert rates and np.median(spread_low) > 1.5 * np.median(spread_high)


def test_labels_are_runs_with_their_kind_and_some_series_are_clean() -> None:
    for family in ROW_FAMILIES:
        data = simulate_rows(family, seed=6, count=24)
        assert any(not s.windows for s in data.series)
        for one in data.series:
            assert len(one.window_kinds) == len(one.windows)
            for start, end in one.windows:
                assert one.labels[start : end + 1].all()


def test_business_hours_leave_nights_without_values() -> None:
    data = simulate_rows("business", seed=7, count=14)
    assert max(np.isnan(s.series.values).mean() for s in data.series) > 0.2


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown family"):
        simulate_rows("bakery", seed=1)


def test_payments_delayed_batches_leave_a_step_empty_and_label_the_next_one() -> None:
    data = simulate_rows("payments", seed=8, count=48)
    delayed = [
        (one, start)
        for one in data.series
        for (start, _), kind in zip(one.windows, one.window_kinds, strict=True)
        if kind == "delayed_batch"
    ]
    assert delayed
    for one, start in delayed:
        n = one.series.support
        assert n is not None and n[start] == 0
        assert one.labels[start] and one.labels[start + 1] and n[start + 1] > 0


COUNTS = {"traffic", "orders", "requests", "distinct_merchants"}


@pytest.mark.parametrize("family", ROW_FAMILIES)
def test_every_step_carries_the_standard_error_its_rows_give(family: str) -> None:
    """Counts have none; a share of rows has its binomial one; a mean's shrinks as sqrt(n)."""
    data = simulate_rows(family, seed=3, count=24)
    for one in data.series:
        se, n, values = one.series.stderr, one.series.support, one.series.values
        assert se is not None and n is not None
        if one.family in COUNTS:
            assert np.isnan(se).all(), one.name
            continue
        assert np.all(np.isnan(se) | (se >= 0)), one.name
        assert np.all(np.isnan(se[n == 0])), one.name  # no rows, no standard error
        if one.family in {"null_rate", "ctr", "rare_rate", "segment_share", "positive_rate"}:
            # (a "stuck" incident repeats one value: its rows have no spread, se 0)
            fine = ~np.isnan(se) & (n > 0) & (n <= 20000) & ~one.labels
            binomial = np.sqrt(values[fine] * (1 - values[fine]) / n[fine])
            np.testing.assert_allclose(se[fine], binomial, rtol=1e-12, err_msg=one.name)
    means = [s for s in data.series if s.family == "feature_mean"]
    for one in means:  # service's means of normal rows: se * sqrt(n) is the rows' sd, steady
        assert one.series.stderr is not None and one.series.support is not None
        spread = one.series.stderr * np.sqrt(one.series.support)
        busy = one.series.support > np.nanmedian(one.series.support)
        quiet = (one.series.support < np.nanmedian(one.series.support)) & (one.series.support > 3)
        ratio = np.nanmedian(spread[quiet]) / np.nanmedian(spread[busy])
        assert 0.7 < ratio < 1.3, one.name
