"""Profiling many groups at once equals profiling each group's rows on their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.ingest import RecordBatch
from vigil.profile import (
    ColumnProfile,
    DistinctSketch,
    FrequentItems,
    Profile,
    ProfileSpec,
    QuantileSketch,
    profile_batch,
)
from vigil.profile import distinct as distinct_module
from vigil.profile.column_stats import PAIRWISE_FROM, group_moments
from vigil.profile.distinct import hash_numbers
from vigil.profile.groups import RowGroups
from vigil.profile.synthetic import synthetic_batch

START = datetime(2026, 11, 20, tzinfo=UTC)
SPEC = ProfileSpec()
QS = np.linspace(0.0, 1.0, 21)


def _same_column(a: ColumnProfile, b: ColumnProfile) -> None:
    assert (a.present, a.nulls, a.nans, a.pos_inf, a.neg_inf, a.type_counts) == (
        b.present,
        b.nulls,
        b.nans,
        b.pos_inf,
        b.neg_inf,
        b.type_counts,
    )
    assert (a.moments.count, a.moments.min, a.moments.max) == (
        b.moments.count,
        b.moments.min,
        b.moments.max,
    )
    # Sums of the same values in another order: equal to within rounding.
    assert a.moments.mean == pytest.approx(b.moments.mean, rel=1e-12, abs=1e-12)
    assert a.moments.m2 == pytest.approx(b.moments.m2, rel=1e-9, abs=1e-9)
    assert a.quantiles.n == b.quantiles.n
    if 0 < a.quantiles.n <= SPEC.kll_k:  # below k a KLL sketch keeps every value: exact
        np.testing.assert_array_equal(a.quantiles.quantiles(QS), b.quantiles.quantiles(QS))
    elif a.quantiles.n:
        points = b.quantiles.quantiles(QS)
        eps = a.quantiles.normalized_rank_error
        assert np.all(np.abs(a.quantiles.cdf(points) - b.quantiles.cdf(points)) <= 2 * eps)
    assert a.distinct == b.distinct
    assert a.frequent == b.frequent
    assert a.histogram == b.histogram


def _same_profile(a: Profile, b: Profile) -> None:
    assert a.key == b.key
    assert (a.rows, a.events, a.requests, a.first_seen, a.last_seen) == (
        b.rows,
        b.events,
        b.requests,
        b.first_seen,
        b.last_seen,
    )
    assert a.request_ids == b.request_ids
    assert a.host_latency == b.host_latency
    assert a.tags == b.tags
    for name in ("features", "outputs"):
        mine, theirs = getattr(a, name), getattr(b, name)
        assert mine.keys() == theirs.keys()
        for column in mine:
            _same_column(mine[column], theirs[column])
    _same_column(a.latency, b.latency)
    _same_column(a.labels, b.labels)


def _alone(batch: RecordBatch, profile: Profile) -> Profile:
    """``profile``'s rows profiled in a batch of their own."""
    meta = batch.meta.to_pydict()
    rows = [
        i
        for i, (model, version, moment) in enumerate(
            zip(meta["model"], meta["version"], meta["timestamp"], strict=True)
        )
        if (model, version) == (profile.key.model, profile.key.version)
        and profile.key.window.start <= moment < profile.key.window.end
    ]
    (alone,) = profile_batch(batch.take(np.asarray(rows, dtype=np.int64)), SPEC).values()
    return alone


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 900), st.booleans())
def test_a_batch_of_many_groups_profiles_each_as_if_alone(
    seed: int, rows: int, shuffled: bool
) -> None:
    batch = synthetic_batch(
        seed, rows, start=START, span=timedelta(hours=5), models=("a", "b"), versions=("1", "2")
    )
    if shuffled:  # rows out of group order take the rearranging path
        batch = batch.take(np.random.default_rng(seed).permutation(rows).astype(np.int64))
    profiles = profile_batch(batch, SPEC)
    assert sum(p.rows for p in profiles.values()) == rows
    for profile in profiles.values():
        _same_profile(profile, _alone(batch, profile))


def test_groups_follow_their_rows_whatever_the_order() -> None:
    ids = np.array([2, 0, 2, 1, 0], dtype=np.int64)
    groups = RowGroups.of(ids, 4)
    assert groups.order is not None and groups.sizes.tolist() == [2, 1, 2, 0]
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    assert groups.arrange(values).tolist() == [20.0, 50.0, 40.0, 10.0, 30.0]
    assert groups.sums(groups.arrange(values)).tolist() == [70.0, 40.0, 40.0, 0.0]
    kept = groups.subset(groups.arrange(values) > 25.0)
    assert kept.sizes.tolist() == [1, 1, 1, 0]
    assert RowGroups.of(np.array([0, 0, 1, 3]), 4).order is None  # in order: nothing moves


@pytest.mark.parametrize("size", [1, 5, PAIRWISE_FROM - 1, PAIRWISE_FROM, 5_000])
def test_group_moments_equal_one_pass_per_group(size: int) -> None:
    rng = np.random.default_rng(size)
    parts = [rng.lognormal(3, 2, size), np.zeros(0), rng.normal(1e6, 1, 7)]
    groups = RowGroups(bounds=np.cumsum([0, *(p.size for p in parts)]).astype(np.int64))
    found = group_moments(np.concatenate(parts), groups)
    assert found[1].count == 0
    for part, moments in zip(parts, found, strict=True):
        if part.size == 0:
            continue
        assert (moments.count, moments.min, moments.max) == (part.size, part.min(), part.max())
        if part.size >= PAIRWISE_FROM:  # the same pairwise sums as one pass: exact
            assert moments.mean == float(part.mean())
        assert moments.mean == pytest.approx(float(part.mean()), rel=1e-13)
        assert moments.m2 == pytest.approx(float(np.square(part - part.mean()).sum()), rel=1e-9)


def test_sketches_of_groups_equal_a_sketch_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two groups' registers at a time, so the blocks of groups are exercised too.
    monkeypatch.setattr(distinct_module, "_MAX_TABLE_CELLS", 2 << 8)
    rng = np.random.default_rng(3)
    sizes = [0, 40, 3, 0, 600, 1, 0]
    parts = [rng.integers(0, 300, size).astype(np.float64) for size in sizes]
    bounds = np.cumsum([0, *sizes]).astype(np.int64)
    values = np.concatenate(parts)
    owners = np.repeat(np.arange(len(sizes)), sizes)
    distinct = DistinctSketch.of_groups(hash_numbers(values), owners, len(sizes), 8)
    quantiles = QuantileSketch.of_groups(values, bounds, 64)
    for part, hll, kll in zip(parts, distinct, quantiles, strict=True):
        assert hll == DistinctSketch.empty(8).update(part)
        assert kll.n == part.size
        if part.size and part.size <= 64:
            assert kll == QuantileSketch.empty(64).update(part)
    names = pa.array(["x", "y", "z"])
    frequent = FrequentItems.of_groups(
        names,
        np.array([1, 1, 4]),
        np.array([0, 2, 1]),
        np.array([5, 2, 9]),
        count=6,
        lg_max=3,
    )
    assert [f.items() for f in frequent] == [[], [("x", 5), ("z", 2)], [], [], [("y", 9)], []]
    assert [f.total for f in frequent] == [0, 7, 0, 0, 9, 0]


def test_a_windows_bytes_do_not_depend_on_the_other_rows_of_its_batch() -> None:
    """Items tied in count are fed to the frequent-items sketch in sorted order and hosts are
    named in sorted order, not in the order the batch met them: a window profiled with other
    windows' rows before its own is the same, byte for byte (every window below k rows)."""
    batch = synthetic_batch(11, 600, start=START, span=timedelta(hours=60), hosts=4)  # ties
    hours = batch.timestamps_us() // 3_600_000_000
    last = np.flatnonzero(hours == hours.max())
    alone = profile_batch(batch.take(last), SPEC)
    together = profile_batch(
        batch.take(np.concatenate([np.flatnonzero(hours < hours.max())[::-1], last])), SPEC
    )
    (key,) = alone
    assert alone[key].to_bytes() == together[key].to_bytes()
