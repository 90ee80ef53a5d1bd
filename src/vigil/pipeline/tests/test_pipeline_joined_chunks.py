"""Small files' chunks are profiled together (``JOINED_ROWS``): the stored profiles must be the
ones each file gives alone, byte for byte, with the same counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from vigil.ingest import META_SCHEMA, Column, RecordBatch, concatenate_batches
from vigil.pipeline import profile_paths
from vigil.pipeline.profiling import JOINED_ROWS
from vigil.profile import ProfileSpec
from vigil.store import MemoryStore

NOW = datetime(2026, 12, 25, tzinfo=UTC)
START = datetime(2026, 11, 20, tzinfo=UTC)
HOURLY = ProfileSpec(window=timedelta(hours=1))


def _value(rng: np.random.Generator, row: int) -> object:
    """A feature value of every kind a log holds, ties in the categories included."""
    pick = row % 11
    if pick == 0:
        return None
    if pick == 1:
        return "NaN" if row % 2 else True
    if pick in (2, 3):
        return ["red", "green", "blue", "Zed", "éclair"][int(rng.integers(5))]
    return float(np.round(rng.normal(), 2))


def _day(path: Path, day: int, rng: np.random.Generator, *, extra: bool = False) -> Path:
    """One file of a day: 6 hours of 7-30 rows, some quarantined (bad or missing times)."""
    lines = []
    for hour in range(6):
        for row in range(int(rng.integers(7, 30))):
            at = START + timedelta(days=day, hours=hour, minutes=row % 60)
            record: dict[str, object] = {
                "model": "ranker",
                "version": "v1",
                "timestamp": at.isoformat(),
                "host": f"h{row % 3}",
                "latency_ms": float(rng.gamma(2.0)),
                "request_id": f"{day}-{hour}-{row}",
                "features": {"x": _value(rng, row), "y": float(rng.normal())},
                "outputs": {"score": float(rng.random())},
                "tags": {"region": ["eu", "us"][row % 2]},
            }
            if extra:
                record["features"] = {**record["features"], "only_here": 1.0}  # type: ignore[dict-item]
            lines.append(json.dumps(record))
        lines.append('{"model": "ranker", "timestamp": "soon"}')
        lines.append('{"model": "ranker", "features": {"x": 1}}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _stored(store: MemoryStore) -> dict[object, bytes]:
    return {profile.key: profile.to_bytes() for profile in store.profiles.get()}


def test_joined_small_files_store_the_profiles_each_file_gives_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    files = [_day(tmp_path / "logs" / f"day{day}.jsonl", day, rng) for day in range(8)]
    joined = MemoryStore()
    summary = profile_paths([tmp_path / "logs"], store=joined, spec=HOURLY, now=NOW)
    alone = MemoryStore()
    counts = [profile_paths([f], store=alone, spec=HOURLY, now=NOW) for f in files]

    assert sum(c.rows_read for c in counts) == summary.rows_read < JOINED_ROWS
    assert summary.rows_quarantined == sum(c.rows_quarantined for c in counts) == 8 * 12
    assert summary.rows_profiled == sum(c.rows_profiled for c in counts)
    assert summary.rows_read == summary.rows_profiled + summary.rows_quarantined
    assert len(_stored(joined)) == 8 * 6
    assert _stored(joined) == _stored(alone)


def test_files_with_other_columns_are_not_joined(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    _day(tmp_path / "logs" / "day0.jsonl", 0, rng)
    _day(tmp_path / "logs" / "day1.jsonl", 1, rng, extra=True)
    _day(tmp_path / "logs" / "day2.jsonl", 2, rng)
    store = MemoryStore()
    profile_paths([tmp_path / "logs"], store=store, spec=HOURLY, now=NOW)
    with_extra = {
        profile.key.window.start.day - START.day
        for profile in store.profiles.get()
        if "only_here" in profile.features
    }
    assert with_extra == {1}  # the other days' windows never list a column they lack


def test_concatenated_batches_are_the_rows_in_order_with_absent_columns() -> None:
    def batch(rows: int, first: int, feature: str | None, tag: str | None) -> RecordBatch:
        stamps = [START + timedelta(minutes=first + i) for i in range(rows)]
        meta = pa.table(
            {
                "model": ["m"] * rows,
                "version": ["v1"] * rows,
                "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                "request_id": pa.nulls(rows, pa.string()),
                "host": pa.nulls(rows, pa.string()),
                "event": ["prediction"] * rows,
                "latency_ms": pa.nulls(rows, pa.float64()),
                "label": pa.nulls(rows, pa.float64()),
            },
            schema=META_SCHEMA,
        )
        features = (
            {} if feature is None else {feature: Column.from_numbers(range(first, first + rows))}
        )
        tags = {} if tag is None else {tag: pa.array(["a"] * rows)}
        return RecordBatch(meta=meta, features=features, tags=tags)

    parts = [
        batch(2, 0, "x", None),
        batch(0, 2, "z", "t"),
        batch(3, 2, "y", "t"),
        batch(1, 5, "x", None),
    ]
    joined = concatenate_batches(parts)
    assert joined.num_rows == 6
    assert list(joined.features) == ["x", "y"]  # first met, the empty batch's "z" not at all
    assert joined.features["x"].numbers[[0, 1, 5]].tolist() == [0.0, 1.0, 5.0]
    assert np.isnan(joined.features["x"].numbers[2:5]).all()
    assert joined.features["y"].numbers[2:5].tolist() == [2.0, 3.0, 4.0]
    assert joined.tags["t"].to_pylist() == [None, None, "a", "a", "a", None]
    assert concatenate_batches(parts[:1]) is parts[0]
    assert concatenate_batches([]).num_rows == 0
