"""What a row stands for: requests, rows carrying features and rows carrying outputs.

Serving systems log requests in three shapes; each must count its requests once and give the
coverage statistics a denominator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from vigil.ingest import records_to_chunk
from vigil.profile import Profile, ProfileSpec, profile_batch

START = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _profile(records: list[dict[str, Any]]) -> Profile:
    chunk = records_to_chunk(records, source="test", now=None)
    assert not chunk.quarantined, chunk.quarantined
    (profile,) = profile_batch(chunk.batch, ProfileSpec()).values()
    return profile


def _row(i: int, event: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "version": "v1",
        "timestamp": (START + timedelta(seconds=i)).isoformat(),
        "request_id": f"r{i}",
        "event": event,
        **fields,
    }


def test_one_completion_line_per_request_counts_every_line_as_a_request() -> None:
    rows = [
        _row(i, "completion", features={"age": i}, outputs={"score": 0.5}, latency_ms=3.0)
        for i in range(10)
    ]
    profile = _profile(rows)
    assert (profile.requests, profile.feature_rows, profile.output_rows) == (10, 10, 10)


def test_a_completion_without_features_alone_in_the_window_is_a_complete_request() -> None:
    profile = _profile([_row(i, "completion", outputs={"score": 0.1}) for i in range(4)])
    assert (profile.requests, profile.feature_rows, profile.output_rows) == (4, 0, 4)


def test_an_arrival_and_its_completion_are_one_request() -> None:
    rows = []
    for i in range(5):
        rows.append(_row(i, "arrival", features={"age": i}))
        answer = _row(i, "completion", outputs={"score": 0.1})
        answer["timestamp"] = (START + timedelta(seconds=i, milliseconds=50)).isoformat()
        rows.append(answer)
    # One completion whose arrival is not in the window: a request of its own.
    rows.append(_row(99, "completion", outputs={"score": 0.2}))
    profile = _profile(rows)
    assert profile.requests == 6
    assert (profile.feature_rows, profile.output_rows) == (5, 6)


def test_predictions_count_as_before_and_labels_are_no_requests() -> None:
    rows = [_row(i, "prediction", features={"age": i}, outputs={"s": 1}) for i in range(3)]
    rows += [_row(10 + i, "label", label=1) for i in range(2)]
    profile = _profile(rows)
    assert (profile.requests, profile.feature_rows, profile.output_rows) == (3, 3, 3)


def test_an_arrival_and_its_completion_in_two_batches_are_still_one_request() -> None:
    arrival = _profile([_row(1, "arrival", features={"a": 1})])
    completion = _profile([_row(1, "completion", outputs={"s": 1})])
    assert completion.requests == 1  # alone, it is a complete request
    assert arrival.merge(completion).requests == 1


def test_roles_add_up_when_profiles_merge_and_survive_bytes() -> None:
    first = _profile([_row(i, "completion", features={"a": 1}) for i in range(3)])
    second = _profile([_row(i, "prediction", features={"a": 1}) for i in range(3, 5)])
    merged = first.merge(second)
    assert (merged.requests, merged.feature_rows, merged.output_rows) == (5, 5, 5)
    assert Profile.from_bytes(merged.to_bytes()) == merged
