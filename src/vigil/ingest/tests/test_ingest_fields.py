"""Logs of another shape read through a field map: JSON lines and Parquet alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigil.core import ConfigError
from vigil.ingest import FieldMap, IngestLimits, JsonLinesReader, ParquetReader

NOW = datetime(2026, 3, 20, tzinfo=UTC)
WHEN = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
TABLE: dict[str, Any] = {
    "timestamp": "ts_ms",
    "timestamp_unit": "ms",
    "model": "service.name",
    "version": "service.release",
    "request_id": "trace_id",
    "event": "kind",
    "events": {"inference_done": "completion", "feedback": "label"},
    "host": "node",
    "latency": "duration_us",
    "latency_unit": "us",
    "features": "request.inputs",
    "outputs": "response.scores",
    "tags": "meta",
    "label": "truth",
}


def _foreign(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ts_ms": int(WHEN.timestamp() * 1000),
        "service": {"name": "loans", "release": "v2"},
        "trace_id": "r-1",
        "kind": "inference_done",
        "node": "eta-01",
        "duration_us": 12_500,
        "request": {"inputs": {"age": 41.0, "region": "eu"}},
        "response": {"scores": {"p": 0.8}},
        "meta": {"zone": "a"},
    }
    row.update(changes)
    return row


def test_a_nested_renamed_row_becomes_the_record_with_units_converted() -> None:
    record = FieldMap.from_table(TABLE).apply(_foreign())
    assert record == {
        "timestamp": WHEN.timestamp(),
        "model": "loans",
        "version": "v2",
        "request_id": "r-1",
        "event": "completion",
        "host": "eta-01",
        "latency_ms": 12.5,
        "features": {"age": 41.0, "region": "eu"},
        "outputs": {"p": 0.8},
        "tags": {"zone": "a"},
    }


def test_fields_not_named_keep_their_record_names_and_features_may_be_listed() -> None:
    fields = FieldMap.from_table({"model": "svc", "features": ["age", "client.region"]})
    row = {"svc": "loans", "timestamp": "2026-03-02T10:30:00Z", "age": 3, "client": {}}
    assert fields.apply(row) == {
        "timestamp": "2026-03-02T10:30:00Z",
        "model": "loans",
        "features": {"age": 3, "region": None},  # listed but absent: missing in this row
    }


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (_foreign(service={"release": "v2"}), "missing field 'service.name' (the record's model)"),
        (_foreign(ts_ms=None), "missing field 'ts_ms' (the record's timestamp)"),
        (_foreign(service="loans"), "field 'service.name': 'service' is a str, not an object"),
        (_foreign(request=[1]), "field 'request.inputs': 'request' is a list, not an object"),
        (_foreign(kind="retry"), "event 'retry' (field 'kind') is not in [ingest.fields] events"),
        ([1, 2], "record must be a JSON object, got list"),
    ],
)
def test_a_row_the_map_does_not_fit_gets_the_reason_in_the_logs_own_names(
    row: object, reason: str
) -> None:
    found = FieldMap.from_table(TABLE).apply(row)
    assert isinstance(found, str) and found.startswith(reason), found


def test_a_record_event_name_passes_a_map_of_the_logs_own_names() -> None:
    found = FieldMap.from_table(TABLE).apply(_foreign(kind="prediction"))
    assert isinstance(found, dict) and found["event"] == "prediction"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"modle": "svc"}, "unknown key 'modle'"),
        ({"timestamp_unit": "min"}, "timestamp_unit must be one of"),
        ({"latency_unit": "h"}, "latency_unit must be one of"),
        ({"events": {"done": "finished"}}, "events must map to one of"),
        ({"model": ["a", "b"]}, "model: expected a dotted path, got"),
        ({"features": 3}, "features: expected a dotted path or a list of them"),
        ({"host": "a..b"}, "'a..b' is not a dotted path"),
        ({"events": ["done"]}, "events: expected a table of names"),
    ],
)
def test_a_map_that_cannot_work_is_refused_when_it_is_read(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        FieldMap.from_table(table)


def _rows() -> list[dict[str, Any]]:
    return [
        _foreign(),
        _foreign(trace_id="r-2", duration_us=None, ts_ms=int(WHEN.timestamp() * 1000) + 60_000),
        _foreign(service="loans"),  # does not fit: quarantined with the reason
        {
            "ts_ms": int(WHEN.timestamp() * 1000) + 1,
            "service": {"name": "loans"},
            "trace_id": "r-1",
            "kind": "feedback",
            "truth": 1,
        },
    ]


def _read(reader: JsonLinesReader | ParquetReader) -> tuple[dict[str, list[Any]], list[str]]:
    (chunk,) = list(reader.read())
    batch = chunk.batch
    got = {
        "model": batch.meta.column("model").to_pylist(),
        "event": batch.meta.column("event").to_pylist(),
        "request_id": batch.meta.column("request_id").to_pylist(),
        "latency_ms": batch.meta.column("latency_ms").to_pylist(),
        "label": batch.meta.column("label").to_pylist(),
        "age": list(np.asarray(batch.features["age"].numbers)),
    }
    return got, [row.reason for row in chunk.quarantined]


def test_json_lines_and_parquet_of_another_shape_are_read_alike(tmp_path: Path) -> None:
    limits = IngestLimits(fields=FieldMap.from_table(TABLE))
    lines = tmp_path / "day.jsonl"
    lines.write_text("".join(json.dumps(row) + "\n" for row in _rows()))
    parquet = tmp_path / "day.parquet"
    good = [row for row in _rows() if isinstance(row["service"], dict)]
    pq.write_table(pa.Table.from_pylist(good), parquet)
    from_lines, reasons = _read(JsonLinesReader(lines, now=NOW, limits=limits))
    assert reasons == ["field 'service.name': 'service' is a str, not an object"]
    assert from_lines["model"] == ["loans"] * 3
    assert from_lines["event"] == ["completion", "completion", "label"]
    assert from_lines["latency_ms"][:2] == [12.5, None]
    assert from_lines["label"] == [None, None, 1.0]
    from_parquet, none = _read(ParquetReader(parquet, now=NOW, limits=limits))
    assert none == []
    assert from_parquet["model"] == from_lines["model"]
    assert from_parquet["event"] == from_lines["event"]
    assert from_parquet["latency_ms"] == from_lines["latency_ms"]
    assert from_parquet["age"][:2] == from_lines["age"][:2] == [41.0, 41.0]


def test_without_the_unit_an_epoch_in_milliseconds_is_quarantined_as_such(tmp_path: Path) -> None:
    lines = tmp_path / "day.jsonl"
    lines.write_text(json.dumps(_foreign()) + "\n")
    seconds = dict(TABLE, timestamp_unit="s")
    for table, quarantined in ((TABLE, 0), (seconds, 1)):
        limits = IngestLimits(fields=FieldMap.from_table(table))
        (chunk,) = list(JsonLinesReader(lines, now=NOW, limits=limits).read())
        assert len(chunk.quarantined) == quarantined
    assert "looks like epoch milliseconds" in chunk.quarantined[0].reason
