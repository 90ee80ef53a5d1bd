"""Drift references leave out the minority of windows that disagree with the rest (a past
incident), and a young version borrows the model's other versions' windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from vigil.core import ConfigError, SeriesKey, ValueKind
from vigil.ingest import Column, RecordBatch
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.profile.column_stats import profile_column
from vigil.profile.synthetic import prediction_meta
from vigil.stats import Reference, Series, StatsSpec, drift_series
from vigil.stats.reference import ReferenceWindow, typical_windows
from vigil.stats.sketches import PooledQuantiles

START = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)
SPEC = StatsSpec(reference=Reference.trailing(7 * HOUR))
DECILES = np.linspace(0.1, 0.9, 9)


def _profile(
    hour: int, *, version: str = "v1", n: int = 400, shift: float = 0.0, stuck: bool = False
) -> Profile:
    """One hour of rows: ``x`` ~ N(10 + shift, 1) (all 0 when ``stuck``), ``c`` in a/b/c."""
    rng = np.random.default_rng(hour * 31 + len(version))
    meta = prediction_meta(n, start=START + hour * HOUR, span=HOUR, version=version)
    shares = [0.1, 0.1, 0.8] if shift else [0.6, 0.3, 0.1]
    category = Column(
        kinds=np.full(n, ValueKind.STRING, dtype=np.int8),
        numbers=np.full(n, np.nan),
        texts=pa.array(rng.choice(["a", "b", "c"], n, p=shares).tolist(), pa.string()),
    )
    x = np.zeros(n) if stuck else rng.normal(10 + shift, 1, n)
    batch = RecordBatch(
        meta=meta, features={"x": Column.from_numbers(x), "c": category}, outputs={}
    )
    (profile,) = profile_batch(batch, ProfileSpec()).values()
    return profile


def _column(profile: Profile, name: str) -> ReferenceWindow:
    return ReferenceWindow.of(profile.features[name])


def _ks(series: list[Series], column: str, statistic: str, version: str = "v1") -> np.ndarray:
    key = SeriesKey(
        model="ranker", version=version, family="drift", column=column, statistic=statistic
    )
    (found,) = [s for s in series if s.key == key]
    return found.values


def test_an_outlier_window_is_set_aside_and_agreeing_windows_are_kept() -> None:
    normal = [_profile(h) for h in range(6)]
    stuck = _profile(6, stuck=True)
    columns = [_column(p, "x") for p in [*normal, stuck]]
    kept = typical_windows(columns, categorical=False, tolerance=0.25)
    assert kept == columns[:6]
    assert typical_windows(columns[:6], categorical=False, tolerance=0.25) == columns[:6]
    shifted = [_column(_profile(h, shift=3.0), "c") for h in (7, 8)]
    categories = [_column(p, "c") for p in normal] + shifted
    assert typical_windows(categories, categorical=True, tolerance=0.25) == categories[:6]


def test_only_a_minority_is_set_aside_and_small_references_are_kept_whole() -> None:
    columns = [_column(_profile(h, shift=5.0 if h < 3 else 0.0), "x") for h in range(7)]
    kept = typical_windows(columns, categorical=False, tolerance=0.25)
    assert kept == columns[3:]  # 3 of 7 disagree: the majority is the reference
    plain = [window.column for window in columns]  # the profiles themselves: the same choice
    assert typical_windows(plain, categorical=False, tolerance=0.25) == plain[3:]
    two = [columns[0], columns[5]]
    assert typical_windows(two, categorical=False, tolerance=0.25) == two
    tiny = [_column(_profile(h, n=10, shift=5.0 * (h == 0)), "x") for h in range(5)]
    assert typical_windows(tiny, categorical=False, tolerance=0.25) == tiny  # too few rows


def test_the_return_to_normal_after_an_incident_is_not_drift() -> None:
    # Hours 3 and 4 held an incident (x stuck at 0); hour 7's reference is hours 0-6.
    profiles = [_profile(h, stuck=h in (3, 4)) for h in range(8)]
    trimmed = _ks(drift_series(profiles, None, SPEC), "x", "ks")[7]
    pooled = _ks(
        drift_series(profiles, None, StatsSpec(reference=SPEC.reference, reference_tolerance=None)),
        "x",
        "ks",
    )[7]
    assert pooled == pytest.approx(2 / 7, abs=0.04)  # the stuck share of the pooled reference
    assert trimmed < 0.1


def test_a_young_version_borrows_its_models_other_versions_for_its_reference() -> None:
    # v2 starts at hour 6 with shifted values (an incident), is normal again at hour 7.
    profiles = [_profile(h) for h in range(8)]
    profiles += [_profile(6, version="v2", shift=3.0), _profile(7, version="v2")]
    young = _ks(drift_series(profiles, None, SPEC), "x", "ks", version="v2")
    alone = _ks(
        drift_series(profiles, None, StatsSpec(reference=SPEC.reference, reference_min_own=1)),
        "x",
        "ks",
        version="v2",
    )
    assert young[6] > 0.8  # against v1: the shift is drift
    assert young[7] < 0.1  # against v1 and v2's shifted hour, which is set aside
    assert alone[7] > 0.8  # against its own shifted hour only


@pytest.mark.parametrize("rows", [0, 1, 200, 5_000])
def test_a_reference_window_answers_exactly_as_its_sketch_does(rows: int) -> None:
    # The cache must not change one drift number: the sketch's own deciles and CDF (ties
    # included), and pooling the cached items equals pooling the sketches.
    rng = np.random.default_rng(rows)
    values = np.round(rng.normal(10, 3, rows), 1)
    column = profile_column(Column.from_numbers(values), ProfileSpec())
    window = ReferenceWindow.of(column)
    np.testing.assert_array_equal(window.quantiles.deciles, column.quantiles.quantiles(DECILES))
    np.testing.assert_array_equal(window.quantiles.quantiles(DECILES), window.quantiles.deciles)
    points = np.unique(np.concatenate([values[:40], [-1e9, 10.0, 1e9]]))
    np.testing.assert_array_equal(window.quantiles.cdf(points), column.quantiles.cdf(points))
    other = ReferenceWindow.of(_profile(1).features["x"])
    pooled = PooledQuantiles.of([column.quantiles, other.column.quantiles])
    again = PooledQuantiles.of_weighted_items(
        [
            (window.quantiles.items, window.quantiles.weights),
            (other.quantiles.items, other.quantiles.weights),
        ],
        rank_error=pooled.rank_error,
    )
    np.testing.assert_array_equal(pooled.values, again.values)
    np.testing.assert_array_equal(pooled.cumulative, again.cumulative)
    categories = _profile(1).features["c"].frequent  # and the frequent items, listed once
    listed = ReferenceWindow.of(_profile(1).features["c"]).frequent
    assert listed.items() == categories.items() and len(listed.items()) == 3
    assert (listed.total, listed.count_error) == (categories.total, categories.count_error)


def test_spec_checks_the_reference_settings() -> None:
    with pytest.raises(ConfigError, match="reference_tolerance"):
        StatsSpec(reference_tolerance=1.5)
    with pytest.raises(ConfigError, match="reference_min_own"):
        StatsSpec(reference_min_own=0)
