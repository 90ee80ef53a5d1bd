"""One conformance suite for every Sketch: identity, commutativity, associativity, purity, bytes.

Inputs stay below KLL's ``k`` and the frequent-items capacity, where every sketch is exact, so
the monoid laws can be checked with equality; the approximate regime is tested per sketch.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from vigil.ingest import RecordBatch
from vigil.profile import (
    ColumnProfile,
    DistinctSketch,
    FrequentItems,
    LogHistogram,
    Profile,
    ProfileSpec,
    QuantileSketch,
    profile_batch,
)
from vigil.profile.sketch import Sketch
from vigil.profile.synthetic import synthetic_batch

START = datetime(2026, 11, 20, tzinfo=UTC)


def _profile(seed: int) -> Profile:
    if seed < 0:
        (key,) = profile_batch(_batch(0), ProfileSpec())
        return Profile.empty(key, ProfileSpec())
    return next(iter(profile_batch(_batch(seed), ProfileSpec()).values()))


def _batch(seed: int) -> RecordBatch:
    return synthetic_batch(seed, 60, start=START, span=timedelta(minutes=30))


def _rounded(column: ColumnProfile) -> ColumnProfile:
    m = column.moments
    moments = replace(m, mean=float(f"{m.mean:.10g}"), m2=float(f"{m.m2:.10g}"))
    return replace(column, moments=moments)


def _comparable(x: Sketch) -> object:
    """Moments are floating-point sums: their merges agree to rounding, not to the bit."""
    if not isinstance(x, Profile):
        return x
    return replace(
        x,
        features={name: _rounded(c) for name, c in x.features.items()},
        outputs={name: _rounded(c) for name, c in x.outputs.items()},
        latency=_rounded(x.latency),
        labels=_rounded(x.labels),
    )


def _numbers(seed: int) -> npt.NDArray[np.float64]:
    return np.random.default_rng(seed).lognormal(1.0, 1.0, 40 + seed)


def _words(seed: int) -> pa.Array:
    rng = np.random.default_rng(seed)
    return pa.array(rng.choice(["a", "b", "c", "d", "e"], 30 + seed).tolist())


# name -> build(seed); seed < 0 builds the empty sketch.
BUILDERS: dict[str, Callable[[int], Sketch]] = {
    "quantiles": lambda s: QuantileSketch.empty(269).update(_numbers(s) if s >= 0 else []),
    "distinct": lambda s: DistinctSketch.empty(12).update(_numbers(s) if s >= 0 else np.zeros(0)),
    "frequent": lambda s: FrequentItems.empty(7).update(_words(s) if s >= 0 else pa.array([])),
    "histogram": lambda s: LogHistogram.empty(0.02).update(_numbers(s) if s >= 0 else []),
    "profile": _profile,
}


@pytest.fixture(params=sorted(BUILDERS))
def build(request: pytest.FixtureRequest) -> Callable[[int], Sketch]:
    return BUILDERS[request.param]


def test_is_a_sketch(build: Callable[[int], Sketch]) -> None:
    assert isinstance(build(1), Sketch)


def test_empty_is_identity(build: Callable[[int], Sketch]) -> None:
    x, empty = build(1), build(-1)
    assert x.merge(empty) == x
    assert empty.merge(x) == x


def test_merge_is_commutative_associative_and_pure(build: Callable[[int], Sketch]) -> None:
    a, b, c = build(1), build(2), build(3)
    before = [s.to_bytes() for s in (a, b, c)]
    assert _comparable(a.merge(b)) == _comparable(b.merge(a))
    assert _comparable(a.merge(b).merge(c)) == _comparable(a.merge(b.merge(c)))
    assert [s.to_bytes() for s in (a, b, c)] == before


def test_bytes_and_pickle_round_trip(build: Callable[[int], Sketch]) -> None:
    for x in (build(-1), build(4), build(4).merge(build(5))):
        restored = type(x).from_bytes(x.to_bytes())
        assert restored == x
        assert restored.to_bytes() == x.to_bytes()
        assert pickle.loads(pickle.dumps(x)) == x
