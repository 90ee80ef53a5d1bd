"""Regenerates the checked-in bad-input corpus: ``python tests/bad_inputs/make_corpus.py``.

Kept beside the files so that every case says how it was made; the files themselves are checked
in so that a change in this script shows up as a diff of the inputs, not silently.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent


def rec(i: int = 0, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "model": "ranker",
        "version": "v1",
        "timestamp": f"2026-11-25T10:{i % 60:02d}:00Z",
        "request_id": f"r{i}",
        "features": {"age": 20 + i, "country": "DE"},
        "outputs": {"score": 0.5},
    }
    base.update(over)
    return base


def line(obj: object) -> bytes:
    return json.dumps(obj).encode()


def lines(*items: bytes) -> bytes:
    return b"\n".join(items) + b"\n"


def main() -> None:
    good = line(rec(1))
    j: dict[str, bytes] = {
        "empty": b"",
        "only_blank_lines": b"\n\n   \n\t\n",
        "truncated_json": lines(good, good[:-7]),
        "truncated_no_newline": good + b"\n" + good[: len(good) // 2],
        "invalid_json_trailing_comma": lines(b'{"model": "ranker", "timestamp": 1,}', good),
        "single_quotes": lines(b"{'model': 'ranker', 'timestamp': 1764064800}", good),
        "bare_scalar_lines": lines(b"42", b'"text"', b"null", b"true", good),
        "array_line": lines(b"[1, 2, 3]", line([rec(2)]), good),
        "model_wrong_type": lines(line(rec(2, model=7)), line(rec(3, model=["a"])), good),
        "model_empty_string": lines(line(rec(2, model="")), good),
        "missing_model": lines(line({k: v for k, v in rec(2).items() if k != "model"}), good),
        "missing_timestamp": lines(
            line({k: v for k, v in rec(2).items() if k != "timestamp"}), good
        ),
        "timestamp_garbage": lines(
            line(rec(2, timestamp="yesterday")),
            line(rec(3, timestamp="")),
            line(rec(4, timestamp=True)),
            line(rec(5, timestamp={"s": 1})),
            good,
        ),
        "timestamp_no_zone": lines(line(rec(2, timestamp="2026-11-25T10:00:00")), good),
        "timestamp_far_future": lines(
            line(rec(2, timestamp="2999-01-01T00:00:00Z")),
            line(rec(3, timestamp=4_102_444_800)),
            good,
        ),
        "timestamp_before_1970": lines(
            line(rec(2, timestamp="1969-12-31T23:59:59Z")),
            line(rec(3, timestamp=-1)),
            line(rec(4, timestamp="0001-01-01T00:00:00Z")),
            good,
        ),
        "timestamp_huge_number": lines(
            line(rec(2, timestamp=10**30)),
            b'{"model": "ranker", "timestamp": 1e308}',
            b'{"model": "ranker", "timestamp": 123456789012345678901234567890}',
            good,
        ),
        "nan_inf_literals": lines(
            b'{"model": "ranker", "timestamp": 1764064800, "features": {"x": NaN}}',
            b'{"model": "ranker", "timestamp": 1764064800, "features": {"x": Infinity}}',
            b'{"model": "ranker", "timestamp": 1764064800, "outputs": {"s": -Infinity}}',
            b'{"model": "ranker", "timestamp": NaN}',
            good,
        ),
        "huge_numbers": lines(
            b'{"model": "ranker", "timestamp": 1764064800, "features": {"x": 1e400}}',
            b'{"model": "ranker", "timestamp": 1764064800, "features": {"x": -1e400}}',
            line(rec(2, features={"x": 10**40})),
            line(rec(3, features={"x": 2**64})),
            good,
        ),
        "latency_bad": lines(
            line(rec(2, latency_ms=-5)),
            line(rec(3, latency_ms="fast")),
            b'{"model": "ranker", "timestamp": 1764064800, "latency_ms": 1e999}',
            good,
        ),
        "features_wrong_container": lines(
            line(rec(2, features=[1, 2, 3])),
            line(rec(3, features="age=3")),
            line(rec(4, outputs=5)),
            line(rec(5, tags=["a"])),
            good,
        ),
        "tags_non_string": lines(line(rec(2, tags={"region": 5, "x": None})), good),
        "deeply_nested_value": lines(
            line(rec(2, features={"deep": json.loads("[" * 200 + "]" * 200)})),
            b'{"model": "ranker", "timestamp": 1, "features": {"d": '
            + b"[" * 2000
            + b"]" * 2000
            + b"}}",
            good,
        ),
        "nested_object_feature": lines(line(rec(2, features={"obj": {"a": {"b": 1}}})), good),
        "mixed_list_output": lines(
            line(rec(2, outputs={"ranked": [0.9, "x", None]})),
            line(rec(3, outputs={"r": []})),
            good,
        ),
        "non_utf8_bytes": lines(
            b'{"model": "ranker\xff\xfe", "timestamp": 1764064800}',
            b'{"model": "ranker", "timestamp": 1764064800, "tags": {"a": "\xc3\x28"}}',
            good,
        ),
        "utf16_bom": "\ufeff".encode("utf-16-le") + good.decode().encode("utf-16-le") + b"\n",
        "utf8_bom": b"\xef\xbb\xbf" + good + b"\n" + good + b"\n",
        "utf8_bom_single_line": b"\xef\xbb\xbf" + good + b"\n",
        "utf8_bom_mid_file": lines(good, b"\xef\xbb\xbf" + good, good),
        "lone_surrogate_escape": lines(b'{"model": "r\\ud800", "timestamp": 1764064800}', good),
        "nul_and_control_bytes": lines(
            b'{"model": "r\x00", "timestamp": 1}', b"\x00\x01\x02", good
        ),
        "crlf_line_endings": good + b"\r\n" + line(rec(2)) + b"\r\n",
        "duplicate_keys": lines(
            b'{"model": "ranker", "model": "fraud", "timestamp": 1764064800}', good
        ),
        "duplicate_request_ids": lines(*(line(rec(i, request_id="same")) for i in range(4))),
        "feature_changes_type": lines(
            line(rec(1, features={"age": 31})),
            line(rec(2, features={"age": "thirty"})),
            line(rec(3, features={"age": True})),
            line(rec(4, features={"age": None})),
            line(rec(5, features={"age": [1, 2]})),
            line(rec(6, features={"age": 33.5})),
        ),
        "unknown_fields": lines(line(rec(2, surprise=1, another={"x": 1})), good),
        "event_bad": lines(
            line(rec(2, event="explosion")),
            line(rec(3, event=5)),
            line(rec(4, event="label")),
            line(rec(5, event="label", label={"a": 1})),
            good,
        ),
        "label_on_prediction": lines(line(rec(2, label=1)), good),
        "version_wrong_type": lines(line(rec(2, version=3)), line(rec(3, version=None)), good),
        "request_id_wrong_type": lines(
            line(rec(2, request_id=5)), line(rec(3, request_id={})), good
        ),
        "empty_object": lines(b"{}", good),
        "whitespace_padded": b"   " + good + b"   \n\t" + good + b"\t\n",
        "many_features": lines(line(rec(2, features={f"f{k}": k for k in range(2000)})), good),
        "features_over_the_limit": lines(
            line(rec(2, features={f"f{k}": k for k in range(2001)})),
            line(rec(3, tags={f"t{k}": "x" for k in range(2001)})),
            good,
        ),
        # Found by the reliability attack (issue 19); each once stopped every model's cycle.
        "nested_20000_deep": lines(
            good,
            b'{"model": "ranker", "timestamp": "2026-11-25T10:00:00Z", "ignored": '
            + b"[" * 20000
            + b"]" * 20000
            + b"}",
            good,
        ),
        "timestamp_epoch_milliseconds": lines(
            line(rec(2, timestamp=1764583200000)),
            line(rec(3, timestamp=1764583200000000)),
            line(rec(4, timestamp=1764583200000000000)),
            good,
        ),
        "timestamp_year_9999": lines(
            line(rec(2, timestamp="9999-12-31T23:30:00Z")),
            line(rec(3, timestamp=253402300000)),
            good,
        ),
        "timestamp_zero": lines(
            line(rec(2, timestamp=0)), line(rec(3, timestamp="1970-01-01T00:00:00Z")), good
        ),
        "cr_only_line_endings": b"\r".join(line(rec(i)) for i in range(10)) + b"\r",
        "nul_in_names": lines(
            line(rec(2, model="r\u0000")),
            line(rec(3, version="v\u0000")),
            line(rec(4, features={"a\u0000b": 1})),
            line(rec(5, outputs={"s\u0000": 0.5})),
            line(rec(6, tags={"t\u0000": "x"})),
            line(rec(7, features={"age": "nul \u0000 in a value is kept"})),
            good,
        ),
        "weird_feature_names": lines(
            line(rec(2, features={"": 1, " ": 2, "a/b=c": 3, "\u00e9\u00e8": 4, "x" * 300: 5})),
            good,
        ),
    }
    for name, data in j.items():
        (HERE / f"{name}.jsonl").write_bytes(data)
    # Named ndjson to exercise the other suffix.
    (HERE / "ndjson_suffix_mixed.ndjson").write_bytes(lines(good, b"oops", line(rec(3))))

    # Gzip cases.
    full = gzip.compress(lines(*(line(rec(i)) for i in range(50))), mtime=0)
    (HERE / "gzip_truncated.jsonl.gz").write_bytes(full[: len(full) // 2])
    (HERE / "gzip_header_only.jsonl.gz").write_bytes(full[:10])
    (HERE / "gzip_corrupt_crc.jsonl.gz").write_bytes(full[:-8] + b"\x00" * 8)
    (HERE / "gzip_empty_payload.jsonl.gz").write_bytes(gzip.compress(b"", mtime=0))
    (HERE / "gzip_bad_lines.jsonl.gz").write_bytes(
        gzip.compress(lines(good, b"{not json", b"\xff"), mtime=0)
    )
    (HERE / "gzip_named_plain.jsonl.gz").write_bytes(lines(good, good))
    (HERE / "plain_named_gz_magic.jsonl").write_bytes(gzip.compress(lines(good), mtime=0))
    (HERE / "gzip_trailing_garbage.jsonl.gz").write_bytes(
        gzip.compress(lines(*(line(rec(i)) for i in range(20))), mtime=0) + b"\x00garbage\n"
    )

    # Parquet cases.
    pq.write_table(
        pa.table({"a": [1, 2], "b": ["x", "y"]}), HERE / "parquet_unexpected_schema.parquet"
    )
    pq.write_table(
        pa.table(
            {
                "model": [1, 2],
                "timestamp": ["yesterday", "2026-11-25T10:00:00Z"],
                "features": ["not a struct", "x"],
            }
        ),
        HERE / "parquet_wrong_types.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "model": ["ranker", None, "ranker", ""],
                "timestamp": pa.array(
                    [1764064800_000_000, 1764064800_000_000, None, 1764064800_000_000],
                    pa.timestamp("us", tz="UTC"),
                ),
                "features": pa.array(
                    [{"x": 1.0}, {"x": float("nan")}, {"x": float("inf")}, {"x": None}],
                    pa.struct([("x", pa.float64())]),
                ),
            }
        ),
        HERE / "parquet_nulls_and_nans.parquet",
    )
    pq.write_table(
        pa.table({"model": pa.array([], pa.string()), "timestamp": pa.array([], pa.int64())}),
        HERE / "parquet_zero_rows.parquet",
    )
    real = (HERE / "parquet_unexpected_schema.parquet").read_bytes()
    (HERE / "parquet_truncated.parquet").write_bytes(real[: len(real) // 2])
    (HERE / "parquet_not_parquet.parquet").write_bytes(good + b"\n")
    (HERE / "parquet_empty_file.parquet").write_bytes(b"")

    # Hive folders whose rows disagree with (or abuse) their partition values.
    hive = HERE / "hive_rows_disagree"
    part = hive / "model=ranker" / "version=v1" / "date=2026-11-25"
    part.mkdir(parents=True, exist_ok=True)
    (part / "part-0.jsonl").write_bytes(
        lines(
            line(rec(1)),
            line(rec(2, model="fraud")),
            line(rec(3, version="v9")),
            line({k: v for k, v in rec(4).items() if k not in ("model", "version")}),
            line(rec(5, timestamp="2020-01-01T00:00:00Z")),
            b"{broken",
        )
    )
    hive2 = HERE / "hive_odd_partitions"
    weird = hive2 / "model=" / "version=__HIVE_DEFAULT_PARTITION__"
    weird.mkdir(parents=True, exist_ok=True)
    (weird / "a.jsonl").write_bytes(
        lines(line({"timestamp": "2026-11-25T10:00:00Z"}), line(rec(2)))
    )
    junk = hive2 / "model=x%2Fy"
    junk.mkdir(parents=True, exist_ok=True)
    (junk / "b.jsonl").write_bytes(lines(line({"timestamp": 1764064800}), b"[]"))
    (junk / "notes.txt").write_bytes(b"not a log file\n")
    broken = HERE / "hive_unreadable_file" / "model=ranker" / "version=v1"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "a-truncated.parquet").write_bytes(real[: len(real) // 2])
    (broken / "b-good.jsonl").write_bytes(lines(good, line(rec(2))))
    empty = HERE / "hive_empty_folder"
    empty.mkdir(exist_ok=True)
    (empty / ".keep").write_bytes(b"")


if __name__ == "__main__":
    main()
