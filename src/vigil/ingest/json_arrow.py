"""JSON lines through arrow's C++ JSON reader, when the lines let it give the same answer.

Parsing is most of the cost of reading JSON in Python (orjson builds a dict per row). Arrow's
reader parses a whole chunk into typed columns in C++, which then go through the vectorized
checks of :mod:`vigil.ingest.arrow_chunk`. Two things would make it answer differently from the
row-by-row path, so they send lines to that path instead:

- a ``null`` anywhere in a line: arrow cannot tell ``{"x": null}`` from a row without ``x``,
  and Vigil counts those apart (NULL vs ABSENT). Lines without the token ``null`` have no
  nulls, so every missing value arrow reports is an absence.
- lines arrow must not see at all: JSON nested deeper than the limit (a line nested 20,000
  deep crashes arrow's reader), lines with more ``:`` than the feature limit (each feature
  would become a column of the chunk) and lines with a ``\\u0000`` escape (names must be
  checked for NULs). The row-by-row path judges them.
- values whose type arrow cannot unify across the chunk (a feature that is a number in one row
  and a string in the next, a line that is not an object, invalid JSON): arrow refuses the
  chunk, and all of it goes row by row. Correct either way; only the speed differs.

Both parts are merged back in line order, so a chunk is the same whichever path its rows took
(``test_ingest_json_paths.py`` checks this on random data).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.json as pj

from vigil.ingest.arrow_chunk import table_to_chunk
from vigil.ingest.batch import IngestChunk, RecordBatch, concatenate_batches
from vigil.ingest.columns import ChunkBuilder
from vigil.ingest.limits import (
    RowRules,
    nested_too_deep,
)
from vigil.ingest.quarantine import QuarantinedRow, raw_bytes_text

_RECORD_FIELDS = (
    "model",
    "version",
    "timestamp",
    "request_id",
    "host",
    "event",
    "latency_ms",
    "label",
    "features",
    "outputs",
    "tags",
)
_MIN_BLOCK_BYTES = 1 << 20
_NEWLINE, _COLON, _BRACKET, _BRACE = b"\n:[{"
_BIT_5 = np.uint8(_BRACE - _BRACKET)


def json_lines_to_chunk(
    lines: Sequence[tuple[int, bytes]],
    damaged: Sequence[tuple[int, bytes, str]] = (),
    *,
    source: str,
    rules: RowRules,
    partition: Mapping[str, str] | None = None,
) -> IngestChunk:
    """One chunk from numbered JSON lines, plus lines the reader already found damaged."""
    fast = [i for i, (_, text) in enumerate(lines) if _arrow_may_read(text, rules)]
    table = None
    if len(fast) > 1:
        texts = [lines[i][1] for i in fast]
        table = _arrow_table(b"\n".join(texts), rows=len(texts), longest=max(map(len, texts)))
    if table is None:
        fast = []
    fast_set = set(fast)
    builder = ChunkBuilder(source=source, rules=rules, partition=partition)
    for i, (number, text) in enumerate(lines):
        if i not in fast_set:
            builder.add(number, text)
    for number, text, problem in damaged:
        builder.quarantine(number, problem, raw_bytes_text(text))
    slow = builder.finish()
    if table is None:
        return _sorted(slow)
    typed = table_to_chunk(
        table, source=source, rules=rules, partition=partition, nulls_are_absent=True
    )
    numbers = np.array([lines[i][0] for i in fast], dtype=np.int64)
    refused = np.zeros(len(fast), dtype=bool)
    quarantined: list[QuarantinedRow] = list(slow.quarantined)
    for row in typed.quarantined:
        index = (row.position or 1) - 1
        refused[index] = True
        text = lines[fast[index]][1]
        quarantined.append(replace(row, position=int(numbers[index]), raw=raw_bytes_text(text)))
    positions = np.concatenate([numbers[~refused], np.asarray(builder.valid_positions)])
    batch = concat_batches(typed.batch, slow.batch).take(np.argsort(positions, kind="stable"))
    return IngestChunk(
        source=source,
        rows_read=typed.rows_read + slow.rows_read,
        batch=batch,
        quarantined=tuple(sorted(quarantined, key=lambda row: row.position or 0)),
    )


def _arrow_may_read(text: bytes, rules: RowRules) -> bool:
    """Whether ``text`` may go to arrow's reader (see the module docstring)."""
    return (
        b"null" not in text
        and b"\\u0000" not in text
        and text.count(b":") <= rules.max_features
        and not nested_too_deep(text, rules.max_nesting)
    )


def arrow_may_read_block(
    text: bytes, rules: RowRules, *, ends: npt.NDArray[np.intp] | None = None
) -> bool:
    """Whether every line of ``text`` (lines joined by newlines, none holding ``null``) passes
    the other tests of :func:`_arrow_may_read`. ``ends``: the newlines' offsets, when the caller
    has them (:func:`newline_offsets`).

    Without ``ends``, totals over the block settle small blocks. Per line: a line holds no more
    colons than bytes, so colons are counted per line only when a line is longer than
    ``max_features`` bytes (logs' lines rarely are; a JSON line holds a colon every 25 bytes or
    so, and counting them cost as much as all the block's other checks); brackets are counted
    per line, and only the lines with more than ``max_nesting`` are scanned for their depth. The
    totals only ever skip the per-line counts, which give the same answer."""
    # Looking for a backslash first: it is one byte (memchr), and most logs have none.
    if b"\\" in text and b"\\u0000" in text:
        return False
    if ends is None:
        colons = text.count(b":")
        brackets = text.count(b"[") + text.count(b"{")
        if colons <= rules.max_features and brackets <= rules.max_nesting:
            return True
        ends = newline_offsets(text)
    data = np.frombuffer(text, dtype=np.uint8)
    if (
        _longest_line(ends, len(text)) > rules.max_features
        and _per_line(data == _COLON, ends).max() > rules.max_features
    ):
        return False
    # "[" and "{" differ in bit 5 alone (0x5B, 0x7B): one OR and one comparison find both.
    opened = _per_line((data | _BIT_5) == _BRACE, ends)
    crowded = np.flatnonzero(opened > rules.max_nesting)
    starts = np.concatenate([[0], ends + 1]).tolist()
    stops = [*ends.tolist(), len(text)]
    return not any(
        nested_too_deep(text[starts[line] : stops[line]], rules.max_nesting)
        for line in crowded.tolist()
    )


def newline_offsets(text: bytes) -> npt.NDArray[np.intp]:
    """Offsets of the newlines of ``text``, in order."""
    return np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == _NEWLINE)


def _longest_line(ends: npt.NDArray[np.intp], size: int) -> int:
    """Bytes in the longest line of a text of ``size`` bytes whose lines end at ``ends``."""
    bounds = np.concatenate([[-1], ends, [size]])
    return int(np.diff(bounds).max()) - 1


def _per_line(marks: npt.NDArray[np.bool_], ends: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """How many marked bytes each line holds (lines end at ``ends``; the last at the end).

    Sums over each line's slice (``reduceat`` at the lines' starts), a third cheaper than
    locating every mark among the lines. An empty line's slice reads its newline alone, which
    is never a mark, so it counts 0 as it should."""
    starts = np.concatenate([[0], ends + 1])
    if starts[-1] >= marks.size:  # the text ends with a newline: its last line is empty
        return np.append(np.add.reduceat(marks, starts[:-1], dtype=np.intp), 0)
    return np.add.reduceat(marks, starts, dtype=np.intp)


def json_block_to_chunk(
    text: bytes,
    first: int,
    count: int,
    *,
    source: str,
    rules: RowRules,
    partition: Mapping[str, str] | None = None,
) -> IngestChunk:
    """One chunk from ``count`` plain lines numbered from ``first``, joined by newlines: no
    ``null``, no blank line, no carriage return, each line one arrow may read
    (:func:`arrow_may_read_block`). Arrow parses them as they came, in one call, with no Python
    object per line; when it refuses them, they go through :func:`json_lines_to_chunk`, which
    gives every line its own answer."""
    table = _arrow_table(text, rows=count, longest=0) if count > 1 else None
    if table is None:
        numbered = [(first + i, line) for i, line in enumerate(text.split(b"\n"))]
        return json_lines_to_chunk(numbered, source=source, rules=rules, partition=partition)
    typed = table_to_chunk(
        table,
        source=source,
        rules=rules,
        first_position=first,
        partition=partition,
        nulls_are_absent=True,
    )
    if not typed.quarantined:
        return typed
    lines = text.split(b"\n")
    rows = tuple(
        replace(row, raw=raw_bytes_text(lines[(row.position or first) - first]))
        for row in typed.quarantined
    )
    return replace(typed, quarantined=rows)


def _sorted(chunk: IngestChunk) -> IngestChunk:
    rows = tuple(sorted(chunk.quarantined, key=lambda row: row.position or 0))
    return replace(chunk, quarantined=rows)


def _arrow_table(data: bytes, *, rows: int, longest: int) -> pa.Table | None:
    """``rows`` JSON lines as an arrow table of the record's fields, or ``None`` when arrow
    refuses them (``longest``: the longest line's bytes, when known; arrow's blocks must hold
    it, and a line longer than the block makes arrow refuse).

    ``timestamp`` is read as a string (arrow would otherwise parse ISO strings itself and drop
    their zone), or as a number when the chunk holds epoch seconds.
    """
    block = max(_MIN_BLOCK_BYTES, 2 * longest + 2)
    for stamp_type in (pa.string(), pa.float64()):
        options = pj.ParseOptions(
            explicit_schema=pa.schema([("timestamp", stamp_type)]),
            unexpected_field_behavior="infer",
        )
        try:
            table = pj.read_json(
                io.BytesIO(data),
                read_options=pj.ReadOptions(block_size=block),
                parse_options=options,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            if "timestamp" in str(err) and stamp_type == pa.string():
                continue
            return None
        if table.num_rows != rows:
            return None
        return table.select([name for name in _RECORD_FIELDS if name in table.column_names])
    return None


def concat_batches(first: RecordBatch, second: RecordBatch) -> RecordBatch:
    """The rows of ``first`` then ``second``; a column one of them lacks is absent there."""
    return concatenate_batches([first, second])
