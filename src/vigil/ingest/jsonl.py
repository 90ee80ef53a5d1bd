"""Reading JSON-lines files (plain or gzip) in bounded chunks.

Bytes are read in blocks and split on newlines here rather than through ``gzip.open``, so that a
file cut short (a crashed writer, a partial copy) still yields every complete line, and the cut
line is quarantined with its line number instead of raising halfway through a read.

A line ends at ``\n``, ``\r\n`` or a lone ``\r`` (old Mac tools): JSON cannot hold a raw CR
inside a string, so a CR only ever separates records. Bytes after the end of a complete gzip
stream that are not another gzip member are ignored, as ``gzip -d`` does ("trailing garbage"),
and logged: they are not a record, so they are not counted as a row.

Most logs are plain (no ``null``, no blank lines): runs of such lines go to arrow's JSON parser
as the bytes they came in, without a Python object per line; every other line takes the
line-by-line path, with the same result (see :mod:`vigil.ingest.line_blocks`).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson

from vigil.ingest.batch import IngestChunk
from vigil.ingest.fields import FieldMap
from vigil.ingest.json_arrow import json_block_to_chunk, json_lines_to_chunk
from vigil.ingest.limits import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_LIMITS,
    IngestLimits,
    check_reader_options,
)
from vigil.ingest.line_blocks import Block, ChunkAssembler, is_plain
from vigil.ingest.mapped import mapped_line

logger = logging.getLogger(__name__)

_BLOCK_BYTES = 1 << 20
_KEPT_BYTES = 16 * 1024
MAX_LINE_BYTES = 32 * 1024 * 1024
"""Longest JSON line read; longer ones are quarantined without being held in memory whole."""
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    text: bytes
    problem: str | None = None
    """Set when the reader already knows the line is damaged (cut short, corrupt gzip)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonLinesReader:
    """Reads one ``.jsonl`` / ``.jsonl.gz`` file; positions are 1-based line numbers.

    Blank lines are not records and are skipped (they still count for line numbers). Gzip is
    recognised by its magic bytes, whatever the file is called.
    """

    path: str | os.PathLike[str] = field(kw_only=False)
    now: datetime | None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    partition: Mapping[str, str] | None = None
    """Values from a Hive folder path (``model``, ``version``) that fill missing fields."""
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        check_reader_options(chunk_rows=self.chunk_rows, now=self.now)

    def read(self) -> Iterator[IngestChunk]:
        source = os.fspath(self.path)
        rules = self.limits.rules(self.now)

        def read_block(text: bytes, first: int, count: int) -> IngestChunk:
            return json_block_to_chunk(
                text, first, count, source=source, rules=rules, partition=self.partition
            )

        def read_lines(
            good: Sequence[tuple[int, bytes]], damaged: Sequence[tuple[int, bytes, str]]
        ) -> IngestChunk:
            return json_lines_to_chunk(
                good, damaged, source=source, rules=rules, partition=self.partition
            )

        assembler = ChunkAssembler(self.chunk_rows, read_block=read_block, read_lines=read_lines)

        fields = self.limits.fields

        def chunks() -> Iterator[IngestChunk]:
            for segment in _segments(Path(source)):
                if (
                    fields is None
                    and isinstance(segment, Block)
                    and is_plain(segment.text, max_line_bytes=MAX_LINE_BYTES, rules=rules)
                ):
                    yield from assembler.add_block(segment)
                    continue
                lines = _segment_lines(segment)
                if fields is not None:
                    lines = (_mapped(line, fields) for line in lines)
                yield from assembler.add_lines(
                    (line.number, line.text, line.problem) for line in lines
                )
            yield from assembler.close()

        total = quarantined = 0
        for chunk in chunks():
            total, quarantined = total + chunk.rows_read, quarantined + len(chunk.quarantined)
            yield chunk
        if total == 0:
            yield read_lines([], [])
        logger.info("read %s: %d rows, %d quarantined", source, total, quarantined)


def _mapped(line: _Line, fields: FieldMap) -> _Line:
    """The line as a record through ``fields``, or with the reason the map does not fit it
    (quarantined with its original text)."""
    if line.problem is not None:
        return line
    text, problem = mapped_line(line.text, fields)
    return _Line(line.number, text, problem)


def _segment_lines(segment: Block | _Line) -> Iterator[_Line]:
    if isinstance(segment, _Line):
        yield segment
        return
    for offset, piece in enumerate(segment.text.split(b"\n")):
        line = _line(segment.first + offset, piece, over=len(piece) > MAX_LINE_BYTES)
        if line is not None:
            yield line


def _segments(path: Path) -> Iterator[Block | _Line]:
    """The lines of ``path`` as blocks of complete lines, and on their own the lines that
    need it: one completing a line begun in the previous block, a damaged one, the last.

    A line longer than :data:`MAX_LINE_BYTES` is quarantined from its first bytes while the rest
    is skipped, so one runaway line cannot exhaust memory.
    """
    number = 0
    pending: list[bytes] = []  # pieces of the line not yet ended by a newline
    size = 0
    oversized = False  # the pending line passed the limit: pending holds only its start
    at_start = True
    held = b""  # a CR that ended a block: the next block may start with its LF
    with path.open("rb") as raw:
        for data, problem in _blocks(raw, source=path):
            # A byte order mark (Windows tools write one) is not part of line 1; left in, line 1
            # was kept or refused depending on which JSON parser its chunk went through.
            block = data.removeprefix(_UTF8_BOM) if at_start else data
            at_start = at_start and not data
            if held:
                block, held = held + block, b""
            if block.endswith(b"\r") and problem is None:
                block, held = block[:-1], b"\r"
            if b"\r" in block:
                block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            cut = block.rfind(b"\n")
            last = block[cut + 1 :]
            if cut >= 0:
                head = block[:cut]
                whole = True  # head still holds at least one line of its own
                if pending:
                    end = head.find(b"\n")
                    whole = end >= 0
                    piece, head = (head[:end], head[end + 1 :]) if whole else (head, b"")
                    number += 1
                    over = oversized or size + len(piece) > MAX_LINE_BYTES
                    text = pending[0] if oversized else b"".join([*pending, piece])
                    pending, size, oversized = [], 0, False
                    if over:
                        yield _Line(number, text[:_KEPT_BYTES], _too_long_reason())
                    else:  # a line like any other, cut only by where a read ended
                        yield Block(number, text, 1)
                if whole:
                    count = head.count(b"\n") + 1
                    yield Block(number + 1, head, count)
                    number += count
            if last and not oversized:
                pending.append(last)
                size += len(last)
                if size > MAX_LINE_BYTES:
                    pending, oversized = [b"".join(pending)[:_KEPT_BYTES]], True
            if problem is not None:
                # What follows the last newline is lost or partial: one quarantined row says so.
                yield _Line(number + 1, b"".join(pending), problem)
                return
    if held:  # the file ended with a CR: it ended the last line
        number += 1
        line = _line(number, b"".join(pending), over=oversized)
        pending, oversized = [], False
        if line is not None:
            yield line
    tail = b"".join(pending)
    if oversized:
        yield _Line(number + 1, tail, _too_long_reason())
    elif tail.strip():
        number += 1
        try:
            orjson.loads(tail)
        except orjson.JSONDecodeError as err:
            yield _Line(number, tail, f"last line is cut short (no newline at end of file): {err}")
        else:
            yield _Line(number, tail)


def _line(number: int, text: bytes, *, over: bool) -> _Line | None:
    if over:
        return _Line(number, text[:_KEPT_BYTES], _too_long_reason())
    return _Line(number, text) if text.strip() else None


def _too_long_reason() -> str:
    return f"line is longer than {MAX_LINE_BYTES} bytes; only its start is kept"


def _blocks(raw: BinaryIO, *, source: Path) -> Iterator[tuple[bytes, str | None]]:
    """Decompressed blocks of the file; a final ``(rest, problem)`` when gzip data is damaged.

    Each decompressed block is at most ``4 * _BLOCK_BYTES``, however well the data compresses.
    """
    first = raw.read(_BLOCK_BYTES)
    if not first.startswith(_GZIP_MAGIC):
        block = first
        while block:
            yield block, None
            block = raw.read(_BLOCK_BYTES)
        return
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    data = first
    while data:
        try:
            while data:
                yield inflater.decompress(data, 4 * _BLOCK_BYTES), None
                data = inflater.unconsumed_tail
                if inflater.eof and inflater.unused_data:
                    # Several gzip members back to back (e.g. files joined by `cat`).
                    data = inflater.unused_data + raw.read(len(_GZIP_MAGIC))
                    if not data.startswith(_GZIP_MAGIC):
                        _ignore_trailing_garbage(source, data, raw)
                        return
                    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        except zlib.error as err:
            yield b"", f"corrupt gzip data, the rest of the file is unreadable: {err}"
            return
        data = raw.read(_BLOCK_BYTES)
    if not inflater.eof:
        yield inflater.flush(), "file ends inside its gzip stream (truncated file)"


def _ignore_trailing_garbage(source: Path, start: bytes, raw: BinaryIO) -> None:
    size = len(start) + sum(len(block) for block in iter(lambda: raw.read(_BLOCK_BYTES), b""))
    logger.warning(
        "%s: %d bytes after the end of its gzip stream are not gzip data; ignored, as gzip -d "
        "does (they hold no record)",
        source,
        size,
    )
