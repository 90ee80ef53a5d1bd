"""Rows of another shape through a :class:`~vigil.ingest.FieldMap`, as the readers take them.

One place for what every reader does with ``[ingest.fields]``: the local JSON-lines and Parquet
readers and the distributed runner's tasks (which read lines and tables themselves) map each row
here, so a row gets the same record, or the same quarantine reason, whichever path read it.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pyarrow as pa

from vigil.ingest.batch import IngestChunk
from vigil.ingest.columns import ChunkBuilder
from vigil.ingest.fields import FieldMap
from vigil.ingest.limits import RowRules

RAW_CHARS = 1000
"""How much of a mapped table row a quarantined row keeps (its ``repr``)."""


def mapped_line(text: bytes, fields: FieldMap) -> tuple[bytes, str | None]:
    """One JSON line as a record line through ``fields``, or the original text with the reason
    the map does not fit it. A line that is not JSON is returned as it is, for the record
    path to quarantine with the parser's own reason."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text, None
    record = fields.apply(raw)
    if isinstance(record, str):
        return text, record
    return orjson.dumps(record), None


def mapped_table_to_chunk(
    table: pa.Table | pa.RecordBatch,
    fields: FieldMap,
    *,
    source: str,
    rules: RowRules,
    first_position: int = 1,
    partition: Mapping[str, str] | None = None,
) -> IngestChunk:
    """A table of another shape, row by row through ``fields``: struct columns are read as
    objects, so dotted paths reach into them; a row the map does not fit is quarantined with
    the reason."""
    builder = ChunkBuilder(source=source, rules=rules, partition=partition)
    for position, row in enumerate(table.to_pylist(), start=first_position):
        record = fields.apply(row)
        if isinstance(record, str):
            builder.quarantine(position, record, repr(row)[:RAW_CHARS])
        else:
            builder.add(position, record)
    return builder.finish()
