"""Segment profiles: every row in exactly one segment per tag, a bounded number of segments
(both sides of the cap, in a batch and after merges), merges equal to one pass, exact bytes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from vigil.core import ConfigError
from vigil.ingest import RecordBatch
from vigil.profile import NO_VALUE, OTHER_VALUE, Profile, ProfileSpec, profile_batch, rollup
from vigil.profile.synthetic import synthetic_batch
from vigil.profile.tests.test_profile_merge import assert_profiles_agree

START = datetime(2026, 11, 20, tzinfo=UTC)
SPEC = ProfileSpec(segments=("region",))


def _batch(seed: int, rows: int, *, span: timedelta = timedelta(minutes=59)) -> RecordBatch:
    return synthetic_batch(seed, rows, start=START, span=span)


def _with_tag(batch: RecordBatch, name: str, values: list[str | None]) -> RecordBatch:
    return replace(batch, tags={**batch.tags, name: pa.array(values, pa.string())})


def _one(batch: RecordBatch, spec: ProfileSpec = SPEC) -> Profile:
    (profile,) = profile_batch(batch, spec).values()
    return profile


def test_every_row_is_in_exactly_one_segment_of_each_tag() -> None:
    batch = _batch(3, 500)
    shop = ["a", "b", None, "c"] * 125
    profile = _one(_with_tag(batch, "shop", shop), ProfileSpec(segments=("region", "shop")))
    region = {n: p for n, p in profile.segments.items() if n.startswith("region=")}
    assert set(region) == {"region=eu", "region=us", f"region={NO_VALUE}"}
    assert sum(p.rows for p in region.values()) == profile.rows == 500
    shops = {n: p.rows for n, p in profile.segments.items() if n.startswith("shop=")}
    assert shops == {"shop=a": 125, "shop=b": 125, "shop=c": 125, f"shop={NO_VALUE}": 125}
    eu = profile.segments["region=eu"]
    tags = batch.tags["region"].to_pylist()
    age = batch.features["age"].numbers
    expected = age[[t == "eu" for t in tags]]
    assert eu.features["age"].moments.count == np.isfinite(expected).sum()
    assert eu.features["age"].moments.mean == pytest.approx(np.nanmean(expected))
    assert eu.segments == {}  # a segment holds no segments of its own


def test_a_tag_no_row_has_is_one_segment_of_every_row() -> None:
    profile = _one(_batch(4, 100), ProfileSpec(segments=("shop",)))
    assert {n: p.rows for n, p in profile.segments.items()} == {f"shop={NO_VALUE}": 100}


def test_no_segments_unless_asked() -> None:
    assert _one(_batch(5, 100), ProfileSpec()).segments == {}


def _shops(counts: dict[str | None, int]) -> list[str | None]:
    return [name for name, count in counts.items() for _ in range(count)]


@pytest.mark.parametrize(("cap", "other"), [(3, False), (2, True)])
def test_values_beyond_the_cap_are_counted_in_other(cap: int, other: bool) -> None:
    # Rows without the tag are their own segment, not a value the cap counts.
    shops = _shops({"a": 50, None: 40, "b": 30, "c": 20})
    batch = _with_tag(_batch(6, 140), "shop", shops)
    profile = _one(batch, ProfileSpec(segments=("shop",), max_segment_values=cap))
    rows = {n: p.rows for n, p in profile.segments.items()}
    none = {f"shop={NO_VALUE}": 40}
    if other:  # the least frequent value is folded, counted, and named inside (other)
        assert rows == {"shop=a": 50, "shop=b": 30, f"shop={OTHER_VALUE}": 20, **none}
        folded = profile.segments[f"shop={OTHER_VALUE}"].tags["shop"]
        assert dict(folded.items()) == {"c": 20}
    else:
        assert rows == {"shop=a": 50, "shop=b": 30, "shop=c": 20, **none}
    assert sum(rows.values()) == profile.rows


@pytest.mark.parametrize(("cap", "kept"), [(2, {"shop=a", "shop=b"}), (3, None)])
def test_merges_stay_within_the_cap(cap: int, kept: set[str] | None) -> None:
    # Each hour holds two shops, three in all: within each hour's cap of 2, over it merged.
    spec = ProfileSpec(segments=("shop",), max_segment_values=cap)
    first = _one(_with_tag(_batch(7, 100), "shop", _shops({"a": 60, "b": 40})), spec)
    second = _one(_with_tag(_batch(8, 100), "shop", _shops({"a": 50, "c": 20, "b": 30})), spec)
    merged = first.merge(second)
    rows = {n: p.rows for n, p in merged.segments.items()}
    assert sum(rows.values()) == merged.rows == 200
    if kept is None:
        assert rows == {"shop=a": 110, "shop=b": 70, "shop=c": 20}
    else:
        assert rows == {"shop=a": 110, "shop=b": 70, f"shop={OTHER_VALUE}": 20}
        assert set(rows) - {f"shop={OTHER_VALUE}"} == kept


def test_merge_of_parts_equals_profile_of_whole_per_segment() -> None:
    batch = _batch(9, 800)
    head, tail = np.arange(300), np.arange(300, 800)
    parts = [_one(batch.take(index)) for index in (head, tail)]
    whole = _one(batch)
    merged = parts[0].merge(parts[1])
    assert merged.segments.keys() == whole.segments.keys()
    for name, segment in whole.segments.items():
        assert_profiles_agree(merged.segments[name], segment)


def test_rollup_keeps_segments() -> None:
    batch = _batch(10, 1_200, span=timedelta(hours=3))
    hours = list(profile_batch(batch, SPEC).values())
    assert len(hours) == 3
    (day,) = rollup(hours, timedelta(days=1)).values()
    for name in day.segments:
        assert day.segments[name].rows == sum(h.segments[name].rows for h in hours)
    assert sum(p.rows for p in day.segments.values()) == day.rows == 1_200


def test_segments_round_trip_through_bytes_exactly() -> None:
    profile = _one(_batch(11, 400))
    restored = Profile.from_bytes(profile.to_bytes())
    assert restored == profile
    assert restored.spec.segments == ("region",)
    plain = _one(_batch(11, 400), ProfileSpec())
    assert Profile.from_bytes(plain.to_bytes()) == plain


def test_profiles_of_different_segment_settings_still_merge() -> None:
    # A segment added to a running model must not make its stored history unmergeable.
    before = _one(_batch(12, 100), ProfileSpec())
    after = _one(_batch(13, 100), SPEC)
    merged = before.merge(after)
    assert merged.rows == 200
    assert sum(p.rows for p in merged.segments.values()) == 100  # only what was segmented


@pytest.mark.parametrize(
    "bad", [{"segments": ("region", "region")}, {"segments": ("",)}, {"max_segment_values": 0}]
)
def test_spec_rejects_bad_segment_settings(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ProfileSpec(**bad)  # type: ignore[arg-type]
