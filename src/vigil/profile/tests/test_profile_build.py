"""profile_batch: grouping and the counts of every column, checked against direct computation."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ValueKind
from vigil.ingest import RecordBatch
from vigil.profile import OTHER_HOSTS, ColumnProfile, Profile, ProfileSpec, profile_batch
from vigil.profile.column_stats import profile_column
from vigil.profile.synthetic import synthetic_batch

START = datetime(2026, 11, 20, tzinfo=UTC)
SPEC = ProfileSpec()


def test_rows_are_grouped_by_model_version_and_window() -> None:
    batch = synthetic_batch(
        1, 3000, start=START, span=timedelta(hours=3), models=("a", "b"), versions=("1", "2")
    )
    profiles = profile_batch(batch, SPEC)
    meta = batch.meta.to_pydict()
    expected = Counter(
        (model, version, moment.replace(minute=0, second=0, microsecond=0))
        for model, version, moment in zip(
            meta["model"], meta["version"], meta["timestamp"], strict=True
        )
    )
    found = {(k.model, k.version, k.window.start): p.rows for k, p in profiles.items()}
    assert found == dict(expected)
    assert len(profiles) == 12
    for key, profile in profiles.items():
        assert key.window.duration == SPEC.window
        assert profile.first_seen is not None and profile.last_seen is not None
        assert key.window.start <= profile.first_seen <= profile.last_seen < key.window.end


def _roles(batch: RecordBatch) -> tuple[int, int, int]:
    """Requests, feature rows and output rows, row by row."""
    meta = batch.meta.to_pydict()
    events = Counter(meta["event"])
    requests = (
        events["prediction"] + events["arrival"] + max(events["completion"] - events["arrival"], 0)
    )
    features = outputs = 0
    for row, event in enumerate(meta["event"]):
        has_f = any(c.kinds[row] != ValueKind.ABSENT for c in batch.features.values())
        has_o = any(c.kinds[row] != ValueKind.ABSENT for c in batch.outputs.values())
        features += event in ("prediction", "arrival") or has_f
        outputs += event in ("prediction", "completion") or has_o
    return requests, features, outputs


def test_single_group_counts_match_direct_computation() -> None:
    batch = synthetic_batch(2, 5000, start=START, span=timedelta(minutes=50))
    (profile,) = profile_batch(batch, SPEC).values()
    meta = batch.meta
    assert profile.rows == 5000
    events = Counter(meta.column("event").to_pylist())
    assert {k: v for k, v in profile.events.items() if v} == dict(events)
    assert (profile.requests, profile.feature_rows, profile.output_rows) == _roles(batch)
    assert profile.first_seen == pc.min(meta.column("timestamp")).as_py()

    mixed = batch.features["mixed"]
    column = profile.features["mixed"]
    kinds = mixed.kinds
    numeric = mixed.numbers[(kinds == ValueKind.NUMBER) | (kinds == ValueKind.BOOL)]
    assert column.present == int((kinds != ValueKind.ABSENT).sum())
    assert column.nulls == int((kinds == ValueKind.NULL).sum())
    assert column.type_counts == {
        "number": int((kinds == ValueKind.NUMBER).sum()),
        "string": int((kinds == ValueKind.STRING).sum()),
        "bool": int((kinds == ValueKind.BOOL).sum()),
    }
    assert column.nans == int(np.isnan(numeric).sum())
    assert column.pos_inf == int((numeric == np.inf).sum())
    assert column.neg_inf == int((numeric == -np.inf).sum())
    finite = numeric[np.isfinite(numeric)]
    assert column.moments.count == column.quantiles.n == finite.size
    assert column.moments.mean == float(finite.mean())
    texts = Counter(t for t in mixed.texts.to_pylist() if t is not None)
    assert dict(column.frequent.items()) == dict(texts)
    # distinct: 4 finite numbers (1.5, -2, 3.25, 7) + bools 0/1 + 3 words + the string "true"
    assert round(column.distinct.estimate()) == 4 + 2 + 4

    latency = meta.column("latency_ms").drop_null().to_numpy()
    assert profile.latency.present == latency.size
    histogram = profile.latency.histogram
    assert histogram is not None and histogram.total == latency.size
    for q in (0.5, 0.9, 0.99):
        exact = float(np.quantile(latency, q, method="lower"))
        assert abs(histogram.quantile(q) - exact) <= SPEC.latency_bucket_ratio * exact
    assert profile.labels.present == events["label"]
    assert profile.tags["region"].total == len(batch.tags["region"].drop_null())


def test_host_latency_keeps_busiest_hosts_and_folds_the_rest() -> None:
    batch = synthetic_batch(3, 4000, start=START, span=timedelta(minutes=10), hosts=6)
    spec = ProfileSpec(max_hosts=2)
    (profile,) = profile_batch(batch, spec).values()
    hosts = batch.meta.column("host").to_pylist()
    latency = batch.meta.column("latency_ms").to_pylist()
    per_host = Counter(h for h, v in zip(hosts, latency, strict=True) if h and v is not None)
    busiest = sorted(per_host, key=lambda h: (-per_host[h], h))[:2]
    assert set(profile.host_latency) == {*busiest, OTHER_HOSTS}
    for host in busiest:
        assert profile.host_latency[host].total == per_host[host]
    assert profile.host_latency[OTHER_HOSTS].total == sum(per_host.values()) - sum(
        per_host[h] for h in busiest
    )


def test_empty_batch_gives_no_profiles() -> None:
    assert profile_batch(RecordBatch.empty(), SPEC) == {}


def test_absent_column_is_counted_as_absent() -> None:
    batch = synthetic_batch(4, 100, start=START, span=timedelta(minutes=5))
    features = dict(batch.features)
    features["age"] = type(features["age"]).absent(100)
    (profile,) = profile_batch(
        RecordBatch(meta=batch.meta, features=features, tags={"t": pa.nulls(100, pa.string())}),
        SPEC,
    ).values()
    assert profile.features["age"].present == 0
    assert profile.features["age"].quantiles.n == 0
    assert profile.tags["t"].total == 0


def _without_quantiles(profile: Profile) -> Profile:
    """``profile`` with every quantile sketch emptied: all that is left must be exact."""
    from vigil.profile.quantiles import QuantileSketch

    def column(one: ColumnProfile) -> ColumnProfile:
        return replace(one, quantiles=QuantileSketch.empty(one.quantiles.k))

    return replace(
        profile,
        features={name: column(c) for name, c in profile.features.items()},
        outputs={name: column(c) for name, c in profile.outputs.items()},
        latency=column(profile.latency),
        labels=column(profile.labels),
    )


def test_profiling_the_same_rows_twice_is_exact_but_for_kll_compaction() -> None:
    """The equivalence a re-run keeps (RELIABILITY.md). Past ``k`` rows a KLL sketch compacts
    with coin flips DataSketches gives no seed for, so two runs over the same rows may store
    different quantile sketches. Everything else in a profile (counts, moments, distinct
    counts, frequent items, histograms) is bit-for-bit the same, and each run's quantiles lie
    within the rank error KLL states for its ``k``."""
    batch = synthetic_batch(7, 20_000, start=START, span=timedelta(hours=1), models=("m",))
    first, second = (profile_batch(batch, SPEC) for _ in range(2))
    assert first.keys() == second.keys() and len(first) == 1
    (key,) = first
    assert first[key].rows > 10 * SPEC.kll_k  # far into compaction
    assert _without_quantiles(first[key]).to_bytes() == _without_quantiles(second[key]).to_bytes()
    for name, column in batch.features.items():
        finite = np.sort(column.numbers[np.isfinite(column.numbers)])
        if finite.size < 10 * SPEC.kll_k:
            continue
        for profile in (first[key], second[key]):
            sketch = profile.features[name].quantiles
            bound = 2 * sketch.normalized_rank_error  # twice the 99% bound: never exceeded
            for q in np.linspace(0.05, 0.95, 19):
                value = sketch.quantile(q)  # with ties, any rank the value spans is right
                low = np.searchsorted(finite, value, side="left") / finite.size
                high = np.searchsorted(finite, value, side="right") / finite.size
                assert low - bound <= q <= high + bound, (name, q, low, high)


def test_numbers_near_the_float_limit_give_infinite_moments_not_an_error() -> None:
    """Found by the pipeline fuzz: a feature of 1e308 overflowed the squares of the moments,
    and numpy's warning (an error under strict warnings) failed the model's profiling."""
    from vigil.profile.moments import Moments

    batch = synthetic_batch(1, 3, start=START, span=timedelta(minutes=1), models=("m",))
    column = next(iter(batch.features.values()))
    huge = replace(
        column,
        numbers=np.array([1e308, -1e308, 1e308]),
        kinds=np.full(3, ValueKind.NUMBER, dtype=np.int8),
    )
    profile = profile_column(huge, SPEC)
    assert profile.moments.count == 3 and math.isinf(profile.moments.m2)
    merged = Moments.merge_all([profile.moments, profile.moments, Moments.of(np.array([1.0]))])
    assert merged.count == 7 and math.isinf(merged.m2)
