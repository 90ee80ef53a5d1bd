"""Every reader keeps the invariant: rows read = rows in batches + rows quarantined.

A conformance suite run over every reader on random mixes of valid and invalid records, plus
the check that the rows a reader quarantines are exactly those the validator refuses.
"""

from __future__ import annotations

import gzip
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.ingest import (
    HivePartitionedReader,
    IngestChunk,
    JsonLinesReader,
    ListReader,
    ParquetReader,
    Reader,
    TableReader,
    record_problem,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
feature_values = st.one_of(scalars, st.lists(st.integers(-9, 9), max_size=2), st.just({"a": 1}))
output_values = st.one_of(
    st.none(),
    st.floats(allow_nan=False),
    st.lists(st.floats(-1, 1), max_size=3),
    st.just("label"),
)
names = st.sampled_from(["a", "b", "c", "r"])
tag_values = st.one_of(st.text(max_size=3), st.integers(0, 9))
records = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["ranker", "fraud", "", None, 3]),
        "timestamp": st.sampled_from(
            ["2026-11-20T10:00:00Z", "2026-11-20T10:00:00", 1.79e9, -1, 9e9, "soon", None]
        ),
        "version": st.sampled_from(["v1", "", 2]),
        "event": st.sampled_from(["prediction", "label", "oops"]),
        "latency_ms": st.one_of(st.floats(-1, 100), st.just("slow")),
        "features": st.dictionaries(names, feature_values, max_size=4),
        "outputs": st.dictionaries(names, output_values, max_size=3),
        "tags": st.dictionaries(names, tag_values, max_size=2),
        "unknown": st.integers(0, 9),
    },
)
items = st.lists(st.one_of(records, st.just([1, 2]), st.just("not json")), max_size=40)


def as_json_line(item: Any) -> bytes:
    return item.encode() if isinstance(item, str) else orjson.dumps(item)


def check_invariant(chunks: list[IngestChunk], *, rows: int, chunk_rows: int) -> set[int]:
    """Checks the reader-independent invariants; returns the quarantined positions."""
    assert sum(c.rows_read for c in chunks) == rows
    assert all(c.rows_read <= chunk_rows for c in chunks)
    for chunk in chunks:
        assert chunk.rows_read == chunk.batch.num_rows + len(chunk.quarantined)
        for column in [*chunk.batch.features.values(), *chunk.batch.outputs.values()]:
            assert len(column) == chunk.batch.num_rows
    positions = [q.position for c in chunks for q in c.quarantined if q.position is not None]
    assert len(positions) == len(set(positions)) and all(1 <= p <= rows for p in positions)
    assert all(q.reason and q.raw for c in chunks for q in c.quarantined)
    return set(positions)


def expected_quarantine(lines: list[bytes]) -> set[int]:
    refused = set()
    for position, line in enumerate(lines, start=1):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            refused.add(position)
            continue
        if record_problem(record, now=NOW) is not None:
            refused.add(position)
    return refused


JsonReaderFactory = Callable[[Path, list[bytes], int], Reader]


def plain(folder: Path, lines: list[bytes], chunk_rows: int) -> Reader:
    path = folder / "a.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return JsonLinesReader(path, now=NOW, chunk_rows=chunk_rows)


def packed(folder: Path, lines: list[bytes], chunk_rows: int) -> Reader:
    path = folder / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines)))
    return JsonLinesReader(path, now=NOW, chunk_rows=chunk_rows)


def listed(folder: Path, lines: list[bytes], chunk_rows: int) -> Reader:
    return ListReader(lines, now=NOW, chunk_rows=chunk_rows)


def hive(folder: Path, lines: list[bytes], chunk_rows: int) -> Reader:
    (folder / "date=2026-11-20").mkdir()
    plain(folder / "date=2026-11-20", lines, chunk_rows)
    return HivePartitionedReader(folder, now=NOW, chunk_rows=chunk_rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=items, chunk_rows=st.integers(1, 12), make=st.sampled_from([plain, packed, listed, hive])
)
def test_json_readers_keep_the_invariant_and_quarantine_exactly_the_refused(
    items: list[Any], chunk_rows: int, make: JsonReaderFactory
) -> None:
    lines = [as_json_line(item) for item in items]
    with tempfile.TemporaryDirectory() as folder:
        chunks = list(make(Path(folder), lines, chunk_rows).read())
    quarantined = check_invariant(chunks, rows=len(lines), chunk_rows=chunk_rows)
    assert quarantined == expected_quarantine(lines)


typed_rows = st.lists(
    st.fixed_dictionaries(
        {
            "model": st.sampled_from(["ranker", "", None]),
            "timestamp": st.sampled_from([1.79e9, -5.0, 9e9, None]),
            "latency_ms": st.one_of(st.none(), st.floats(-1, 10)),
            "features.x": st.one_of(st.none(), st.floats(allow_nan=True)),
            "outputs.r": st.one_of(st.none(), st.lists(st.floats(0, 1), max_size=3)),
        }
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=typed_rows, chunk_rows=st.integers(1, 12), use_parquet=st.booleans())
def test_typed_readers_keep_the_invariant_and_agree_with_the_json_path(
    rows: list[dict[str, Any]], chunk_rows: int, use_parquet: bool
) -> None:
    schema = pa.schema(
        [
            ("model", pa.string()),
            ("timestamp", pa.float64()),
            ("latency_ms", pa.float64()),
            ("features.x", pa.float64()),
            ("outputs.r", pa.list_(pa.float64())),
        ]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    with tempfile.TemporaryDirectory() as folder:
        if use_parquet:
            path = Path(folder) / "a.parquet"
            pq.write_table(table, path)
            chunks = list(ParquetReader(path, now=NOW, chunk_rows=chunk_rows).read())
        else:
            chunks = list(TableReader(table, now=NOW, chunk_rows=chunk_rows).read())
    quarantined = check_invariant(chunks, rows=len(rows), chunk_rows=chunk_rows)
    as_records = [
        {
            "model": row["model"],
            "timestamp": row["timestamp"],
            "latency_ms": row["latency_ms"],
            "features": {"x": row["features.x"]},
            "outputs": {"r": row["outputs.r"]},
        }
        for row in rows
    ]
    expected = {i for i, r in enumerate(as_records, start=1) if record_problem(r, now=NOW)}
    assert quarantined == expected
