"""Every file of the bad-input corpus (``tests/bad_inputs/``) through the readers and the endpoint.

The promise under test is the ingest contract: bad input gets a clear error or is quarantined with
its reason, and nothing is dropped silently. So for each case: no exception escapes except a
:class:`VigilError` for a whole-file problem, every quarantined row says why, and the rows read
equal the rows kept plus the rows quarantined. JSON-lines cases are also posted to
``POST /v1/ingest``, whose answer must account for every non-blank line, and whose accepted rows
must read back from the spool without a single quarantined row.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigil.core import VigilError
from vigil.ingest import (
    EARLIEST,
    MAX_NAME_CHARS,
    MAX_STRING_BYTES,
    RAW_LIMIT_BYTES,
    HivePartitionedReader,
    IngestChunk,
    IngestLimits,
    open_reader,
    records_to_chunk,
)
from vigil.server import ServerSettings, create_app

with warnings.catch_warnings():
    # Starlette warns that its client wants ``httpx2``; the pinned ``httpx`` still works, and the
    # suite turns warnings into errors, so silence exactly this one at import time.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

CORPUS = Path(__file__).parent / "bad_inputs"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "corpus-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CASES = sorted(
    p for p in CORPUS.iterdir() if p.suffix != ".py" and not p.name.startswith(("_", "."))
)
JSON_LINE_CASES = [p for p in CASES if p.is_file() and p.suffix in (".jsonl", ".ndjson")]
# Whole-file problems where the designed answer is a clear error rather than quarantined rows.
WHOLE_FILE_ERRORS = {
    "parquet_truncated.parquet",
    "parquet_not_parquet.parquet",
    "parquet_empty_file.parquet",
}


# Damaged gzip keeps every complete line before the damage and quarantines one row saying so.
DAMAGED_GZIP = {"gzip_truncated.jsonl.gz", "gzip_header_only.jsonl.gz", "gzip_corrupt_crc.jsonl.gz"}
# Cases whose bytes mean something different to a file reader than to a list of records: a
# gzip file named .jsonl (the reader goes by magic bytes) and a leading byte order mark (part of
# the file's encoding, but invalid JSON in a record).
NOT_RECORD_TEXT = {"plain_named_gz_magic.jsonl", "utf8_bom.jsonl", "utf8_bom_single_line.jsonl"}


def _nonblank_lines(data: bytes) -> int:
    """Lines end at \\n, \\r\\n or a lone \\r (old Mac tools write those)."""
    return sum(1 for line in data.splitlines() if line.strip())


def _raw_bytes(path: Path) -> bytes | None:
    """The decoded content of a JSON-lines file, or None when it cannot be decoded whole."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    members = []
    while data[:2] == b"\x1f\x8b":  # bytes after the last member are ignored, as gzip -d does
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            members.append(inflater.decompress(data))
        except zlib.error:
            return None
        if not inflater.eof:
            return None
        data = inflater.unused_data
    return b"".join(members)


def _read_all(path: Path) -> list[IngestChunk]:
    return list(open_reader(path, now=NOW, chunk_rows=7).read())


def _check_chunks(chunks: list[IngestChunk]) -> tuple[int, int, int]:
    read = valid = quarantined = 0
    for chunk in chunks:
        assert chunk.rows_read == chunk.batch.num_rows + len(chunk.quarantined)
        for row in chunk.quarantined:
            assert row.reason.strip(), f"empty reason for {row}"
            assert row.source
        if chunk.batch.num_rows:
            # What is kept honours the record contract, whichever parser path kept it.
            assert all(chunk.batch.meta.column("model").to_pylist())
            stamps = chunk.batch.timestamps_us()
            assert stamps.min() >= int(EARLIEST.timestamp() * 1_000_000)
            assert stamps.max() <= int((NOW + timedelta(days=1)).timestamp() * 1_000_000)
        read += chunk.rows_read
        valid += chunk.batch.num_rows
        quarantined += len(chunk.quarantined)
    return read, valid, quarantined


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40, [p.name for p in CASES]


# Inputs the reliability attack (issue 19) found to stop every model's cycle, or to count
# wrongly: (rows read, kept, quarantined) and a phrase every quarantined row's reason holds.
FINDINGS = {
    "timestamp_epoch_milliseconds.jsonl": ((4, 1, 3), "looks like epoch"),
    "timestamp_year_9999.jsonl": ((3, 1, 2), "in the future"),
    "timestamp_zero.jsonl": ((3, 1, 2), "before 2000-01-01"),
    "nested_20000_deep.jsonl": ((3, 2, 1), "nested deeper than 64 levels"),
    "features_over_the_limit.jsonl": ((3, 1, 2), "2001 "),
    "nul_in_names.jsonl": ((7, 2, 5), "NUL"),
    "cr_only_line_endings.jsonl": ((10, 10, 0), ""),
    "gzip_trailing_garbage.jsonl.gz": ((20, 20, 0), ""),
}


@pytest.mark.parametrize("name", sorted(FINDINGS))
def test_each_finding_is_counted_and_quarantined_with_its_reason(name: str) -> None:
    """Run in a child process: a line nested 20,000 deep used to crash the reader's process
    (arrow's JSON parser), which must fail this test, not the test run."""
    script = (
        "import sys, json; from datetime import datetime, timezone\n"
        "from vigil.ingest import open_reader\n"
        "now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)\n"
        "chunks = list(open_reader(sys.argv[1], now=now, chunk_rows=7).read())\n"
        "print(json.dumps([sum(c.rows_read for c in chunks), sum(c.batch.num_rows for c in chunks),"
        " [q.reason for c in chunks for q in c.quarantined]]))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script, str(CORPUS / name)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    read, kept, reasons = json.loads(child.stdout)
    (expected, phrase) = FINDINGS[name]
    assert (read, kept, len(reasons)) == expected, reasons
    assert all(phrase in reason for reason in reasons), reasons


def test_numbers_in_other_units_say_which_unit_they_look_like() -> None:
    chunks = _read_all(CORPUS / "timestamp_epoch_milliseconds.jsonl")
    reasons = [q.reason for c in chunks for q in c.quarantined]
    assert [r.split("looks like epoch ")[1].split(" ")[0] for r in reasons] == [
        "milliseconds",
        "microseconds",
        "nanoseconds",
    ]
    assert "1764583200000 is more than 1 day in the future" in reasons[0]


@pytest.mark.parametrize(
    ("stamp", "kept"),
    [
        ("1999-12-31T23:59:59.999999Z", False),
        ("2000-01-01T00:00:00Z", True),
        ("2026-11-26T12:00:00Z", True),  # now + 1 day, just inside
        ("2026-11-26T12:00:00.000001Z", False),
    ],
)
def test_the_plausible_range_is_closed_at_both_ends(stamp: str, kept: bool) -> None:
    line = orjson.dumps({"model": "m", "timestamp": stamp})
    for chunk in (
        records_to_chunk([line], source="t", now=NOW),
        records_to_chunk([line, line], source="t", now=NOW),  # two lines: the arrow path
    ):
        assert (chunk.batch.num_rows > 0) is kept, chunk.quarantined


def test_the_plausible_range_and_sizes_are_settings() -> None:
    limits = IngestLimits(
        earliest=datetime(2026, 11, 1, tzinfo=UTC),
        ahead=timedelta(hours=1),
        max_nesting=4,
        max_features=3,
    )
    rows = [
        {"model": "m", "timestamp": "2026-10-31T23:59:59Z"},
        {"model": "m", "timestamp": "2026-11-25T13:00:01Z"},
        {"model": "m", "timestamp": "2026-11-25T13:00:00Z", "features": {"a": 1, "b": 2, "c": 3}},
        {
            "model": "m",
            "timestamp": "2026-11-25T10:00:00Z",
            "features": {"a": 1, "b": 2, "c": 3, "d": 4},
        },
    ]
    lines = [orjson.dumps(row) for row in rows] + [b'{"model": "m", "x": [[[[1]]]]}']
    chunk = records_to_chunk(lines, source="t", now=NOW, limits=limits)
    reasons = [q.reason for q in chunk.quarantined]
    assert chunk.batch.num_rows == 1 and len(reasons) == 4, reasons
    assert "before 2026-11-01" in reasons[0] and "more than 1 hour in the future" in reasons[1]
    assert "4 features in one row; at most 3" in reasons[2]
    assert "nested deeper than 4 levels" in reasons[3]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_every_reader_accounts_for_every_row(path: Path) -> None:
    try:
        chunks = _read_all(path)
    except VigilError as err:
        assert path.name in WHOLE_FILE_ERRORS, f"{path.name}: unexpected whole-file error {err}"
        assert str(err).strip()
        return
    assert path.name not in WHOLE_FILE_ERRORS, f"{path.name} was expected to fail as a whole"
    read, valid, quarantined = _check_chunks(chunks)
    assert read == valid + quarantined
    if path.name in DAMAGED_GZIP:
        last = chunks[-1].quarantined[-1]
        assert "gzip" in last.reason, last.reason
        assert last.position == read
        return
    if path.is_file() and path.suffix in (".jsonl", ".ndjson", ".gz"):
        raw = _raw_bytes(path)
        assert raw is not None
        # A JSON-lines reader judges every non-blank line: none may vanish. (Splitting on
        # ``\n`` only; a file whose content is not UTF-8 text still has its lines counted.)
        assert read == _nonblank_lines(raw), (path.name, read, valid, quarantined)


@pytest.mark.parametrize(
    "path", [p for p in JSON_LINE_CASES if p.name not in NOT_RECORD_TEXT], ids=lambda p: p.name
)
def test_records_to_chunk_agrees_with_the_file_reader(path: Path) -> None:
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    chunk = records_to_chunk(lines, source=path.name, now=NOW)
    read, valid, quarantined = _check_chunks([chunk])
    assert read == len(lines) == valid + quarantined
    assert (valid, quarantined) == _check_chunks(_read_all(path))[1:]


def test_a_byte_order_mark_starts_a_file_whatever_its_length() -> None:
    # Regression: line 1 behind a BOM was refused in a one-line file (orjson path) but kept in a
    # longer one (Arrow path). Now it is kept in both; a BOM inside the file stays an error.
    single = _check_chunks(_read_all(CORPUS / "utf8_bom_single_line.jsonl"))
    double = _check_chunks(_read_all(CORPUS / "utf8_bom.jsonl"))
    assert single == (1, 1, 0)
    assert double == (2, 2, 0)
    chunks = _read_all(CORPUS / "utf8_bom_mid_file.jsonl")
    assert _check_chunks(chunks) == (3, 2, 1)
    assert [q.position for c in chunks for q in c.quarantined] == [2]


def test_an_unreadable_file_in_a_folder_is_one_quarantined_row_and_the_rest_is_read() -> None:
    """A truncated Parquet file used to stop the whole folder (so its model) from being read."""
    chunks = _read_all(CORPUS / "hive_unreadable_file")
    assert _check_chunks(chunks) == (3, 2, 1)
    (row,) = [q for c in chunks for q in c.quarantined]
    assert row.source.endswith("a-truncated.parquet") and row.model == "ranker"
    assert "not a readable Parquet file" in row.reason


def test_an_empty_partition_value_fills_nothing() -> None:
    # Regression: ``model=`` filled in an empty model, which the Arrow path kept.
    chunks = _read_all(CORPUS / "hive_odd_partitions")
    reasons = {(Path(c.source).name, q.position): q.reason for c in chunks for q in c.quarantined}
    assert reasons[("a.jsonl", 1)] == "missing field 'model'"
    assert ("a.jsonl", 2) not in reasons


def _big_string_lines() -> list[bytes]:
    big = "x" * (1 << 20)
    return [
        orjson.dumps({"model": "ranker", "timestamp": 1764064800, "features": {"s": big}}),
        orjson.dumps({"model": big, "timestamp": 1764064800}),
        orjson.dumps({"model": "ranker", "timestamp": 1764064800, "tags": {"t": big}}),
        orjson.dumps({"model": "ranker", "timestamp": big}),
        orjson.dumps({"model": "ranker", "timestamp": 1764064800, big: 1}),
        orjson.dumps({"model": "ranker", "timestamp": 1764064800, "features": {big: 1}}),
        orjson.dumps({"model": "ranker", "timestamp": 1764064800, "features": {"n": 1}}),
    ]


def test_one_megabyte_strings_are_kept_short_or_quarantined(tmp_path: Path) -> None:
    lines = _big_string_lines()
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for chunks in (_read_all(path), [records_to_chunk(lines, source="big", now=NOW)]):
        read, valid, quarantined = _check_chunks(chunks)
        assert read == len(lines) == valid + quarantined
        assert valid >= 1  # the ordinary last line
        for chunk in chunks:
            for row in chunk.quarantined:
                assert len(row.raw.encode()) <= 2 * RAW_LIMIT_BYTES, "raw text is bounded"
            for column in chunk.batch.features.values():
                texts = [t for t in column.texts.to_pylist() if t is not None]
                assert all(len(t.encode()) <= MAX_STRING_BYTES for t in texts)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"features": {"x" * (1 << 20): 1}}, "feature name"),
        ({"features": {"x" * (MAX_NAME_CHARS + 1): None}}, "feature name"),
        ({"outputs": {"y" * (MAX_NAME_CHARS + 1): 0.5}}, "output name"),
        ({"tags": {"t" * (MAX_NAME_CHARS + 1): "a"}}, "tag name"),
        ({"model": "m" * (MAX_NAME_CHARS + 1)}, "field 'model' is a name"),
        ({"version": "v" * (MAX_NAME_CHARS + 1)}, "field 'version' is a name"),
    ],
    ids=["feature-1MB", "feature-257", "output", "tag", "model", "version"],
)
def test_names_over_the_limit_are_refused_by_both_parser_paths(
    record: dict[str, object], reason: str, tmp_path: Path
) -> None:
    """Names become series keys, store rows and chart labels: a long one is quarantined, on
    the JSON path and on the typed (Parquet) path alike, while a name at the limit is kept."""
    base: dict[str, object] = {"model": "ranker", "timestamp": 1764064800, "features": {"a": 1}}
    at_limit = {**base, "features": {"n" * MAX_NAME_CHARS: 1.0}}
    lines = [orjson.dumps({**base, **record}), orjson.dumps(at_limit)]
    chunk = records_to_chunk(lines, source="names", now=NOW)
    assert _check_chunks([chunk]) == (2, 1, 1)
    assert reason in chunk.quarantined[0].reason
    assert len(chunk.quarantined[0].reason) < 200  # the reason quotes a short prefix only
    table = pa.Table.from_pylist([{**base, **record, "timestamp": NOW}])
    parquet = tmp_path / "names.parquet"
    pq.write_table(table, parquet)
    typed = list(open_reader(parquet, now=NOW).read())
    assert _check_chunks(typed) == (1, 0, 1)
    assert f"over {MAX_NAME_CHARS} characters" in typed[0].quarantined[0].reason


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    root = tmp_path_factory.mktemp("corpus_server")
    settings = ServerSettings(
        store_url=f"sqlite:///{root / 'vigil.db'}",
        spool_dir=root / "spool",
        token=TOKEN,
        clock=lambda: NOW,
        realtime=False,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client, settings.spool_dir


@pytest.mark.parametrize("path", JSON_LINE_CASES, ids=lambda p: p.name)
def test_the_ingest_endpoint_accounts_for_every_line(
    path: Path, client: tuple[TestClient, Path]
) -> None:
    http, spool = client
    before = (
        _check_chunks(list(HivePartitionedReader(spool, now=NOW).read()))
        if spool.exists()
        else (0, 0, 0)
    )
    data = path.read_bytes()
    response = http.post(
        "/v1/ingest", content=data, headers={**AUTH, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert all(str(r["reason"]).strip() for r in body["rejected"])
    assert body["accepted"] + len(body["rejected"]) == _nonblank_lines(data)
    # What the endpoint accepted must be durable and clean when the pipeline reads it back.
    if body["accepted"]:
        _, valid, quarantined = _check_chunks(list(HivePartitionedReader(spool, now=NOW).read()))
        assert quarantined == before[2]
        assert valid == before[1] + body["accepted"]


def test_the_ingest_endpoint_bounds_one_megabyte_strings(client: tuple[TestClient, Path]) -> None:
    http, _ = client
    lines = _big_string_lines()
    response = http.post(
        "/v1/ingest",
        content=b"\n".join(lines),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert body["accepted"] + len(body["rejected"]) == len(lines)
    assert all(str(r["reason"]).strip() for r in body["rejected"])
    assert len(response.content) < 64 * 1024, "the answer must not echo the big strings"


GOOD = b'{"model": "ranker", "timestamp": 1764064800, "features": {"age": 3}}'
# (body, records it holds, or None when the whole body is refused with a 400)
JSON_BODIES = {
    "empty": (b"", None),
    "truncated_array": (b"[" + GOOD, None),
    "nan_literal": (b"[NaN]", None),
    "too_deep": (b"[" * 2000 + b"]" * 2000, None),
    "bare_string": (b'"x"', None),
    "two_documents": (b"[" + GOOD + b"][" + GOOD + b"]", None),
    "utf8_bom": (b"\xef\xbb\xbf[" + GOOD + b"]", None),
    "empty_array": (b"[]", 0),
    "one_object": (GOOD, 1),
    "scalars_in_array": (b'[1, "a", null, [], ' + GOOD + b"]", 5),
    "nested_200": (
        b'[{"model": "m", "timestamp": 1, "features": {"d": ' + b"[" * 200 + b"]" * 200 + b"}}]",
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(JSON_BODIES))
def test_json_array_bodies_are_400_or_accounted_for(
    name: str, client: tuple[TestClient, Path]
) -> None:
    http, _ = client
    data, records = JSON_BODIES[name]
    response = http.post(
        "/v1/ingest", content=data, headers={**AUTH, "Content-Type": "application/json"}
    )
    if records is None:
        assert response.status_code == 400, response.text
        assert "JSON" in response.json()["detail"]
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] + len(body["rejected"]) == records
    assert all(str(r["reason"]).strip() for r in body["rejected"])
