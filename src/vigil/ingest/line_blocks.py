"""Blocks of JSON lines, and the chunks the JSON-lines reader assembles from them.

A block is a run of complete lines as they were read, joined by newlines. Most logs are
*plain*: no ``null`` (whose NULL and ABSENT arrow cannot tell apart), no blank line, no
carriage return (the reader has turned line-ending CRs into newlines), and every line one
arrow may read (:func:`~vigil.ingest.json_arrow.arrow_may_read_block`: no ``\\u0000``
escape, not too many features, not nested too deep). Plain lines go to arrow's JSON parser
as the bytes they came in (:func:`~vigil.ingest.json_arrow.json_block_to_chunk`), without a
Python object per line; every other line goes through
:func:`~vigil.ingest.json_arrow.json_lines_to_chunk` one by one. :class:`ChunkAssembler` puts
the two kinds back together in file order, in chunks of at most ``limit`` rows, as if every
line had gone one by one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.ingest.batch import IngestChunk, concatenate_batches
from vigil.ingest.json_arrow import arrow_may_read_block, newline_offsets
from vigil.ingest.limits import (
    RowRules,
)

_NEWLINE = ord("\n")
_SPACES = b" \t\x0b\x0c"
_SPACE_CODES = np.frombuffer(_SPACES, np.uint8)
_SPACE_LINE = re.compile(rb"\n[ \t\x0b\x0c]+\n")

BlockReader = Callable[[bytes, int, int], IngestChunk]
"""``(text, first line number, lines) -> chunk`` for plain lines."""
LinesReader = Callable[[Sequence[tuple[int, bytes]], Sequence[tuple[int, bytes, str]]], IngestChunk]
"""``(good lines, damaged lines) -> chunk``, lines numbered."""


@dataclass(frozen=True, slots=True)
class Block:
    """Complete lines ``first``, ``first + 1``, … joined by newlines (no final newline)."""

    first: int
    text: bytes
    count: int


def is_plain(text: bytes, *, max_line_bytes: int, rules: RowRules) -> bool:
    """No ``null``, no carriage return, no blank line (empty or of spaces only), and every
    line one arrow may read."""
    if len(text) > max_line_bytes or b"null" in text or b"\r" in text:
        return False
    # Two newlines in a row are an empty line: found from the newlines' offsets, which the
    # arrow gate needs anyway, at half the cost of searching the block for b"\n\n".
    ends = newline_offsets(text)
    if ends.size > 1 and bool((ends[1:] - ends[:-1] == 1).any()):
        return False
    end = text.find(b"\n")
    first, last = (text if end < 0 else text[:end]), text[text.rfind(b"\n") + 1 :]
    if not first.strip(_SPACES) or not last.strip(_SPACES):
        return False
    return not _space_line(text, ends) and arrow_may_read_block(text, rules, ends=ends)


def _space_line(text: bytes, ends: npt.NDArray[np.intp]) -> bool:
    """Whether a line between two others holds spaces only. Such a line starts with a space,
    so the regular expression runs only when a line does (log lines start with ``{``), not
    over every block."""
    starts = np.frombuffer(text, np.uint8)[ends[:-1] + 1]
    return bool(np.isin(starts, _SPACE_CODES).any()) and _SPACE_LINE.search(text) is not None


class ChunkAssembler:
    """Chunks of at most ``limit`` rows, from plain blocks and single lines, in file order.

    Rows of both kinds wait in order; when ``limit`` rows wait (a plain block is cut at the
    exact line) they leave as one chunk, the parts read by each path joined.
    """

    def __init__(self, limit: int, *, read_block: BlockReader, read_lines: LinesReader) -> None:
        self._limit = limit
        self._read_block, self._read_lines = read_block, read_lines
        self._done: list[IngestChunk] = []  # parts read already, waiting for the rest
        self._done_rows = 0
        self._plain: list[bytes] = []
        self._plain_first = self._plain_count = 0
        self._good: list[tuple[int, bytes]] = []
        self._damaged: list[tuple[int, bytes, str]] = []

    def _waiting(self) -> int:
        return self._done_rows + self._plain_count + len(self._good) + len(self._damaged)

    def add_block(self, block: Block) -> Iterator[IngestChunk]:
        if block.count == 1 and (self._good or self._damaged):
            # One line (cut by a read boundary) joins the lines waiting: read on its own, it
            # would split their run into two parser calls.
            yield from self.add_lines([(block.first, block.text, None)])
            return
        self._read_pending_lines()
        text, first, count = block.text, block.first, block.count
        if self._waiting() + count >= self._limit:
            newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == _NEWLINE)
            start = used = 0
            while self._waiting() + count - used >= self._limit:
                take = self._limit - self._waiting()
                end = len(text) if used + take == count else int(newlines[used + take - 1])
                self._add_plain(text[start:end], first + used, take)
                yield self._finish()
                start, used = end + 1, used + take
            text, first, count = text[start:], first + used, count - used
        if count:
            self._add_plain(text, first, count)

    def add_lines(self, lines: Iterable[tuple[int, bytes, str | None]]) -> Iterator[IngestChunk]:
        """Numbered lines, each with the problem the reader found (``None``: none)."""
        self._read_pending_plain()
        good, damaged = self._good, self._damaged
        room = self._limit - self._waiting()
        for number, text, problem in lines:
            if problem is None:
                good.append((number, text))
            else:
                damaged.append((number, text, problem))
            room -= 1
            if room <= 0:
                yield self._finish()
                good, damaged = self._good, self._damaged
                room = self._limit - self._waiting()

    def close(self) -> Iterator[IngestChunk]:
        """The last chunk, if rows are waiting."""
        if self._waiting():
            yield self._finish()

    def _add_plain(self, text: bytes, first: int, count: int) -> None:
        if not self._plain:
            self._plain_first = first
        self._plain.append(text)
        self._plain_count += count

    def _read_pending_plain(self) -> None:
        if self._plain:
            text = b"\n".join(self._plain)
            chunk = self._read_block(text, self._plain_first, self._plain_count)
            self._plain, self._plain_count = [], 0
            self._keep(chunk)

    def _read_pending_lines(self) -> None:
        if self._good or self._damaged:
            chunk = self._read_lines(self._good, self._damaged)
            self._good, self._damaged = [], []
            self._keep(chunk)

    def _keep(self, chunk: IngestChunk) -> None:
        self._done.append(chunk)
        self._done_rows += chunk.rows_read

    def _finish(self) -> IngestChunk:
        self._read_pending_plain()
        self._read_pending_lines()
        parts, self._done, self._done_rows = self._done, [], 0
        return join_chunks(parts)


def join_chunks(parts: Sequence[IngestChunk]) -> IngestChunk:
    """Consecutive chunks of one source as one (rows and quarantined rows in order)."""
    if len(parts) == 1:
        return parts[0]
    return IngestChunk(
        source=parts[0].source,
        rows_read=sum(part.rows_read for part in parts),
        batch=concatenate_batches([part.batch for part in parts]),
        quarantined=tuple(row for part in parts for row in part.quarantined),
    )
