"""What the SDK writes, the ingest stage reads: valid records, agreed partitions, one schema."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import vigil.sdk
import vigil_sdk
from vigil.core import KNOWN_FIELDS, EventKind, ValueKind
from vigil.ingest import HivePartitionedReader
from vigil.sdk import EVENT_KINDS, JsonLinesSink, Logger, MemorySink

START = datetime(2026, 11, 20, 10, 59, 59, tzinfo=UTC).timestamp()


def test_sdk_files_read_back_through_the_hive_reader_without_quarantine(tmp_path: Path) -> None:
    times = iter(START + i * 0.4 for i in range(100))
    sink = JsonLinesSink(tmp_path, rotate_bytes=4000)
    with Logger("fraud/eu", "v2", sink=sink, clock=lambda: next(times), close_at_exit=False) as log:
        first = log.log(
            {"age": 31, "country": "DE", "new": True, "geo": None},
            {"score": 0.5, "ranked": [0.9, 0.1]},
            3.0,
            tags={"region": "eu"},
        )
        log.log({"age": float("nan")}, {"score": 0.1})
        arrival = log.log_arrival({"age": 40})
        log.log_completion(arrival, {"score": 0.2}, latency_ms=1.0)
        log.log_label(first, 1)
        for i in range(20):
            log.log({"age": i}, {"score": i / 20})
    chunks = list(HivePartitionedReader(tmp_path, now=datetime(2026, 11, 21, tzinfo=UTC)).read())
    assert [q.reason for chunk in chunks for q in chunk.quarantined] == []
    assert sum(chunk.batch.num_rows for chunk in chunks) == 25
    assert len({chunk.source for chunk in chunks}) >= 2  # the hour boundary, and size rotation
    events = [e for chunk in chunks for e in chunk.batch.meta.column("event").to_pylist()]
    assert sorted(set(events)) == ["arrival", "completion", "label", "prediction"]
    models = {m for chunk in chunks for m in chunk.batch.meta.column("model").to_pylist()}
    assert models == {"fraud/eu"}
    nan_row = chunks[0].batch.features["age"].kinds[1]
    assert nan_row == ValueKind.NULL  # NaN travelled as null: strict JSON


def test_the_sdk_speaks_the_record_schema_vigil_reads() -> None:
    """The SDK cannot import vigil.core, so its copy of the schema is checked against it here."""
    assert tuple(kind.value for kind in EventKind) == EVENT_KINDS
    sink = MemorySink()
    with Logger("m", "v", sink=sink, close_at_exit=False) as log:
        rid = log.log({"a": 1}, {"s": 0.5}, 2.0, tags={"t": "x"})
        log.log_arrival({"a": 2})
        log.log_completion(rid, {"s": 0.1}, 1.0)
        log.log_label(rid, 1)
    records = sink.records()
    assert {field for record in records for field in record} == set(KNOWN_FIELDS)
    assert [record["event"] for record in records] == [kind.value for kind in EventKind]


def test_vigil_sdk_is_the_vigil_sdk_distribution() -> None:
    assert vigil.sdk.Logger is vigil_sdk.Logger
    assert vigil.sdk.__all__ == [name for name in vigil_sdk.__all__ if name != "__version__"]
    assert all(getattr(vigil.sdk, name) is getattr(vigil_sdk, name) for name in vigil.sdk.__all__)
