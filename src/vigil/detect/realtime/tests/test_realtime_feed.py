"""Ingested record batches become monitor events: split by model and kind, nulls made explicit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import EventKind
from vigil.detect.realtime import LatencyMonitor, ScoreDistributionMonitor, events_from_batch
from vigil.ingest import records_to_chunk

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _record(i: int, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "model": "ranker",
        "version": "v1",
        "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
        "request_id": f"r{i}",
        "host": f"h-{i % 3}",
        "event": "prediction",
        "outputs": {"score": i / 10},
        "latency_ms": 10.0 + i,
        "tags": {"region": "eu"},
    }
    base.update(extra)
    return base


def test_a_batch_splits_by_model_and_kind_with_its_columns() -> None:
    records = [_record(i) for i in range(5)]
    records.append(_record(5, model="other"))
    records.append(
        {
            "model": "ranker",
            "timestamp": T0.isoformat(),
            "event": "label",
            "request_id": "r1",
            "label": 1,
        }
    )
    records.append(_record(7, latency_ms=None, outputs={}))
    chunk = records_to_chunk(records, source="test", now=None)
    assert chunk.quarantined == ()
    batches = {(e.model, e.kind): e for e in events_from_batch(chunk.batch)}
    assert set(batches) == {
        ("ranker", EventKind.PREDICTION),
        ("ranker", EventKind.LABEL),
        ("other", EventKind.PREDICTION),
    }
    served = batches[("ranker", EventKind.PREDICTION)]
    assert len(served) == 6
    assert served.request_id is not None and served.request_id[:2].tolist() == ["r0", "r1"]
    assert served.tags["host"][:3].tolist() == ["h-0", "h-1", "h-2"]
    assert served.tags["region"][0] == "eu"
    assert served.timestamp_s[1] - served.timestamp_s[0] == 1.0
    assert served.score is not None and np.isnan(served.score[-1])
    assert served.latency_ms is not None and np.isnan(served.latency_ms[-1])
    label = batches[("ranker", EventKind.LABEL)]
    assert label.score is not None and label.score.tolist() == [1.0]


def test_monitors_count_the_nulls_they_cannot_use() -> None:
    chunk = records_to_chunk(
        [_record(0), _record(1, latency_ms=None, outputs={})], source="t", now=None
    )
    latency, scores = LatencyMonitor("ranker"), ScoreDistributionMonitor("ranker")
    for events in events_from_batch(chunk.batch):
        latency.update(events)
        scores.update(events)
    assert latency.missing_latency_ == 1
    assert scores.missing_scores_ == 1
    assert sum(i.histogram.total for i in latency.open_.values()) == 1
