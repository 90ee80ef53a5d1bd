"""profile_batch: grouping and the counts of every column, checked against direct computation."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ValueKind
from vigil.ingest import RecordBatch
from vigil.profile import OTHER_HOSTS, ProfileSpec, profile_batch
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


def test_single_group_counts_match_direct_computation() -> None:
    batch = synthetic_batch(2, 5000, start=START, span=timedelta(minutes=50))
    (profile,) = profile_batch(batch, SPEC).values()
    meta = batch.meta
    assert profile.rows == 5000
    events = Counter(meta.column("event").to_pylist())
    assert {k: v for k, v in profile.events.items() if v} == dict(events)
    assert profile.requests == events["prediction"] + events["arrival"]
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
