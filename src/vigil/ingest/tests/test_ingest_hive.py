"""Hive-partitioned folders and choosing a reader by path."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigil.core import ConfigError
from vigil.ingest import (
    HivePartitionedReader,
    JsonLinesReader,
    ParquetReader,
    Reader,
    open_reader,
    partition_values,
)

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def write_jsonl(path: Path, rows: list[dict[str, object]], *, packed: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    path.write_bytes(gzip.compress(data) if packed else data)


@pytest.fixture
def hive(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    ranker = root / "model=ranker" / "version=v3" / "date=2026-11-20"
    write_jsonl(ranker / "hour=01" / "part-0.jsonl", [{"timestamp": 1.79e9 + 3600}] * 2)
    write_jsonl(
        ranker / "hour=00" / "part-0.jsonl.gz",
        [{"timestamp": 1.79e9}, {"timestamp": 1.79e9, "model": "fraud"}],
        packed=True,
    )
    fraud = root / "model=fraud" / "version=v1" / "date=2026-11-20" / "hour=00"
    fraud.mkdir(parents=True)
    pq.write_table(pa.table({"timestamp": [1.79e9], "features.x": [1.0]}), fraud / "p.parquet")
    (root / "_SUCCESS").write_bytes(b"")
    (ranker / "hour=00" / "README.txt").write_text("not a log")
    return root


def test_partitions_fill_fields_and_disagreement_is_quarantined(hive: Path) -> None:
    chunks = list(HivePartitionedReader(hive, now=NOW).read())
    sources = [Path(c.source).relative_to(hive).as_posix() for c in chunks]
    assert sources == [
        "model=fraud/version=v1/date=2026-11-20/hour=00/p.parquet",
        "model=ranker/version=v3/date=2026-11-20/hour=00/part-0.jsonl.gz",
        "model=ranker/version=v3/date=2026-11-20/hour=01/part-0.jsonl",
    ]
    fraud, ranker_00, ranker_01 = chunks
    assert fraud.batch.meta.column("model").to_pylist() == ["fraud"]
    assert fraud.batch.meta.column("version").to_pylist() == ["v1"]
    assert ranker_00.batch.meta.column("model").to_pylist() == ["ranker"]
    (bad,) = ranker_00.quarantined
    assert (
        bad.position == 2
        and bad.reason == "model 'fraud' disagrees with its partition model=ranker"
    )
    assert ranker_01.batch.meta.column("version").to_pylist() == ["v3", "v3"]
    assert sum(c.rows_read for c in chunks) == 5


def test_parquet_model_disagreeing_with_partition_is_quarantined(tmp_path: Path) -> None:
    folder = tmp_path / "model=a"
    folder.mkdir()
    pq.write_table(
        pa.table({"model": ["a", "b", None], "timestamp": [1.79e9] * 3}), folder / "x.parquet"
    )
    (chunk,) = list(HivePartitionedReader(tmp_path, now=NOW).read())
    assert chunk.batch.meta.column("model").to_pylist() == ["a", "a"]
    (bad,) = chunk.quarantined
    assert bad.position == 2 and "model 'b' disagrees with its partition model=a" in bad.reason


def test_partition_values_decode_and_ignore_other_keys() -> None:
    path = Path("model=my%20model/version=__HIVE_DEFAULT_PARTITION__/date=2026-11-20/f.jsonl")
    assert partition_values(path) == {"model": "my model"}


def test_open_reader_chooses_by_suffix_and_folder(tmp_path: Path, hive: Path) -> None:
    assert isinstance(open_reader(hive, now=NOW), HivePartitionedReader)
    for name, kind in (
        ("a.jsonl", JsonLinesReader),
        ("a.jsonl.gz", JsonLinesReader),
        ("a.parquet", ParquetReader),
    ):
        (tmp_path / name).write_bytes(b"")
        reader = open_reader(tmp_path / name, now=NOW, chunk_rows=7)
        assert isinstance(reader, kind) and isinstance(reader, Reader)
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(ConfigError, match=r"cannot tell how to read .*a\.csv"):
        open_reader(tmp_path / "a.csv", now=NOW)
    with pytest.raises(ConfigError, match="does not exist"):
        open_reader(tmp_path / "missing.jsonl", now=NOW)
