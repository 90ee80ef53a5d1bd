"""The ``Reader`` plug-in point: anything that turns a source into bounded ingest chunks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from vigil.ingest.batch import IngestChunk


@runtime_checkable
class Reader(Protocol):
    """Yields :class:`IngestChunk` values of at most ``chunk_rows`` rows each.

    A reader streams: it never holds more than one chunk of its source in memory, so a 10 GB
    folder is read in bounded memory. Rows that fail validation are quarantined in the chunk,
    never dropped.
    """

    def read(self) -> Iterator[IngestChunk]: ...
