"""The JSON-lines reader's two paths (arrow's C++ reader, and row by row) give the same chunks."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.core import ValueKind
from vigil.ingest import DEFAULT_LIMITS, IngestChunk, JsonLinesReader, ListReader, RecordBatch
from vigil.ingest.json_arrow import json_lines_to_chunk

NOW = datetime(2026, 11, 25, tzinfo=UTC)
RULES = DEFAULT_LIMITS.rules(NOW)


def assert_same_batch(a: RecordBatch, b: RecordBatch) -> None:
    assert a.meta.equals(b.meta), (a.meta.to_pylist(), b.meta.to_pylist())
    for mine, theirs in ((a.features, b.features), (a.outputs, b.outputs)):
        assert set(mine) == set(theirs)
        for name, column in mine.items():
            other = theirs[name]
            np.testing.assert_array_equal(column.kinds, other.kinds, err_msg=name)
            np.testing.assert_array_equal(column.numbers, other.numbers, err_msg=name)
            assert column.texts.to_pylist() == other.texts.to_pylist(), name
    assert {k: v.to_pylist() for k, v in a.tags.items()} == {
        k: v.to_pylist() for k, v in b.tags.items()
    }


def assert_same_chunks(a: list[IngestChunk], b: list[IngestChunk]) -> None:
    assert [c.rows_read for c in a] == [c.rows_read for c in b]
    for x, y in zip(a, b, strict=True):
        assert_same_batch(x.batch, y.batch)
        assert [q.position for q in x.quarantined] == [q.position for q in y.quarantined]
        assert [q.raw for q in x.quarantined] == [q.raw for q in y.quarantined]


def row(stamps: str) -> st.SearchStrategy[dict[str, Any]]:
    stamp = (
        st.sampled_from(
            [
                "2026-11-20T10:00:00Z",
                "2026-11-20T11:00:00.5+01:00",
                "2026-11-20 10:00:00.123456-05:30",
                "2026-11-20T10:00Z",
                "2026-11-20T10:00:00",
                "2026-11-20",
                "2026-11-20T10:00:00.1234567Z",
                "1969-12-31T23:59:59Z",
                "2026-12-20T10:00:00Z",
            ]
        )
        if stamps == "iso"
        else st.sampled_from([1.79e9, 1790000000, -3, 5e9])
    )
    return st.fixed_dictionaries(
        {"timestamp": stamp},
        optional={
            "model": st.sampled_from(["ranker", "fraud", ""]),
            "version": st.sampled_from(["v1", "v2"]),
            "event": st.sampled_from(["prediction", "label", "oops"]),
            "latency_ms": st.sampled_from([0.5, 12, -1.0]),
            "label": st.sampled_from([0, 1, True]),
            "features": st.fixed_dictionaries(
                {},
                optional={
                    "a": st.integers(-(2**60), 2**60),
                    "b": st.text(max_size=4),
                    "c": st.booleans(),
                    "d": st.floats(allow_nan=False, allow_infinity=False),
                    "e": st.one_of(st.none(), st.just({"lat": 1.0})),
                },
            ),
            "outputs": st.fixed_dictionaries(
                {},
                optional={
                    "r": st.lists(st.floats(-1, 1), max_size=3),
                    "s": st.one_of(st.floats(0, 1), st.none()),
                },
            ),
            "tags": st.dictionaries(st.sampled_from(["x", "y"]), st.text(max_size=3), max_size=2),
            "extra": st.integers(0, 3),
        },
    )


chunks_of_rows = st.sampled_from(["iso", "epoch"]).flatmap(
    lambda stamps: st.lists(row(stamps), min_size=1, max_size=30)
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=chunks_of_rows, chunk_rows=st.integers(2, 40))
def test_arrow_path_and_row_path_agree(rows: list[dict[str, Any]], chunk_rows: int) -> None:
    lines = [orjson.dumps(r) for r in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        by_file = list(JsonLinesReader(path, now=NOW, chunk_rows=chunk_rows).read())
    by_rows = list(ListReader(lines, now=NOW, chunk_rows=chunk_rows).read())
    assert_same_chunks(by_file, by_rows)


def test_arrow_path_is_taken_and_absences_stay_absent() -> None:
    lines = [
        (1, b'{"model":"m","timestamp":1790000000,"features":{"a":1,"b":"x"},"outputs":{"r":[]}}'),
        (2, b'{"model":"m","timestamp":1790000001,"features":{"a":2}}'),
        (4, b'{"model":"m","timestamp":1790000002,"latency_ms":-1}'),
        (5, b'{"model":"m","timestamp":1790000003,"features":{"a":null}}'),
    ]
    chunk = json_lines_to_chunk(lines, [(3, b"{cut", "cut short")], source="s", rules=RULES)
    assert chunk.rows_read == 5 and chunk.batch.num_rows == 3
    assert [(q.position, q.reason) for q in chunk.quarantined] == [
        (3, "cut short"),
        (4, "field 'latency_ms' must be >= 0"),
    ]
    assert chunk.quarantined[1].raw == lines[2][1].decode()
    a, b = chunk.batch.features["a"], chunk.batch.features["b"]
    assert list(a.kinds) == [ValueKind.NUMBER, ValueKind.NUMBER, ValueKind.NULL]
    assert list(b.kinds) == [ValueKind.STRING, ValueKind.ABSENT, ValueKind.ABSENT]
    top = chunk.batch.outputs["r.top"]
    assert list(top.kinds) == [ValueKind.NULL, ValueKind.ABSENT, ValueKind.ABSENT]
    assert chunk.batch.timestamps_us().tolist() == [
        1_790_000_000_000_000,
        1_790_000_001_000_000,
        1_790_000_003_000_000,
    ]


def test_a_block_goes_to_arrow_exactly_when_each_of_its_lines_may() -> None:
    """The block gate (totals first, then per-line counts; or per-line counts alone, given the
    newlines) against the line gate, just inside and just outside each limit: features (each
    ``:`` may be one), nesting, a NUL escape."""
    from vigil.ingest.json_arrow import _arrow_may_read, arrow_may_read_block, newline_offsets
    from vigil.ingest.limits import IngestLimits

    rules = IngestLimits(max_features=5, max_nesting=4).rules(NOW)

    def features(count: int) -> bytes:
        names = {f"f{i}": i for i in range(count - 2)}  # with model and timestamp: count colons
        return orjson.dumps({"model": "m", "timestamp": 1.79e9, **names})

    def nested(depth: int) -> bytes:
        return b"[" * depth + b"1" + b"]" * depth

    plain = features(3)
    crowded = b"[" + b",".join([b"[1]"] * 9) + b"]"  # ten brackets, two deep
    cases = [
        [plain, features(5)],
        [plain, features(6)],
        [plain, nested(4)],
        [plain, nested(5)],
        [plain, crowded, crowded],
        [plain, b'{"a": "\\u0000"}'],
        [plain, plain, plain],  # nine colons in all, three a line
    ]
    answers = []
    for lines in cases:
        expected = all(_arrow_may_read(line, rules) for line in lines)
        block = b"\n".join(lines)
        assert arrow_may_read_block(block, rules) is expected, lines
        assert arrow_may_read_block(block, rules, ends=newline_offsets(block)) is expected, lines
        answers.append(expected)
    assert answers == [True, False, True, False, True, False, True]


def test_colons_are_counted_per_line_only_in_blocks_with_a_line_past_the_feature_limit() -> None:
    """A line of at most ``max_features`` bytes cannot hold more colons, so such blocks skip the
    per-line count: the gate still agrees with the line gate at the limit's bytes, one past it,
    and for a long line with few colons."""
    from vigil.ingest.json_arrow import _arrow_may_read, arrow_may_read_block, newline_offsets
    from vigil.ingest.limits import IngestLimits

    rules = IngestLimits(max_features=40, max_nesting=4).rules(NOW)
    filler = [b'{"a": 1}'] * 40  # 40 colons and 40 braces: the totals settle nothing
    cases = [b":" * 40, b":" * 41, b'{"a": "' + b"x" * 60 + b'"}', b"{" * 5 + b"}" * 5]
    answers = []
    for line in cases:
        lines = [*filler, line]
        expected = all(_arrow_may_read(one, rules) for one in lines)
        block = b"\n".join(lines)
        assert arrow_may_read_block(block, rules) is expected, line
        assert arrow_may_read_block(block, rules, ends=newline_offsets(block)) is expected, line
        answers.append(expected)
    assert answers == [True, False, True, False]


def test_the_block_gate_agrees_with_judging_every_line_alone() -> None:
    """``is_plain`` on random blocks of lines that start with spaces, are spaces only, hold a
    backslash with or without a NUL escape, nest deep or hold many brackets, against its rules
    applied line by line."""
    from vigil.ingest.json_arrow import _arrow_may_read
    from vigil.ingest.limits import IngestLimits
    from vigil.ingest.line_blocks import _SPACES, is_plain

    rules = IngestLimits(max_features=6, max_nesting=4).rules(NOW)
    pool = [
        b'{"model": "m", "x": 1}',
        b' {"model": "m"}',
        b'\t{"a": [1, 2]}',
        b"   ",
        b"\t\x0c",
        b"",
        b'{"a": "\\u0000"}',
        b'{"a": "say \\"hi\\""}',
        b"[[[[[1]]]]]",
        b"[" + b",".join([b"[1]"] * 9) + b"]",
        b'{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7}',
        b'{"a": null}',
    ]

    def expected(text: bytes) -> bool:
        lines = text.split(b"\n")
        return (
            b"null" not in text
            and all(line.strip(_SPACES) for line in lines)
            and all(_arrow_may_read(line, rules) for line in lines)
        )

    rng = np.random.default_rng(5)
    answers = set()
    for _ in range(400):
        picks = rng.choice(len(pool), size=int(rng.integers(1, 6)), p=_weights(len(pool)))
        text = b"\n".join(pool[i] for i in picks)
        answer = is_plain(text, max_line_bytes=1 << 20, rules=rules)
        assert answer is expected(text), text
        answers.add(answer)
    assert answers == {True, False}


def _weights(count: int) -> np.ndarray:
    """The first line (plain) half the time, so that whole blocks pass often enough."""
    weights = np.full(count, 0.5 / (count - 1))
    weights[0] = 0.5
    return weights
