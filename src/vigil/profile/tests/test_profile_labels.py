"""``LabelJoin``: late labels meet their predictions by ``request_id``, in any order and across
runs (a checkpoint), and add up to the tallies one pass over the joined rows gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from vigil.ingest import DEFAULT_LIMITS, RecordBatch, table_to_chunk
from vigil.profile.labels import OTHER_SEGMENT, LabelJoin
from vigil.profile.performance import ClassifierTally

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _batch(rows: Mapping[str, Sequence[object]]) -> RecordBatch:
    n = len(rows["request_id"])
    table = pa.table(
        {
            "model": ["m"] * n,
            "version": ["v1"] * n,
            **rows,
        }
    )
    chunk = table_to_chunk(table, source="t", rules=DEFAULT_LIMITS.rules(START + 10 * 24 * HOUR))
    assert chunk.batch.num_rows == n  # nothing quarantined
    return chunk.batch


def _predictions(
    ids: list[str], scores: list[float], hours: list[int], region: list[str]
) -> RecordBatch:
    return _batch(
        {
            "timestamp": [START + h * HOUR for h in hours],
            "request_id": ids,
            "outputs.score": scores,
            "tags.region": region,
        }
    )


def _labels(ids: list[str], labels: list[float], at: datetime) -> RecordBatch:
    return _batch(
        {
            "timestamp": [at] * len(ids),
            "request_id": ids,
            "event": ["label"] * len(ids),
            "label": labels,
        }
    )


def test_labels_join_their_predictions_in_any_order_and_across_a_checkpoint() -> None:
    ids = ["a", "b", "c", "d"]
    scores = [0.9, 0.2, 0.7, 0.4]
    predictions = _predictions(ids, scores, [0, 0, 1, 1], ["eu", "eu", "us", "us"])
    labels = _labels(["a", "b", "c", "x"], [1.0, 1.0, 0.0, 1.0], START + 30 * HOUR)
    first = LabelJoin.empty(segments=("region",)).feed(predictions)
    restored = LabelJoin.from_bytes(first.to_bytes(), segments=("region",))
    later = restored.feed(labels)
    earlier = LabelJoin.empty(segments=("region",)).feed(labels).feed(predictions)
    assert later.tallies() == earlier.tallies()
    tallies = later.tallies()
    whole = {k.window.start: t for k, t in tallies.items() if k.segment == ""}
    hour_0 = ClassifierTally.of_predictions([0.9, 0.2]).merge(
        ClassifierTally.of_labels([0.9, 0.2], [1.0, 1.0])
    )
    hour_1 = ClassifierTally.of_predictions([0.7, 0.4]).merge(
        ClassifierTally.of_labels([0.7], [0.0])
    )
    assert whole == {START: hour_0, START + HOUR: hour_1}
    assert {k.segment for k in tallies} == {"", "region=eu", "region=us"}


def test_a_prediction_seen_twice_counts_once_and_old_rows_leave_with_the_horizon() -> None:
    predictions = _predictions(["a"], [0.9], [0], ["eu"])
    join = LabelJoin.empty(horizon=timedelta(days=2)).feed(predictions).feed(predictions)
    assert len(join.predictions) == 1
    late = _predictions(["z"], [0.1], [24 * 3], ["eu"])
    assert list(join.feed(late).predictions["request_id"]) == ["z"]


def test_segments_keep_their_most_frequent_values_and_pool_the_rest() -> None:
    regions = ["eu"] * 5 + ["us"] * 3 + ["apac"]
    ids = [f"r{i}" for i in range(len(regions))]
    predictions = _predictions(ids, list(np.linspace(0.1, 0.9, len(ids))), [0] * len(ids), regions)
    labels = _labels(ids, [1.0] * len(ids), START + HOUR)
    join = LabelJoin.empty(segments=("region",)).feed(predictions).feed(labels)
    segments = {k.segment: t.count for k, t in join.tallies(max_segment_values=1).items()}
    assert segments == {"": 9, "region=eu": 5, f"region={OTHER_SEGMENT}": 4}
