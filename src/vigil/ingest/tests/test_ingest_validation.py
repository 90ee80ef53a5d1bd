"""One record at a time: what is accepted, how it is normalized, and why the rest is refused."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from vigil.core import ConfigError, ValueKind
from vigil.ingest import MAX_STRING_BYTES, record_problem, records_to_chunk

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
GOOD = {"model": "ranker", "timestamp": "2026-11-20T14:03:11.123Z"}


def with_(**fields: object) -> dict[str, object]:
    return {**GOOD, **fields}


BAD_RECORDS = [
    ({"timestamp": GOOD["timestamp"]}, "missing field 'model'"),
    (with_(model=""), "field 'model'"),
    (with_(model=7), "field 'model' must be a non-empty string"),
    ({"model": "m"}, "missing field 'timestamp'"),
    (with_(timestamp="2026-11-20T14:03:11"), "timestamp has no time zone"),
    (with_(timestamp="yesterday"), "is not ISO 8601"),
    (with_(timestamp="1969-12-31T23:59:59Z"), "before 2000-01-01"),
    (with_(timestamp=-5), "before 2000-01-01"),
    (with_(timestamp="2026-11-27T00:00:00Z"), "more than 1 day in the future"),
    (with_(timestamp=1.7e12), "more than 1 day in the future"),
    (with_(timestamp=float("nan")), "not a finite number"),
    (with_(timestamp=True), "timestamp must be an ISO 8601 string or epoch seconds"),
    (with_(version=3), "field 'version' must be a string"),
    (with_(event="clicked"), "event 'clicked' is not one of"),
    (with_(request_id=12), "field 'request_id' must be a string"),
    (with_(host=["h"]), "field 'host' must be a string"),
    (with_(latency_ms=-1), "field 'latency_ms' must be >= 0"),
    (with_(latency_ms=float("inf")), "field 'latency_ms' must be finite"),
    (with_(latency_ms="12"), "field 'latency_ms' must be a number"),
    (with_(label="yes"), "field 'label' must be a number"),
    (with_(features=[1, 2]), "field 'features' must be an object"),
    (with_(features={"geo": {"lat": 1}}), "feature 'geo' is a nested object"),
    (with_(features={"hist": [1, 2]}), "feature 'hist' is a nested list"),
    (with_(features={"blob": "x" * (MAX_STRING_BYTES + 1)}), "feature 'blob' is a string over"),
    (
        with_(features={"blob": "é" * (MAX_STRING_BYTES // 2 + 1)}),
        "feature 'blob' is a string over",
    ),
    (with_(outputs={"label": "cat"}), "output 'label' must be a number or a ranked list"),
    (with_(outputs={"flag": True}), "output 'flag' must be a number"),
    (with_(outputs={"r": [0.9, "x"]}), "output 'r' is a list holding 'x'"),
    (with_(outputs={"r": [0.9], "r.top": 1.0}), "output 'r.top' collides with ranked list 'r'"),
    (with_(tags={"region": 5}), "tag 'region' must be a string"),
    (with_(tags="eu"), "field 'tags' must be an object"),
    ([1, 2, 3], "record must be a JSON object, got list"),
]


@pytest.mark.parametrize(("record", "reason"), BAD_RECORDS, ids=[r for _, r in BAD_RECORDS])
def test_each_bad_record_is_quarantined_with_a_reason_naming_the_problem(
    record: object, reason: str
) -> None:
    problem = record_problem(record, now=NOW)
    assert problem is not None and reason in problem
    chunk = records_to_chunk([record, GOOD], source="t", now=NOW)  # type: ignore[list-item]
    assert chunk.batch.num_rows == 1
    (row,) = chunk.quarantined
    assert row.position == 1 and row.source == "t" and reason in row.reason
    assert row.raw  # the raw text is kept for replay


def test_good_record_is_normalized_with_defaults() -> None:
    chunk = records_to_chunk([GOOD], source="t", now=NOW)
    (meta,) = chunk.batch.meta.to_pylist()
    assert meta["model"] == "ranker" and meta["version"] == "" and meta["event"] == "prediction"
    assert meta["timestamp"] == datetime(2026, 11, 20, 14, 3, 11, 123000, tzinfo=UTC)
    assert meta["request_id"] is None and meta["latency_ms"] is None and meta["label"] is None


@pytest.mark.parametrize(
    "stamp",
    [1795183391.123, 1795183391, "2026-11-20T14:03:11.123+00:00", "2026-11-20T15:03:11.123+01:00"],
)
def test_timestamp_spellings_agree(stamp: object) -> None:
    chunk = records_to_chunk([with_(timestamp=stamp)], source="t", now=NOW)
    expected = datetime(2026, 11, 20, 14, 3, 11, 123000 if stamp != 1795183391 else 0, tzinfo=UTC)
    assert chunk.batch.timestamps_us()[0] == (expected - datetime(1970, 1, 1, tzinfo=UTC)) // (
        timedelta(microseconds=1)
    )


def test_future_bound_is_one_day_after_now_and_none_disables_it() -> None:
    just_inside = with_(timestamp=(NOW + timedelta(days=1)).isoformat())
    just_outside = with_(timestamp=(NOW + timedelta(days=1, microseconds=1)).isoformat())
    assert record_problem(just_inside, now=NOW) is None
    assert record_problem(just_outside, now=NOW) is not None
    assert record_problem(just_outside, now=None) is None


def test_naive_now_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no time zone"):
        records_to_chunk([GOOD], source="t", now=datetime(2026, 11, 25))


def test_nan_and_inf_features_are_valid_numbers() -> None:
    records = [with_(features={"x": v}) for v in (float("nan"), float("inf"), -float("inf"), 1.5)]
    column = records_to_chunk(records, source="t", now=NOW).batch.features["x"]
    assert list(column.kinds) == [ValueKind.NUMBER] * 4
    assert math.isnan(column.numbers[0]) and column.numbers[1] == math.inf
    assert column.numbers[2] == -math.inf and column.numbers[3] == 1.5


def test_feature_changing_type_mid_stream_is_kept_with_per_row_kinds() -> None:
    values = [3, "three", True, None, 2.5]
    records = [with_(features={"x": v}) for v in values] + [with_(features={})]
    chunk = records_to_chunk(records, source="t", now=NOW)
    assert chunk.quarantined == ()
    column = chunk.batch.features["x"]
    assert list(column.kinds) == [
        ValueKind.NUMBER,
        ValueKind.STRING,
        ValueKind.BOOL,
        ValueKind.NULL,
        ValueKind.NUMBER,
        ValueKind.ABSENT,
    ]
    np.testing.assert_array_equal(column.numbers, [3.0, np.nan, 1.0, np.nan, 2.5, np.nan])
    assert column.texts.to_pylist() == [None, "three", "true", None, None, None]


def test_null_is_told_apart_from_absent_in_single_type_columns() -> None:
    records = [with_(features={"x": 1.0}), with_(features={"x": None}), with_()]
    column = records_to_chunk(records, source="t", now=NOW).batch.features["x"]
    assert list(column.kinds) == [ValueKind.NUMBER, ValueKind.NULL, ValueKind.ABSENT]


def test_bool_and_string_columns() -> None:
    records = [with_(features={"b": True, "s": "DE"}), with_(features={"b": False, "s": "FR"})]
    features = records_to_chunk(records, source="t", now=NOW).batch.features
    assert list(features["b"].kinds) == [ValueKind.BOOL] * 2
    assert list(features["b"].numbers) == [1.0, 0.0]
    assert features["b"].texts.to_pylist() == ["true", "false"]
    assert features["s"].texts.to_pylist() == ["DE", "FR"]
    assert np.isnan(features["s"].numbers).all()


def test_ranked_list_becomes_top_and_length() -> None:
    records = [
        with_(outputs={"r": [0.9, 0.7, 0.1], "score": 0.5}),
        with_(outputs={"r": []}),
        with_(outputs={"r": None}),
    ]
    outputs = records_to_chunk(records, source="t", now=NOW).batch.outputs
    assert set(outputs) == {"r.top", "r.length", "score"}
    assert list(outputs["r.top"].kinds) == [ValueKind.NUMBER, ValueKind.NULL, ValueKind.NULL]
    assert outputs["r.top"].numbers[0] == 0.9 and np.isnan(outputs["r.top"].numbers[1:]).all()
    assert list(outputs["r.length"].kinds) == [ValueKind.NUMBER, ValueKind.NUMBER, ValueKind.NULL]
    assert list(outputs["r.length"].numbers[:2]) == [3.0, 0.0]
    assert list(outputs["score"].kinds) == [ValueKind.NUMBER, ValueKind.ABSENT, ValueKind.ABSENT]


def test_tags_unknown_fields_and_optional_fields() -> None:
    record = with_(
        version="v3",
        event="label",
        request_id="abc",
        host="h-1",
        latency_ms=12,
        label=True,
        tags={"region": "eu", "gone": None},
        brand_new_field={"anything": [1]},
    )
    chunk = records_to_chunk([record, GOOD], source="t", now=NOW)
    assert chunk.quarantined == ()
    meta = chunk.batch.meta.to_pylist()[0]
    assert (meta["version"], meta["event"], meta["request_id"], meta["host"]) == (
        "v3",
        "label",
        "abc",
        "h-1",
    )
    assert meta["latency_ms"] == 12.0 and meta["label"] == 1.0
    assert chunk.batch.tags["region"].to_pylist() == ["eu", None]
    assert chunk.batch.tags["gone"].to_pylist() == [None, None]


def test_partition_fills_missing_model_and_version_and_refuses_disagreement() -> None:
    partition = {"model": "ranker", "version": "v3"}
    records: list[dict[str, object]] = [
        {"timestamp": 1.7e9},
        with_(version="v2"),
        with_(model="other"),
    ]
    chunk = records_to_chunk(records, source="t", now=NOW, partition=partition)
    assert chunk.batch.meta.column("model").to_pylist() == ["ranker"]
    assert chunk.batch.meta.column("version").to_pylist() == ["v3"]
    reasons = [row.reason for row in chunk.quarantined]
    assert reasons == [
        "version 'v2' disagrees with its partition version=v3",
        "model 'other' disagrees with its partition model=ranker",
    ]
    assert [row.model for row in chunk.quarantined] == ["ranker", "other"]


def test_json_text_input_bad_json_and_bad_utf8() -> None:
    items: list[bytes | str] = [
        b'{"model": "m", "timestamp": 1.7e9}',
        '{"model": "m"',
        b'\xff{"model": 1}',
    ]
    chunk = records_to_chunk(items, source="t", now=NOW, first_position=10)
    assert chunk.batch.num_rows == 1
    first, second = chunk.quarantined
    assert (first.position, second.position) == (11, 12)
    assert first.reason.startswith("invalid JSON") and first.raw == '{"model": "m"'
    assert second.reason.startswith("not valid UTF-8: byte 0xff at offset 0")
    assert second.raw.startswith("\\xff")


def test_raw_text_is_truncated_to_4_kb() -> None:
    huge = with_(features={"blob": "y" * 200_000})
    (row,) = records_to_chunk([huge], source="t", now=NOW).quarantined
    assert 4000 < len(row.raw.encode()) <= 4096


def test_size_limit_holds_for_json_text_on_either_side_of_the_fast_path() -> None:
    long_ok = orjson.dumps(with_(features={"s": "z" * 20_000}, tags={"t": "q" * 20_000}))
    too_long = orjson.dumps(with_(tags={"t": "\u00e9" * (MAX_STRING_BYTES // 2 + 1)}))
    short = orjson.dumps(with_(features={"a": [1]}))
    chunk = records_to_chunk([long_ok, too_long, short], source="t", now=NOW)
    assert chunk.batch.num_rows == 1
    assert [q.reason for q in chunk.quarantined] == [
        f"tag 't' is a string over {MAX_STRING_BYTES} bytes",
        "feature 'a' is a nested list; features must be number|string|bool|null",
    ]
