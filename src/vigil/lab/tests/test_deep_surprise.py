"""Stage 2's surprise columns and the generated minute-level corpus."""

from __future__ import annotations

import numpy as np

from vigil.detect.deep.features import (
    SURPRISE_COLUMNS,
    memory_steps,
    surprise_features,
    surprise_many,
)
from vigil.lab.training.minute import KINDS, minute_series


def heavy_tailed(n: int, seed: int) -> np.ndarray:
    return np.abs(np.random.default_rng(seed).standard_t(2.5, n))


def test_surprise_is_causal() -> None:
    severity = heavy_tailed(600, 0)
    changed = severity.copy()
    changed[301:] *= 50.0
    first, second = surprise_features(severity, 168), surprise_features(changed, 168)
    assert first.shape == (600, SURPRISE_COLUMNS)
    # Step t's columns use severities before t, and t's own severity only in the numerator.
    np.testing.assert_array_equal(first[:301], second[:301])


def test_a_routine_excursion_is_less_surprising_in_a_series_that_has_them_often() -> None:
    quiet = np.full(400, 0.05)
    noisy = heavy_tailed(400, 1) + 0.05
    for history in (quiet, noisy):
        history[-1] = 3.0  # the same severity, three band widths, in both series
    calm, routine = surprise_features(quiet, 168)[-1], surprise_features(noisy, 168)[-1]
    # Against its quantile, mean and maximum the quiet series' excursion is the stranger one,
    # and the noisy series has crossed its band far more often.
    assert np.all(calm[:3] > routine[:3])
    assert calm[3] < routine[3]
    assert calm[4] == routine[4] == 1.0  # both have a full memory


def test_surprise_ignores_missing_steps_and_counts_the_memory() -> None:
    severity = heavy_tailed(100, 2)
    severity[10:20] = np.nan
    out = surprise_features(severity, 48)
    assert np.isfinite(out).all()
    assert out[0, 4] == 0.0  # no past at all
    assert out[5, 4] == 5 / 48
    assert out[25, 4] == (25 - 10) / 48  # the ten missing steps are not memory


def test_memory_is_about_a_week_within_bounds() -> None:
    def stamps(step_s: int) -> np.ndarray:
        return np.datetime64("2024-01-01") + np.arange(10) * np.timedelta64(step_s, "s")

    assert memory_steps(stamps(3600)) == 168
    assert memory_steps(stamps(60)) == 2016  # capped: a week would be 10,080 steps
    assert memory_steps(stamps(86_400)) == 48  # floored: a week of daily data is 7 steps


def test_minute_series_are_deterministic_normal_and_minute_level() -> None:
    first, second = minute_series(seed=5, count=8), minute_series(seed=5, count=8)
    assert [e.name for e in first] == [e.name for e in second]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.series.values, b.series.values)
    assert {e.name.split("/")[1].split("-")[0] for e in first} == set(KINDS)
    for example in first:
        steps = np.diff(example.series.timestamps.astype("datetime64[s]").astype(np.int64))
        assert set(np.unique(steps)) <= {60, 300}
        assert 2000 <= len(example.series) <= 6000
        assert np.isfinite(example.series.values).all()
        assert not example.positive.any() and not example.ignore.any()
    counts = [e for e in first if "counts" in e.name]
    assert all(np.array_equal(e.series.values, np.round(e.series.values)) for e in counts)


def test_batched_surprise_equals_one_series_at_a_time() -> None:
    severities = [heavy_tailed(n, seed) for seed, n in enumerate((300, 50, 700))]
    severities[1][3:9] = np.nan
    memories = [48, 48, 168]
    batched = surprise_many(severities, memories)
    for severity, memory, together in zip(severities, memories, batched, strict=True):
        np.testing.assert_array_equal(together, surprise_features(severity, memory))
    # And a series' columns do not depend on which other series share its batch.
    np.testing.assert_array_equal(surprise_many(severities[:1], [48])[0], batched[0])
