"""Profiles of batches built by the ingest stage from JSON records, checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vigil.ingest import records_to_chunk
from vigil.profile import ProfileSpec, profile_batch

RECORDS: list[dict[str, Any]] = [
    {"model": "ranker", "version": "v3", "timestamp": "2026-11-20T14:03:11Z",
     "request_id": "a", "host": "h-1", "event": "prediction",
     "features": {"age": 31, "country": "DE", "is_new": False, "geo": None},
     "outputs": {"score": 0.8, "ranked": [0.9, 0.7]}, "latency_ms": 12.5,
     "tags": {"region": "eu"}},
    {"model": "ranker", "version": "v3", "timestamp": "2026-11-20T14:10:00Z",
     "request_id": "b", "host": "h-2", "event": "prediction",
     "features": {"age": "n/a", "country": "FR", "is_new": True},
     "outputs": {"score": 0.2}, "latency_ms": 0.0, "tags": {"region": "us"}},
    {"model": "ranker", "version": "v3", "timestamp": "2026-11-20T14:59:59Z",
     "request_id": "a", "event": "label", "label": 1},
    {"model": "ranker", "version": "v3", "timestamp": "2026-11-20T15:00:00Z",
     "request_id": "c", "event": "arrival", "features": {"age": 40}},
]  # fmt: skip


def test_profile_of_ingested_records() -> None:
    chunk = records_to_chunk(RECORDS, source="test", now=None)
    assert not chunk.quarantined
    profiles = profile_batch(chunk.batch, ProfileSpec())
    assert [key.window.start.hour for key in profiles] == [14, 15]
    first, second = profiles.values()
    assert first.rows == 3 and second.rows == 1
    assert first.events["prediction"] == 2 and first.events["label"] == 1
    assert first.requests == 2 and second.requests == 1
    assert first.first_seen == datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    assert round(first.request_ids.estimate()) == 2

    age = first.features["age"]
    assert (age.present, age.type_counts["number"], age.type_counts["string"]) == (2, 1, 1)
    assert age.moments.count == 1 and age.moments.mean == 31.0
    assert age.frequent.items() == [("n/a", 1)]
    assert first.features["geo"].nulls == 1 and first.features["geo"].present == 1
    is_new = first.features["is_new"]
    assert is_new.type_counts["bool"] == 2 and is_new.moments.mean == 0.5
    assert sorted(is_new.frequent.items()) == [("false", 1), ("true", 1)]
    assert first.outputs["score"].moments.count == 2

    assert first.latency.present == 2
    assert first.latency.histogram is not None and first.latency.histogram.zeros == 1
    assert set(first.host_latency) == {"h-1", "h-2"}
    assert first.labels.present == 1 and first.labels.moments.mean == 1.0
    assert dict(first.tags["region"].items()) == {"eu": 1, "us": 1}
    assert second.features["age"].moments.mean == 40.0
    assert second.latency.present == 0
