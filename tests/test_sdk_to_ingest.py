"""What the SDK writes, the ingest stage reads: every record valid, partitions agreed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from vigil.core import ValueKind
from vigil.ingest import HivePartitionedReader
from vigil.sdk import JsonLinesSink, Logger

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
