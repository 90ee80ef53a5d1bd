"""Typed sources (Parquet files, arrow and pandas tables): vectorized, equal to the JSON path."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigil.core import ValueKind
from vigil.ingest import (
    DEFAULT_LIMITS,
    IngestChunk,
    ListReader,
    ParquetReader,
    RecordBatch,
    TableReader,
    table_to_chunk,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "model": "ranker",
            "version": "v3",
            "timestamp": 1.79e9 + i,
            "request_id": f"r{i}",
            "event": "prediction",
            "latency_ms": float(i % 7),
            "features": {"age": i % 90, "country": ["DE", "FR"][i % 2], "new": i % 3 == 0},
            "outputs": {"score": i / n, "ranked": [0.9, 0.5][: i % 3]},
            "tags": {"region": "eu"},
        }
        for i in range(n)
    ]


def one(chunks: list[IngestChunk]) -> IngestChunk:
    (chunk,) = chunks
    return chunk


def assert_same_batch(a: RecordBatch, b: RecordBatch) -> None:
    assert a.meta.equals(b.meta)
    for mine, theirs in ((a.features, b.features), (a.outputs, b.outputs)):
        assert set(mine) == set(theirs)
        for name, column in mine.items():
            other = theirs[name]
            np.testing.assert_array_equal(column.kinds, other.kinds, err_msg=name)
            np.testing.assert_array_equal(column.numbers, other.numbers, err_msg=name)
            assert column.texts.to_pylist() == other.texts.to_pylist(), name
    assert {k: v.to_pylist() for k, v in a.tags.items()} == {
        k: v.to_pylist() for k, v in b.tags.items()
    }


def test_parquet_with_struct_columns_equals_the_json_path(tmp_path: Path) -> None:
    rows = records(30)
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    typed = one(list(ParquetReader(path, now=NOW).read()))
    json = one(list(ListReader(rows, now=NOW).read()))
    assert typed.quarantined == json.quarantined == ()
    assert_same_batch(typed.batch, json.batch)
    assert typed.batch.outputs["ranked.length"].numbers[:3].tolist() == [0.0, 1.0, 2.0]
    assert typed.batch.outputs["ranked.top"].kinds[0] == ValueKind.NULL


def test_flattened_columns_and_timestamp_types(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "model": ["m", "m", "m"],
            "timestamp": pd.to_datetime(["2026-11-20T00:00:00Z"] * 3),
            "features.age": [31, None, 40],
            "features.country": ["DE", None, "FR"],
            "outputs.score": [0.1, 0.2, 0.3],
            "tags.region": ["eu", "us", None],
            "something_else": [1, 2, 3],
        }
    )
    path = tmp_path / "flat.parquet"
    frame.to_parquet(path)
    chunk = one(list(ParquetReader(path, now=NOW).read()))
    assert chunk.quarantined == ()
    age = chunk.batch.features["age"]
    assert list(age.kinds) == [ValueKind.NUMBER, ValueKind.NULL, ValueKind.NUMBER]
    assert chunk.batch.features["country"].texts.to_pylist() == ["DE", None, "FR"]
    assert chunk.batch.tags["region"].to_pylist() == ["eu", "us", None]
    assert set(chunk.batch.timestamps_us()) == {int(T0.timestamp() * 1e6)}


def test_file_without_model_column_quarantines_every_row(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"timestamp": [1.79e9, 1.79e9], "features.x": [1, 2]}), path)
    chunk = one(list(ParquetReader(path, now=NOW).read()))
    assert chunk.batch.num_rows == 0 and len(chunk.quarantined) == 2
    assert all("no 'model' column" in q.reason for q in chunk.quarantined)
    assert [q.position for q in chunk.quarantined] == [1, 2]
    assert '"timestamp":1790000000.0' in chunk.quarantined[0].raw


def test_file_without_timestamp_column_quarantines_every_row(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"model": ["m"]}), path)
    (row,) = one(list(ParquetReader(path, now=NOW).read())).quarantined
    assert "no 'timestamp' column" in row.reason and row.model == "m"


NAIVE = T0.replace(tzinfo=None)
BAD_COLUMNS: list[tuple[str, list[Any], str]] = [
    ("timestamp", [NAIVE, NAIVE], "no time zone"),
    ("model", ["m", None], "missing field 'model'"),
    ("model", ["m", ""], "field 'model' is empty"),
    ("model", [1, 2], "column 'model' has type int64"),
    ("event", [None, "clicked"], "event 'clicked' is not one of"),
    ("latency_ms", [1.0, -2.0], "'latency_ms' must be >= 0"),
    ("latency_ms", [1.0, np.inf], "'latency_ms' must be finite"),
    ("timestamp", [1.79e9, 9.9e9], "more than 1 day in the future"),
    ("timestamp", [1.79e9, -1.0], "before 2000-01-01"),
    ("timestamp", ["2026-11-20T00:00:00Z", "2026-11-20"], "no time zone"),
    ("features.geo", [None, {"lat": 1.0}], "feature 'geo' is a nested object"),
    ("features.h", [None, [1, 2]], "feature 'h' is a nested list"),
    ("outputs.label", [None, "cat"], "output 'label' must be a number"),
    ("outputs.r", [[1.0], [1.0, None]], "output 'r' is a list holding null"),
    ("tags.n", [None, 5], "tag 'n' must be a string"),
    ("request_id", [None, "x" * 70_000], "'request_id' is a string over"),
]


@pytest.mark.parametrize(
    ("name", "values", "reason"), BAD_COLUMNS, ids=[r for *_, r in BAD_COLUMNS]
)
def test_bad_typed_rows_are_quarantined_with_reasons(
    name: str, values: list[Any], reason: str
) -> None:
    columns = {"model": pa.array(["m", "m"]), "timestamp": pa.array([T0, T0])}
    columns[name] = pa.array(values)
    chunk = table_to_chunk(pa.table(columns), source="t", rules=DEFAULT_LIMITS.rules(NOW))
    assert chunk.quarantined, reason
    assert all(reason in q.reason for q in chunk.quarantined), chunk.quarantined
    assert chunk.batch.num_rows + len(chunk.quarantined) == 2


def test_parquet_chunks_are_bounded_and_positions_continue(tmp_path: Path) -> None:
    rows = records(25)
    rows[21]["latency_ms"] = -1.0
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)
    chunks = list(ParquetReader(path, now=NOW, chunk_rows=10).read())
    assert all(c.rows_read <= 10 for c in chunks)
    assert sum(c.rows_read for c in chunks) == 25
    (bad,) = [q for c in chunks for q in c.quarantined]
    assert bad.position == 22 and bad.model == "ranker"


def test_table_reader_on_arrow_and_pandas() -> None:
    rows = records(12)
    arrow = pa.Table.from_pylist(rows)
    by_arrow = list(TableReader(arrow, source="mem", chunk_rows=5, now=NOW).read())
    assert [c.rows_read for c in by_arrow] == [5, 5, 2]
    frame = pd.DataFrame(rows)
    by_pandas = list(TableReader(frame, source="mem", chunk_rows=5, now=NOW).read())
    for a, b in zip(by_arrow, by_pandas, strict=True):
        assert_same_batch(a.batch, b.batch)


def test_dataframe_with_mixed_types_falls_back_to_rows_and_keeps_them() -> None:
    frame = pd.DataFrame(
        [
            {"model": "m", "timestamp": 1.79e9, "features": {"x": 1}},
            {"model": "m", "timestamp": 1.79e9, "features": {"x": "one"}},
        ]
    )
    chunk = one(list(TableReader(frame, now=NOW).read()))
    assert list(chunk.batch.features["x"].kinds) == [ValueKind.NUMBER, ValueKind.STRING]


def test_empty_parquet_yields_one_empty_chunk(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist(records(3)).slice(0, 0), path)
    chunk = one(list(ParquetReader(path, now=NOW).read()))
    assert chunk.rows_read == 0
