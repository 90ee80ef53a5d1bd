"""The JSON-lines reader on real files: plain, gzip, damaged, and large."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from vigil.core import ConfigError
from vigil.ingest import IngestChunk, JsonLinesReader, jsonl, write_quarantine

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def record(i: int) -> dict[str, object]:
    return {
        "model": "ranker",
        "timestamp": 1.79e9 + i,
        "features": {"x": i, "country": "DE" if i % 2 else "FR"},
        "outputs": {"score": i / 10},
    }


def lines(n: int) -> bytes:
    return b"".join(orjson.dumps(record(i)) + b"\n" for i in range(n))


def read_all(path: Path, chunk_rows: int = 50_000) -> list[IngestChunk]:
    return list(JsonLinesReader(path, now=NOW, chunk_rows=chunk_rows).read())


def totals(chunks: list[IngestChunk]) -> tuple[int, int, int]:
    return (
        sum(c.rows_read for c in chunks),
        sum(c.batch.num_rows for c in chunks),
        sum(len(c.quarantined) for c in chunks),
    )


def test_plain_file_reads_every_row(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(lines(25))
    chunks = read_all(path, chunk_rows=10)
    assert [c.rows_read for c in chunks] == [10, 10, 5]
    assert totals(chunks) == (25, 25, 0)
    assert chunks[2].batch.features["x"].numbers.tolist() == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert all(c.source == str(path) for c in chunks)


def test_gzip_gives_the_same_rows_as_plain(tmp_path: Path) -> None:
    plain, packed = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz"
    plain.write_bytes(lines(40))
    packed.write_bytes(gzip.compress(lines(40)))
    a, b = read_all(plain, 16), read_all(packed, 16)
    assert [c.rows_read for c in a] == [c.rows_read for c in b] == [16, 16, 8]
    for x, y in zip(a, b, strict=True):
        assert x.batch.meta.equals(y.batch.meta)
        assert x.batch.features["country"].texts.equals(y.batch.features["country"].texts)


def test_multi_member_gzip_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(lines(3)) + gzip.compress(lines(4)))
    assert totals(read_all(path)) == (7, 7, 0)


def test_bad_lines_are_quarantined_with_line_numbers(tmp_path: Path) -> None:
    good = orjson.dumps(record(0))
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b"\n".join(
            [good, b"{not json", b"", good, b"\xff\xfe\x00garbage", b"[1, 2]", b"   ", good + b"\r"]
        )
        + b"\n"
    )
    (chunk,) = read_all(path)
    assert chunk.batch.num_rows == 3
    assert [(q.position, q.reason.split(":")[0]) for q in chunk.quarantined] == [
        (2, "invalid JSON"),
        (5, "not valid UTF-8"),
        (6, "record must be a JSON object, got list"),
    ]
    assert chunk.rows_read == 6  # blank lines are not records


def test_truncated_last_line_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(lines(3) + b'{"model": "ranker", "times')
    (chunk,) = read_all(path)
    assert chunk.batch.num_rows == 3
    (row,) = chunk.quarantined
    assert row.position == 4 and "cut short" in row.reason
    assert row.raw == '{"model": "ranker", "times'


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(lines(3).rstrip(b"\n"))
    assert totals(read_all(path)) == (3, 3, 0)


def test_truncated_gzip_keeps_complete_lines_and_quarantines_the_cut(tmp_path: Path) -> None:
    data = b"".join(
        orjson.dumps({**record(i), "request_id": f"{i:06d}-{i * 7919 % 10007}"}) + b"\n"
        for i in range(2000)
    )
    packed = gzip.compress(data)
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    chunks = read_all(path)
    read, valid, quarantined = totals(chunks)
    assert read == valid + quarantined
    assert 0 < valid < 2000 and quarantined == 1
    (row,) = chunks[-1].quarantined
    assert row.position == valid + 1 and "truncated" in row.reason


def test_corrupt_gzip_is_quarantined_not_raised(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(lines(500)))
    packed[40:60] = b"\x00" * 20
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(bytes(packed))
    chunks = read_all(path)
    assert any("gzip" in q.reason for c in chunks for q in c.quarantined)


def test_empty_file_yields_one_empty_chunk(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"")
    assert totals(read_all(path)) == (0, 0, 0)


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chunk_rows must be a positive integer, got 0"):
        JsonLinesReader(tmp_path / "a.jsonl", now=NOW, chunk_rows=0)
    with pytest.raises(ConfigError, match="no time zone"):
        JsonLinesReader(tmp_path / "a.jsonl", now=datetime(2026, 1, 1))


def test_quarantine_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"model": "m"}\n{oops\n')
    rows = read_all(path)[0].quarantined
    out = tmp_path / "quarantine.jsonl"
    assert write_quarantine(rows, out) == 2
    assert write_quarantine(rows[:1], out) == 1  # appends
    written = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [w["position"] for w in written] == [1, 2, 1]
    assert written[0] == {
        "source": str(path),
        "position": 1,
        "reason": "missing field 'timestamp'",
        "raw": '{"model": "m"}',
        "model": "m",
    }


@pytest.mark.slow
def test_200k_rows_stream_in_chunks_never_above_chunk_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out:
        for start in range(0, 200_000, 10_000):
            out.write(
                b"".join(
                    b'{"model":"m","timestamp":%d,"features":{"x":%d}}\n' % (1.79e9 + i, i)
                    for i in range(start, start + 10_000)
                )
            )
    sizes = []
    valid = 0
    for chunk in JsonLinesReader(path, now=NOW, chunk_rows=10_000).read():
        sizes.append(chunk.rows_read)
        valid += chunk.batch.num_rows
    assert max(sizes) <= 10_000 and sum(sizes) == valid == 200_000
    assert len(sizes) == 20


def test_lines_over_the_limit_are_quarantined_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 3000)
    monkeypatch.setattr(jsonl, "_BLOCK_BYTES", 1000)  # long lines span several blocks
    good = orjson.dumps(record(1))
    long_line = orjson.dumps({**record(2), "host": "h" * 5000})
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join([good, long_line, good, long_line]))
    (chunk,) = read_all(path)
    assert chunk.batch.num_rows == 2
    assert [q.position for q in chunk.quarantined] == [2, 4]
    assert all("longer than 3000 bytes" in q.reason for q in chunk.quarantined)
    assert chunk.quarantined[0].raw.startswith('{"model":"ranker"')


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_block_size_does_not_change_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(jsonl, "_BLOCK_BYTES", block)
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\r\n".join(orjson.dumps(record(i)) for i in range(30)) + b"\n\n{bad")
    (chunk,) = read_all(path)
    assert chunk.batch.num_rows == 30
    assert chunk.batch.features["x"].numbers.tolist() == [float(i) for i in range(30)]
    (bad,) = chunk.quarantined
    assert bad.position == 32 and "cut short" in bad.reason


@pytest.mark.parametrize("block", [5, 100, 1 << 20])
def test_gzip_block_size_does_not_change_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(jsonl, "_BLOCK_BYTES", block)
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(lines(20)) + gzip.compress(lines(5)))
    chunks = read_all(path)
    assert totals(chunks) == (25, 25, 0)
    assert chunks[0].batch.features["x"].numbers.tolist()[-5:] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_plain_runs_and_other_lines_come_back_in_order_and_in_full_chunks(tmp_path: Path) -> None:
    # Plain runs go to arrow whole; a null, a blank line, a CRLF line and a broken line go one
    # by one. Chunks still hold chunk_rows rows each, in file order, with the right numbers.
    others = [
        b'{"model": "ranker", "timestamp": 1790000100.0, "features": {"x": null}}',
        b"",
        orjson.dumps(record(101)) + b"\r",
        b'{"model": "ranker", "times',
    ]
    parts = [lines(9), *(line + b"\n" for line in others), lines(6)]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join(parts))
    chunks = read_all(path, chunk_rows=4)
    assert [c.rows_read for c in chunks] == [4, 4, 4, 4, 2]  # 9 + 3 records + 1 broken + 6
    assert totals(chunks) == (18, 17, 1)
    (bad,) = [q for c in chunks for q in c.quarantined]
    assert bad.position == 13 and bad.raw.startswith('{"model": "ranker", "times')
    x = [v for c in chunks for v in c.batch.features["x"].numbers.tolist()]
    assert x[:9] == list(range(9)) and x[10] == 101.0 and x[11:] == list(range(6))
    stamps = [s for c in chunks for s in c.batch.meta.column("timestamp").to_pylist()]
    assert stamps[9] == datetime.fromtimestamp(1790000100, UTC)  # the null line, in place


def test_a_cut_line_among_waiting_lines_joins_their_parser_call() -> None:
    """A read boundary cuts one line out of every block; read on its own, it split the lines
    around it into two parser calls (180 instead of 4 on a log with nulls in 10% of rows).
    It joins the lines waiting; a plain run of several lines still goes to arrow whole."""
    from collections.abc import Sequence

    from vigil.ingest import DEFAULT_LIMITS
    from vigil.ingest.json_arrow import json_block_to_chunk, json_lines_to_chunk
    from vigil.ingest.line_blocks import Block, ChunkAssembler

    rules = DEFAULT_LIMITS.rules(NOW)
    calls: list[tuple[str, list[int]]] = []

    def read_block(text: bytes, first: int, count: int) -> IngestChunk:
        calls.append(("block", list(range(first, first + count))))
        return json_block_to_chunk(text, first, count, source="s", rules=rules)

    def read_lines(
        good: Sequence[tuple[int, bytes]], damaged: Sequence[tuple[int, bytes, str]]
    ) -> IngestChunk:
        calls.append(("lines", sorted([n for n, _ in good] + [n for n, _, _ in damaged])))
        return json_lines_to_chunk(good, damaged, source="s", rules=rules)

    def line(i: int, **features: object) -> bytes:
        return orjson.dumps({**record(i), "features": {"x": i, **features}})

    assembler = ChunkAssembler(100, read_block=read_block, read_lines=read_lines)
    chunks = [
        *assembler.add_lines([(1, line(1, y=None), None), (2, line(2), None)]),
        *assembler.add_block(Block(3, line(3), 1)),  # cut by a read boundary
        *assembler.add_lines([(4, line(4, y=None), None), (5, b"{cut", "cut short")]),
        *assembler.add_block(Block(6, line(6) + b"\n" + line(7), 2)),
        *assembler.close(),
    ]
    assert calls == [("lines", [1, 2, 3, 4, 5]), ("block", [6, 7])]
    (chunk,) = chunks
    assert (chunk.rows_read, chunk.batch.num_rows) == (7, 6)
    assert chunk.batch.features["x"].numbers.tolist() == [1, 2, 3, 4, 6, 7]
