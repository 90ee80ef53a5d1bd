"""Profile bytes: version 3 round-trips exactly, version 1 and 2 bytes (already stored) still
read, and HLL registers take their sparse form only when it is smaller."""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from vigil.core import SerializationError
from vigil.ingest import Column
from vigil.profile import (
    DistinctSketch,
    Moments,
    Profile,
    ProfileSpec,
    ProfileSummary,
    profile_batch,
)
from vigil.profile.column_stats import profile_column
from vigil.profile.envelope import FORMAT_VERSION, MAGIC, payload_of
from vigil.profile.synthetic import synthetic_batch

START = datetime(2026, 11, 20, tzinfo=UTC)
V1 = Path(__file__).parent / "data" / "profile_v1.bin"


def _profile(seed: int, rows: int) -> Profile:
    batch = synthetic_batch(seed, rows, start=START, span=timedelta(minutes=59))
    (profile,) = profile_batch(batch, ProfileSpec()).values()
    return profile


def test_version_1_bytes_read_as_the_profile_they_hold() -> None:
    # Written by the version 1 encoder from synthetic_batch(5, 200): below KLL's k every
    # sketch is exact, so today's profile of the same rows is equal, field by field.
    # Version 1 predates row roles: what carried features and outputs is read from the events.
    data = V1.read_bytes()
    assert data[4:6] == (1).to_bytes(2, "little")
    today = _profile(5, 200)
    events = today.events
    read = Profile.from_bytes(data)
    assert read == replace(
        today,
        feature_rows=events["prediction"] + events["arrival"],
        output_rows=events["prediction"] + events["completion"],
    )


@pytest.mark.parametrize("rows", [1, 200, 3_000])
def test_version_3_round_trips_exactly(rows: int) -> None:
    profile = _profile(rows, rows)
    data = profile.to_bytes()
    assert data[4:6] == FORMAT_VERSION.to_bytes(2, "little") == (3).to_bytes(2, "little")
    restored = Profile.from_bytes(data)
    assert restored == profile
    assert restored.to_bytes() == data


def _as_version_2(data: bytes) -> bytes:
    """The bytes version 2 wrote for the same profile: the same payload, zlib-compressed."""
    return MAGIC + struct.pack("<H", 2) + zlib.compress(payload_of(data), 1)


@pytest.mark.parametrize("rows", [1, 200, 3_000])
def test_version_2_bytes_read_as_the_same_profile(rows: int) -> None:
    # Stores hold version 2 profiles: version 3 changed the compression, not the payload.
    profile = _profile(rows, rows)
    old = _as_version_2(profile.to_bytes())
    assert Profile.from_bytes(old) == profile
    assert ProfileSummary.from_bytes(old) == ProfileSummary.from_bytes(profile.to_bytes())
    assert Profile.from_bytes(old).to_bytes() == profile.to_bytes()


@pytest.mark.parametrize("cut", [1, 20, 1_000])
def test_cut_or_altered_version_3_bytes_are_refused_as_corrupt(cut: int) -> None:
    data = _profile(5, 200).to_bytes()
    with pytest.raises(SerializationError, match="corrupt"):
        Profile.from_bytes(data[:-cut])
    bigger = data[:6] + struct.pack("<I", struct.unpack_from("<I", data, 6)[0] + 1) + data[10:]
    with pytest.raises(SerializationError, match="corrupt"):
        Profile.from_bytes(bigger)


def test_every_bit_of_the_moments_survives() -> None:
    # Empty moments hold +-inf; a huge column's m2 overflows to inf. Both come back as written.
    with np.errstate(over="ignore"):
        column = profile_column(Column.from_numbers(np.array([1e308, -1e308, 3.0])), ProfileSpec())
    assert math.isinf(column.moments.m2)
    empty = profile_column(Column.absent(3), ProfileSpec())
    extreme = replace(_profile(1, 50), features={"huge": column, "empty": empty}, outputs={})
    restored = Profile.from_bytes(extreme.to_bytes())
    assert restored.features["huge"].moments == column.moments
    assert restored.features["empty"].moments == Moments()  # min inf, max -inf


@pytest.mark.parametrize(("lg_k", "values"), [(12, 10), (12, 5_000), (18, 3), (4, 2)])
def test_hll_bytes_are_sparse_only_when_smaller(lg_k: int, values: int) -> None:
    sketch = DistinctSketch.empty(lg_k).update(np.arange(values, dtype=np.float64))
    data = sketch.to_bytes()
    assert len(data) <= 1 + (1 << lg_k)
    assert DistinctSketch.from_bytes(data) == sketch
    sparse = 1 + int(np.count_nonzero(sketch.registers)) * (3 if lg_k <= 16 else 5)
    assert len(data) == (sparse if sparse < 1 + (1 << lg_k) else 1 + (1 << lg_k))


def test_corrupt_hll_bytes_are_refused() -> None:
    sparse = DistinctSketch.empty(12).update(np.arange(10, dtype=np.float64)).to_bytes()
    with pytest.raises(SerializationError, match="sparse"):
        DistinctSketch.from_bytes(sparse[:-1])
    with pytest.raises(SerializationError, match="corrupt"):
        DistinctSketch.from_bytes(bytes([0x80 | 30]))
    with pytest.raises(SerializationError, match="sparse"):
        DistinctSketch.from_bytes(bytes([0x80 | 4]) + (99).to_bytes(2, "little") + b"\x01")


@pytest.mark.parametrize("data", ["v1", "v2"])
def test_a_summary_reads_the_counts_the_whole_profile_holds(data: str) -> None:
    raw = V1.read_bytes() if data == "v1" else _profile(3, 500).to_bytes()
    profile = Profile.from_bytes(raw)
    summary = ProfileSummary.from_bytes(raw)
    assert summary == ProfileSummary(
        key=profile.key,
        rows=profile.rows,
        requests=profile.requests,
        columns=len(profile.features) + len(profile.outputs),
    )
    assert summary.columns > 0 and summary.requests > 0


def test_a_summary_of_corrupt_bytes_is_refused() -> None:
    raw = _profile(3, 50).to_bytes()
    with pytest.raises(SerializationError, match="bad magic"):
        ProfileSummary.from_bytes(b"XXXX" + raw[4:])
    with pytest.raises(SerializationError, match="corrupt"):
        ProfileSummary.from_bytes(raw[:20])
