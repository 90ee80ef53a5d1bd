"""Profiles are monoids: merge(p(A), p(B)) == p(A u B) within each sketch's stated error."""

from __future__ import annotations

import pickle
import struct
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core import ConfigError, IncompatibleSpecError, ProfileKey, SerializationError, Window
from vigil.profile import (
    OTHER_HOSTS,
    ColumnProfile,
    Profile,
    ProfileSpec,
    merge_profiles,
    profile_batch,
    rollup,
)
from vigil.profile.envelope import FORMAT_VERSION, MAGIC
from vigil.profile.synthetic import synthetic_batch

START = datetime(2026, 11, 20, tzinfo=UTC)
SPEC = ProfileSpec()
QS = np.linspace(0.0, 1.0, 11)


def _one(batch_seed: int, rows: int, spec: ProfileSpec = SPEC) -> Profile:
    batch = synthetic_batch(batch_seed, rows, start=START, span=timedelta(minutes=59))
    (profile,) = profile_batch(batch, spec).values()
    return profile


def _assert_columns_agree(a: ColumnProfile, b: ColumnProfile) -> None:
    assert (a.present, a.nulls, a.nans, a.pos_inf, a.neg_inf) == (
        b.present,
        b.nulls,
        b.nans,
        b.pos_inf,
        b.neg_inf,
    )
    assert a.type_counts == b.type_counts
    assert (a.moments.count, a.moments.min, a.moments.max) == (
        b.moments.count,
        b.moments.min,
        b.moments.max,
    )
    assert a.moments.mean == pytest.approx(b.moments.mean, rel=1e-9, abs=1e-9)
    assert a.moments.m2 == pytest.approx(b.moments.m2, rel=1e-9, abs=1e-9)
    assert a.quantiles.n == b.quantiles.n
    if a.quantiles.n:
        # Each sketch is within its stated rank error of the truth, so of each other within 2x.
        points = b.quantiles.quantiles(QS)
        eps = a.quantiles.normalized_rank_error
        assert np.all(np.abs(a.quantiles.cdf(points) - b.quantiles.cdf(points)) <= 2 * eps)
    assert a.distinct == b.distinct  # HLL merge is an exact register-wise max
    assert a.frequent == b.frequent  # few distinct texts: exact counts
    assert a.histogram == b.histogram


def assert_profiles_agree(a: Profile, b: Profile) -> None:
    assert a.key == b.key
    assert (a.rows, a.events, a.requests) == (b.rows, b.events, b.requests)
    assert (a.first_seen, a.last_seen) == (b.first_seen, b.last_seen)
    assert a.request_ids == b.request_ids
    assert a.host_latency == b.host_latency
    assert a.tags == b.tags
    for name in ("features", "outputs"):
        columns_a, columns_b = getattr(a, name), getattr(b, name)
        assert columns_a.keys() == columns_b.keys()
        for column in columns_a:
            _assert_columns_agree(columns_a[column], columns_b[column])
    _assert_columns_agree(a.latency, b.latency)
    _assert_columns_agree(a.labels, b.labels)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 600), st.floats(0.0, 1.0))
def test_merge_of_parts_equals_profile_of_whole(seed: int, rows: int, cut: float) -> None:
    batch = synthetic_batch(seed, rows, start=START, span=timedelta(minutes=59))
    split = int(cut * rows)
    head, tail = np.arange(split), np.arange(split, rows)
    parts = [profile_batch(batch.take(index), SPEC) for index in (head, tail)]
    (whole,) = profile_batch(batch, SPEC).values()
    pieces = [p for part in parts for p in part.values()]
    before = [p.to_bytes() for p in pieces]
    merged = pieces[0] if len(pieces) == 1 else pieces[0].merge(pieces[1])
    assert_profiles_agree(merged, whole)
    if len(pieces) == 2:
        assert_profiles_agree(pieces[1].merge(pieces[0]), whole)
    assert [p.to_bytes() for p in pieces] == before  # inputs untouched


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_merge_is_associative_with_empty_as_identity(s1: int, s2: int, s3: int) -> None:
    a, b, c = _one(s1, 200), _one(s2, 300), _one(s3, 250)
    assert_profiles_agree(a.merge(b).merge(c), a.merge(b.merge(c)))
    empty = Profile.empty(a.key, SPEC)
    assert a.merge(empty) == a
    assert empty.merge(a) == a


def test_large_merge_quantiles_within_rank_error() -> None:
    batch = synthetic_batch(7, 40_000, start=START, span=timedelta(minutes=59))
    halves = [batch.take(np.arange(0, 15_000)), batch.take(np.arange(15_000, 40_000))]
    merged = merge_profiles(p for half in halves for p in profile_batch(half, SPEC).values())
    (profile,) = merged.values()
    values = np.sort(batch.features["age"].numbers)
    values = values[np.isfinite(values)]
    sketch = profile.features["age"].quantiles
    for q in np.linspace(0.01, 0.99, 99):
        rank = np.searchsorted(values, sketch.quantile(float(q)), side="right") / values.size
        assert abs(rank - q) <= sketch.normalized_rank_error


def test_column_missing_on_one_side_merges_as_absent() -> None:
    a, b = _one(1, 100), _one(2, 120)
    features = dict(b.features)
    del features["age"]
    b = Profile(
        **{**{f: getattr(b, f) for f in Profile.__dataclass_fields__}, "features": features}
    )
    merged = a.merge(b)
    assert merged.features["age"] == a.features["age"]
    assert merged.rows - merged.features["age"].present == 220 - a.features["age"].present


def test_different_specs_or_models_do_not_merge_but_windows_may() -> None:
    a = _one(1, 50)
    with pytest.raises(IncompatibleSpecError, match="different sketch specs"):
        a.merge(_one(1, 50, ProfileSpec(kll_k=200)))
    other_model = Profile.empty(ProfileKey(model="x", version="v1", window=a.key.window), SPEC)
    with pytest.raises(IncompatibleSpecError, match="one model version"):
        a.merge(other_model)
    later = Window(
        start=a.key.window.end + timedelta(hours=2), end=a.key.window.end + timedelta(hours=3)
    )
    merged = a.merge(Profile.empty(ProfileKey(model="ranker", version="v1", window=later), SPEC))
    assert merged.key.window == Window(start=a.key.window.start, end=later.end)


def test_bytes_round_trip_is_exact_and_versions_are_checked() -> None:
    profile = _one(3, 2000)
    data = profile.to_bytes()
    restored = Profile.from_bytes(data)
    assert restored == profile
    assert restored.to_bytes() == data
    future = MAGIC + struct.pack("<H", FORMAT_VERSION + 1) + data[6:]
    with pytest.raises(SerializationError, match=f"version {FORMAT_VERSION + 1} is not supported"):
        Profile.from_bytes(future)
    with pytest.raises(SerializationError, match="bad magic"):
        Profile.from_bytes(b"nope" + data[4:])
    with pytest.raises(SerializationError, match="corrupt"):
        Profile.from_bytes(data[:-20])


def test_rollup_of_24_hourly_profiles_is_the_profile_of_the_day() -> None:
    batch = synthetic_batch(11, 24 * 150, start=START, span=timedelta(days=1))
    hourly = profile_batch(batch, SPEC)
    assert len(hourly) == 24
    day_spec = ProfileSpec(window=timedelta(days=1))
    (daily,) = profile_batch(batch, day_spec).values()
    stored = [Profile.from_bytes(p.to_bytes()) for p in hourly.values()]
    (rolled,) = rollup(stored, timedelta(days=1)).values()
    assert rolled.spec == day_spec
    assert_profiles_agree(rolled, daily)


def test_merge_profiles_groups_equal_keys() -> None:
    batch = synthetic_batch(12, 900, start=START, span=timedelta(hours=3), versions=("1", "2"))
    parts = [profile_batch(batch.take(np.arange(i, 900, 3)), SPEC) for i in range(3)]
    merged = merge_profiles(p for part in parts for p in part.values())
    whole = profile_batch(batch, SPEC)
    assert merged.keys() == whole.keys()
    for key, profile in whole.items():
        assert_profiles_agree(merged[key], profile)


def test_profiles_pickle_for_distributed_runners() -> None:
    profile = _one(5, 500)
    assert pickle.loads(pickle.dumps(profile)) == profile


def test_rollup_refuses_windows_shorter_than_the_profiles() -> None:
    with pytest.raises(ConfigError, match="does not fit"):
        rollup([_one(1, 50)], timedelta(minutes=30))


def test_merged_hosts_beyond_the_cap_fold_into_other() -> None:
    spec = ProfileSpec(max_hosts=3)
    parts = [
        synthetic_batch(seed, 400, start=START, span=timedelta(minutes=59), hosts=5)
        for seed in (1, 2)
    ]
    profiles = [next(iter(profile_batch(part, spec).values())) for part in parts]
    merged = profiles[0].merge(profiles[1])
    assert len(merged.host_latency) == 4 and OTHER_HOSTS in merged.host_latency
    total = sum(h.total for h in merged.host_latency.values())
    assert total == sum(h.total for p in profiles for h in p.host_latency.values())
