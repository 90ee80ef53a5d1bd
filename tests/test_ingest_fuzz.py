"""Bounded fuzzing of the JSON record path: random bytes and random JSON-ish lines never crash it.

Whatever a client or a log file holds, ``records_to_chunk`` and the JSON-lines reader must answer
with kept rows and quarantined rows (each with a reason) that add up to the records given, and
the two must agree on which lines are valid: they are two routes (orjson row by row, Arrow in
bulk) to the same contract, and a disagreement means the same log is judged differently by the
HTTP endpoint and by a batch read.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.ingest import IngestChunk, JsonLinesReader, records_to_chunk

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=80, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
timestamps = st.one_of(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, None]),
    ).map(lambda d: d.isoformat()),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(min_value=-1e12, max_value=1e13),
    json_values,
)
records = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.sampled_from(["ranker", "fraud", ""]), json_values),
        "version": st.one_of(st.sampled_from(["v1", ""]), json_values),
        "timestamp": timestamps,
        "request_id": st.one_of(st.text(max_size=8), json_values),
        "event": st.one_of(
            st.sampled_from(["prediction", "arrival", "completion", "label"]), json_values
        ),
        "features": st.one_of(st.dictionaries(st.text(max_size=6), json_values), json_values),
        "outputs": st.one_of(st.dictionaries(st.text(max_size=6), json_values), json_values),
        "tags": st.one_of(st.dictionaries(st.text(max_size=6), st.text(max_size=6)), json_values),
        "latency_ms": json_values,
        "label": json_values,
        "host": json_values,
    },
)


def _encode(record: dict[str, Any]) -> bytes:
    # ``json`` (not orjson) so NaN / Infinity literals reach the parsers, as sloppy writers emit.
    return json.dumps(record).encode()


lines = st.one_of(
    records.map(_encode),
    records.map(_encode).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n])),
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
).filter(lambda b: b"\n" not in b and b"\r" not in b)


def _totals(chunks: list[IngestChunk]) -> tuple[int, int, int]:
    read = valid = bad = 0
    for chunk in chunks:
        assert chunk.rows_read == chunk.batch.num_rows + len(chunk.quarantined)
        assert all(q.reason.strip() for q in chunk.quarantined)
        read += chunk.rows_read
        valid += chunk.batch.num_rows
        bad += len(chunk.quarantined)
    return read, valid, bad


@FUZZ
@given(st.lists(lines, max_size=12))
def test_records_to_chunk_accounts_for_random_lines(items: list[bytes]) -> None:
    chunk = records_to_chunk(items, source="fuzz", now=NOW)
    read, valid, bad = _totals([chunk])
    assert read == len(items) == valid + bad
    assert sorted(q.position for q in chunk.quarantined if q.position is not None) == sorted(
        {q.position for q in chunk.quarantined if q.position is not None}
    )


@FUZZ
@given(st.lists(lines, max_size=12), st.integers(min_value=1, max_value=5))
def test_the_json_lines_reader_agrees_with_records_to_chunk(
    items: list[bytes], chunk_rows: int
) -> None:
    # Blank lines are not records; gzip magic or a byte order mark opening the file changes how
    # the whole file is decoded (covered by the corpus), so no line may start with either.
    items = [b for b in items if b.strip() and not b.startswith((b"\x1f\x8b", b"\xef\xbb\xbf"))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.jsonl"
        path.write_bytes(b"\n".join(items) + b"\n")
        chunks = list(JsonLinesReader(path, now=NOW, chunk_rows=chunk_rows).read())
    read, valid, bad = _totals(chunks)
    assert read == len(items) == valid + bad
    expected = records_to_chunk(items, source="fuzz", now=NOW)
    assert [q.position for c in chunks for q in c.quarantined] == sorted(
        q.position for q in expected.quarantined if q.position is not None
    )


@FUZZ
@given(st.binary(max_size=400))
def test_the_json_lines_reader_survives_random_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.jsonl"
        path.write_bytes(data)
        chunks = list(JsonLinesReader(path, now=NOW, chunk_rows=3).read())
    read, valid, bad = _totals(chunks)
    assert read == valid + bad
