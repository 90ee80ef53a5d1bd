"""Turning an ingest request body into accepted lines per partition and rejected rows.

A body is either a JSON array of records or JSON lines (``application/x-ndjson``, what
:class:`vigil.sdk.HttpSink` sends). Rows are validated by :func:`vigil.ingest.records_to_chunk`,
the validator every reader shares, so a row the endpoint accepts is a row the pipeline will
accept when it reads the spool back. Accepted rows are kept byte for byte as they came (a JSON
line) or re-encoded (an array element); the partition comes from the validated model, version
and timestamp.

``position`` in a rejection is the 1-based line number for JSON lines and the 0-based index
for a JSON array: what a client needs to find the row in what it sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import orjson
import pyarrow as pa

from vigil.core import SchemaError
from vigil.ingest import (
    DEFAULT_LIMITS,
    IngestLimits,
    QuarantinedRow,
    RecordBatch,
    records_to_chunk,
)
from vigil.sdk import Partition

JSON_TYPES = ("application/json",)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedBody:
    """The accepted lines grouped by partition, the quarantined rows with reasons, and the
    accepted rows as a validated batch (for the real-time monitors, which then need not parse
    the lines again)."""

    rows: int
    groups: dict[Partition, list[bytes]] = field(default_factory=dict)
    quarantined: tuple[QuarantinedRow, ...] = ()
    batch: RecordBatch = field(default_factory=RecordBatch.empty)

    @property
    def accepted(self) -> int:
        return self.rows - len(self.quarantined)


def parse_body(
    body: bytes,
    content_type: str,
    *,
    source: str,
    now: datetime,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> ParsedBody:
    """Validate every record of ``body`` by ``limits``; raises :class:`SchemaError` if the body
    is not JSON."""
    if content_type.partition(";")[0].strip().lower() in JSON_TYPES:
        items, positions = _array_items(body)
    else:
        items, positions = _line_items(body)
    chunk = records_to_chunk(items, source=source, now=now, first_position=0, limits=limits)
    # records_to_chunk numbers items 0..n-1; translate back to what the client sent.
    quarantined = tuple(
        QuarantinedRow(
            source=row.source,
            position=None if row.position is None else positions[row.position],
            reason=row.reason,
            raw=row.raw,
            model=row.model,
        )
        for row in chunk.quarantined
    )
    rejected = {row.position for row in chunk.quarantined}
    accepted = [item for index, item in enumerate(items) if index not in rejected]
    return ParsedBody(
        rows=len(items),
        groups=_group_by_partition(accepted, chunk.batch.meta),
        quarantined=quarantined,
        batch=chunk.batch,
    )


def _array_items(body: bytes) -> tuple[list[bytes], list[int]]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise SchemaError(
            f"the body is not valid JSON ({err}); send a JSON array of records with "
            "Content-Type application/json, or JSON lines with application/x-ndjson"
        ) from err
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise SchemaError(
            "a JSON body must be an array of records (or one record), "
            f"got {type(document).__name__}"
        )
    return [orjson.dumps(item) for item in document], list(range(len(document)))


def _line_items(body: bytes) -> tuple[list[bytes], list[int]]:
    items: list[bytes] = []
    positions: list[int] = []
    # Lines end at \n, \r\n or a lone \r, as in the JSON-lines reader (bytes.splitlines).
    for number, line in enumerate(body.splitlines(), start=1):
        stripped = line.strip()
        if stripped:
            items.append(stripped)
            positions.append(number)
    return items, positions


def _group_by_partition(lines: Sequence[bytes], meta: pa.Table) -> dict[Partition, list[bytes]]:
    models = meta.column("model").to_pylist()
    versions = meta.column("version").to_pylist()
    micros = np.asarray(
        meta.column("timestamp").combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)
    )
    hours: dict[int, tuple[str, str]] = {}
    groups: dict[Partition, list[bytes]] = {}
    for line, model, version, stamp in zip(lines, models, versions, micros, strict=True):
        hour = int(stamp) // 3_600_000_000
        if hour not in hours:
            moment = datetime.fromtimestamp(hour * 3600, UTC)
            hours[hour] = (moment.strftime("%Y-%m-%d"), moment.strftime("%H"))
        date, hour_text = hours[hour]
        groups.setdefault((model, version, date, hour_text), []).append(line)
    return groups
