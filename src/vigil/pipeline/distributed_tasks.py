"""The plain functions a distributed engine maps over partitions: no Fugue, Spark or Dask here.

Each function takes arrow tables and returns arrow tables of one fixed schema, so the same code
runs inside a Spark task, a Dask worker, DuckDB or a unit test. Three steps:

1. :func:`profile_tables` (map, no shuffle): raw rows of one engine partition -> one partial
   profile per ``(model, version, window)`` seen in it, plus its quarantined rows and a count of
   rows read per source. Rows are profiled ``chunk_rows`` at a time, so a task never holds more
   raw rows than that however skewed the traffic is; only the partial profiles accumulate.
2. :func:`merge_partials` (keyed by model, version, window): ``reduce(merge)`` of the partial
   profiles of one key. Only serialized profiles cross the network, never raw rows.
3. :func:`rollup_partials` (keyed by model, version, long window): hours into days.

The output of every step is :data:`PARTIAL_SCHEMA`: ``kind`` says what a row is (``profile``,
``quarantined`` or ``read``) and the other columns are filled as that kind needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ProfileKey, SchemaError
from vigil.ingest import (
    DEFAULT_LIMITS,
    IngestChunk,
    IngestLimits,
    JsonLinesReader,
    ParquetReader,
    QuarantinedRow,
    mapped_line,
    mapped_table_to_chunk,
    partition_values,
    table_to_chunk,
    with_folder_model,
)

# The local JSON-lines reader's own line parser, so the engine path refuses exactly the rows
# (and gives exactly the reasons) the local path does; not yet exported by ``vigil.ingest``.
from vigil.ingest.json_arrow import json_lines_to_chunk
from vigil.profile import Profile, ProfileSpec, merge_profiles, profile_batch, rollup

PROFILE = "profile"
QUARANTINED = "quarantined"
READ = "read"
SOURCE_COLUMN = "__source"
"""The column an engine reader adds with each row's file (Spark: ``_metadata.file_path``)."""
DOT = "__dot__"
"""Stands for ``.`` in column names on engines that read a dot as struct access (Spark):
flattened ``features.age`` travels as ``features__dot__age`` and is renamed back here."""
TEXT_COLUMN = "value"
"""The column that holds one JSON line when an engine reads JSON-lines files as text."""

PARTIAL_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string()),
        pa.field("model", pa.string()),
        pa.field("version", pa.string()),
        pa.field("window_start", pa.int64()),
        pa.field("parent_start", pa.int64()),
        pa.field("rows", pa.int64()),
        pa.field("blob", pa.binary()),
        pa.field("source", pa.string()),
        pa.field("position", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)
"""``window_start``/``parent_start`` are epoch microseconds of the profile's window and of the
longer window it rolls up into (equal to ``window_start`` when there is no rollup)."""
PARTIAL_FUGUE_SCHEMA = (
    "kind:str,model:str,version:str,window_start:long,parent_start:long,rows:long,"
    "blob:binary,source:str,position:long,reason:str,raw:str"
)
KEY_COLUMNS = ["model", "version", "window_start"]
PARENT_COLUMNS = ["model", "version", "parent_start"]


def profile_tables(
    tables: Iterable[pa.Table],
    *,
    spec: ProfileSpec,
    now: datetime | None,
    chunk_rows: int,
    rollup_to: timedelta | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> Iterator[pa.Table]:
    """Step 1 over rows an engine read: one JSON line per row, or the record's own columns
    (or, with ``limits.fields``, the columns of logs of another shape, mapped row by row).

    Each row names its file in :data:`SOURCE_COLUMN`; the file's Hive folders
    (``model=…/version=…``) fill and check ``model``/``version`` as the local reader does.
    Quarantined rows have no position: an engine split does not know its line numbers.
    """
    partials: dict[ProfileKey, Profile] = {}
    for table in tables:
        for source, piece in _by_source(table):
            partition = partition_values(Path(source))
            for start in range(0, piece.num_rows, chunk_rows):
                chunk = _chunk(piece.slice(start, chunk_rows), source, now, partition, limits)
                chunk = with_folder_model(chunk, partition)
                yield _account(chunk, partials, spec, positions=False)
    yield profiles_table(partials.values(), rollup_to)


def profile_files(
    tasks: pa.Table,
    *,
    spec: ProfileSpec,
    now: datetime | None,
    chunk_rows: int,
    rollup_to: timedelta | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> Iterator[pa.Table]:
    """Step 1 where each row names a file (``path``, ``root``) and the worker reads it itself.

    The engines without a reader of their own (Dask, DuckDB) get this: the worker uses Vigil's
    own readers, so counts, reasons and quarantine positions equal the local path's exactly.
    """
    partials: dict[ProfileKey, Profile] = {}
    for path, root in zip(
        tasks.column("path").to_pylist(), tasks.column("root").to_pylist(), strict=True
    ):
        relative = Path(path).relative_to(root) if root else Path(Path(path).name)
        partition = partition_values(relative)
        kind = ParquetReader if path.lower().endswith((".parquet", ".pq")) else JsonLinesReader
        reader = kind(path, now=now, chunk_rows=chunk_rows, limits=limits, partition=partition)
        for chunk in reader.read():
            yield _account(with_folder_model(chunk, partition), partials, spec, positions=True)
    yield profiles_table(partials.values(), rollup_to)


def merge_partials(table: pa.Table, *, rollup_to: timedelta | None = None) -> pa.Table:
    """Step 2: partial profiles merged into one per ``(model, version, window)``.

    The engine hands over whole keys (every partial of a key lands in one call), several keys
    per call: one call per shuffle partition costs far less than one per model-hour.
    """
    merged = merge_profiles(Profile.from_bytes(blob) for blob in table.column("blob").to_pylist())
    return profiles_table(merged.values(), rollup_to)


def rollup_partials(table: pa.Table, *, to: timedelta) -> pa.Table:
    """Step 3: profiles rolled up into their long windows (whole long windows per call)."""
    profiles = [Profile.from_bytes(blob) for blob in table.column("blob").to_pylist()]
    return profiles_table(rollup(profiles, to=to).values(), None)


def profiles_table(profiles: Iterable[Profile], rollup_to: timedelta | None) -> pa.Table:
    """Profiles as :data:`PARTIAL_SCHEMA` rows of kind ``profile``."""
    rows = []
    for profile in profiles:
        start = _us(profile.key.window.start.timestamp())
        step = _us(rollup_to.total_seconds()) if rollup_to is not None else 0
        rows.append(
            {
                "kind": PROFILE,
                "model": profile.key.model,
                "version": profile.key.version,
                "window_start": start,
                "parent_start": start - start % step if step else start,
                "rows": profile.rows,
                "blob": profile.to_bytes(),
            }
        )
    return pa.Table.from_pylist(rows, schema=PARTIAL_SCHEMA)


def quarantined_rows(table: pa.Table) -> list[QuarantinedRow]:
    """The ``quarantined`` rows of a step-1 output, back as :class:`QuarantinedRow` values."""
    rows = table.filter(pc.equal(table.column("kind"), QUARANTINED)).to_pylist()
    return [
        QuarantinedRow(
            source=row["source"],
            position=row["position"],
            reason=row["reason"],
            raw=row["raw"],
            model=row["model"] or None,
        )
        for row in rows
    ]


def local_path(source: str) -> str:
    """A ``file:`` URI (as Spark names files) as a plain path; other URIs stay as they are."""
    parsed = urlparse(source)
    return unquote(parsed.path) if parsed.scheme == "file" else source


def _by_source(table: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    if SOURCE_COLUMN not in table.column_names:
        raise SchemaError(f"the engine's rows lack the {SOURCE_COLUMN!r} column naming their file")
    sources = table.column(SOURCE_COLUMN)
    names = pc.unique(sources).to_pylist()
    rest = table.drop_columns([SOURCE_COLUMN])
    rest = rest.rename_columns([name.replace(DOT, ".") for name in rest.column_names])
    if len(names) == 1:
        yield local_path(names[0]), rest
        return
    for name in names:
        yield local_path(name), rest.filter(pc.equal(sources, name))


def _chunk(
    table: pa.Table,
    source: str,
    now: datetime | None,
    partition: Mapping[str, str],
    limits: IngestLimits,
) -> IngestChunk:
    rules, fields = limits.rules(now), limits.fields
    if table.column_names == [TEXT_COLUMN]:
        texts = table.column(TEXT_COLUMN).to_pylist()
        lines = [
            (number, line.encode())
            for number, line in enumerate(texts, start=1)
            if line is not None and line.strip()
        ]
        damaged: list[tuple[int, bytes, str]] = []
        if fields is not None:
            mapped = [(number, *mapped_line(text, fields)) for number, text in lines]
            lines = [(number, text) for number, text, problem in mapped if problem is None]
            damaged = [(n, text, problem) for n, text, problem in mapped if problem is not None]
        return json_lines_to_chunk(lines, damaged, source=source, rules=rules, partition=partition)
    if fields is not None:
        return mapped_table_to_chunk(table, fields, source=source, rules=rules, partition=partition)
    return table_to_chunk(table, source=source, rules=rules, partition=partition)


def _account(
    chunk: IngestChunk, partials: dict[ProfileKey, Profile], spec: ProfileSpec, *, positions: bool
) -> pa.Table:
    """Profile ``chunk`` into ``partials``; its quarantined rows and read count as rows."""
    for key, profile in profile_batch(chunk.batch, spec).items():
        earlier = partials.get(key)
        partials[key] = profile if earlier is None else earlier.merge(profile)
    # The read row's empty blob keeps the column from being all null when every row of a run
    # is quarantined: DuckDB stores an all-null column as INTEGER, which Fugue then cannot cast
    # back to binary, and the run would fail instead of reporting its quarantine.
    rows: list[dict[str, object]] = [
        {"kind": READ, "source": chunk.source, "rows": chunk.rows_read, "blob": b""}
    ]
    rows.extend(
        {
            "kind": QUARANTINED,
            "model": row.model or "",
            "source": row.source,
            "position": row.position if positions else None,
            "reason": row.reason,
            "raw": row.raw,
            "rows": 1,
        }
        for row in chunk.quarantined
    )
    return pa.Table.from_pylist(rows, schema=PARTIAL_SCHEMA)


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)
