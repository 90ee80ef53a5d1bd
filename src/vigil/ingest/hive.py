"""Reading a Hive-partitioned folder: ``model=…/version=…/date=…/hour=…/`` of log files.

A file in the folder that cannot be read at all (not Parquet, truncated) is one quarantined
row naming the file and why; the folder's other files are read as usual.

Files are read in sorted path order, so two reads of the same folder yield the same chunks. The
``model`` and ``version`` folder values fill records that lack those fields; a record naming a
different model or version than its folder is quarantined, since the file is then in the wrong
place or the record is wrong, and guessing which would corrupt one model's health series with
another's traffic. ``date``/``hour`` folders order the files (records carry their own
timestamps), and let a reader skip what it has already read: with ``since``, files under a
``date=`` folder older than that day are not opened (a ``date=`` folder holds what arrived that
day, and no row stamped on or after ``since`` can arrive before it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from urllib.parse import unquote

from vigil.core import ConfigError, SchemaError, is_hashed
from vigil.ingest.batch import IngestChunk, RecordBatch
from vigil.ingest.jsonl import JsonLinesReader
from vigil.ingest.limits import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_LIMITS,
    IngestLimits,
    check_reader_options,
)
from vigil.ingest.parquet import ParquetReader
from vigil.ingest.quarantine import QuarantinedRow
from vigil.ingest.reader import Reader

logger = logging.getLogger(__name__)

JSON_LINES_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
_FILLED_KEYS = ("model", "version")
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True, slots=True, kw_only=True)
class HivePartitionedReader:
    """Reads every log file under ``root``; each chunk's ``source`` is one file's path.

    Files whose names start with ``.`` or ``_`` (``_SUCCESS``, ``.crc``) and files of other
    types are not logs and are skipped (each skip is logged at INFO).
    """

    root: str | os.PathLike[str] = field(kw_only=False)
    now: datetime | None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    since: date | None = None
    """Skip files under ``date=`` folders before this day (files without one are read)."""
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        check_reader_options(chunk_rows=self.chunk_rows, now=self.now)

    def read(self) -> Iterator[IngestChunk]:
        root = Path(self.root)
        if not root.is_dir():
            raise ConfigError(f"{os.fspath(root)!r} is not a folder")
        skipped = 0
        for path in log_files(root):
            day = partition_date(path.relative_to(root))
            if self.since is not None and day is not None and day < self.since:
                skipped += 1
                continue
            partition = partition_values(path.relative_to(root))
            reader = file_reader(
                path,
                now=self.now,
                chunk_rows=self.chunk_rows,
                partition=partition,
                limits=self.limits,
            )
            try:
                for chunk in reader.read():
                    yield with_folder_model(chunk, partition)
            except SchemaError as err:
                yield with_folder_model(unreadable_file(path, err), partition)
        if skipped:
            logger.info(
                "%s: %d files in date= folders before %s not read", root, skipped, self.since
            )


def unreadable_file(path: Path, err: SchemaError) -> IngestChunk:
    """A file of a folder that cannot be read at all (a truncated Parquet file), as one
    quarantined row saying so: the folder's other files are still read, and the file is
    counted and visible instead of stopping its model."""
    row = QuarantinedRow(source=os.fspath(path), position=None, reason=str(err), raw="")
    return IngestChunk(
        source=os.fspath(path), rows_read=1, batch=RecordBatch.empty(), quarantined=(row,)
    )


def log_files(root: Path) -> Iterator[Path]:
    """The log files under ``root`` in sorted order (folders walked depth-first, sorted)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith((".", "_")))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith((".", "_")):
                continue
            if name.endswith(JSON_LINES_SUFFIXES + PARQUET_SUFFIXES):
                yield path
            else:
                logger.info("skipping %s: not a .jsonl[.gz] or .parquet file", path)


def partition_values(relative: Path) -> dict[str, str]:
    """``model``/``version`` values of the ``key=value`` folders in ``relative``."""
    values: dict[str, str] = {}
    for part in relative.parent.parts:
        key, sep, value = part.partition("=")
        # An empty value (``model=``) says nothing, like Hive's null: filled in, it gave rows an
        # empty model that the Arrow path kept while the per-record path refused it. A hashed
        # value (a name too long for a folder, see vigil.sdk.partition_path) cannot be read
        # back: its records name their model themselves.
        if sep and value and key in _FILLED_KEYS and value != _HIVE_NULL and not is_hashed(value):
            values[key] = unquote(value)
    return values


def with_folder_model(chunk: IngestChunk, partition: Mapping[str, str]) -> IngestChunk:
    """``chunk`` with its folder's model on quarantined rows too broken to name one, so they
    count in that model's quarantine rate (and show under it)."""
    folder_model = partition.get("model")
    if not folder_model or all(row.model is not None for row in chunk.quarantined):
        return chunk
    rows = tuple(
        row if row.model is not None else replace(row, model=folder_model)
        for row in chunk.quarantined
    )
    return replace(chunk, quarantined=rows)


def partition_date(relative: Path) -> date | None:
    """The day of the ``date=YYYY-MM-DD`` folder in ``relative``, if it has a valid one."""
    for part in relative.parent.parts:
        key, sep, value = part.partition("=")
        if sep and key == "date":
            try:
                return date.fromisoformat(value)
            except ValueError:
                return None
    return None


def file_reader(
    path: Path,
    *,
    now: datetime | None,
    chunk_rows: int,
    partition: dict[str, str] | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> Reader:
    """The reader for one file, chosen by its suffix."""
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return ParquetReader(
            path, now=now, chunk_rows=chunk_rows, partition=partition, limits=limits
        )
    if name.endswith(JSON_LINES_SUFFIXES):
        return JsonLinesReader(
            path, now=now, chunk_rows=chunk_rows, partition=partition, limits=limits
        )
    raise ConfigError(
        f"cannot tell how to read {os.fspath(path)!r}: expected one of "
        f"{', '.join(JSON_LINES_SUFFIXES + PARQUET_SUFFIXES)} or a folder"
    )


def open_reader(
    path: str | os.PathLike[str],
    *,
    now: datetime | None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    since: date | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> Reader:
    """A reader for ``path``: a folder is read as Hive partitions (``date=`` folders before
    ``since`` skipped), a file by its suffix; rows are judged by ``limits``."""
    location = Path(path)
    if location.is_dir():
        return HivePartitionedReader(
            location, now=now, chunk_rows=chunk_rows, since=since, limits=limits
        )
    if not location.exists():
        raise ConfigError(f"{os.fspath(location)!r} does not exist")
    return file_reader(location, now=now, chunk_rows=chunk_rows, limits=limits)
