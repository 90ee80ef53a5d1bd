"""The durable spool: accepted ingest rows as JSON lines in the Hive layout the pipeline reads.

Every request writes, per partition it touches, one new file
``model=M/version=V/date=YYYY-MM-DD/hour=HH/part-<uuid>.jsonl`` (the layout of
:class:`vigil.sdk.JsonLinesSink`, read by :class:`vigil.ingest.HivePartitionedReader`). The file
is written as ``.tmp``, fsynced, renamed and its folder fsynced before the request is answered:
a 200 means the rows survive a crash, and a reader never sees a half-written file. One file per
request keeps writers independent (no shared file, no lock); many small files are the price,
paid back when the pipeline compacts a window into a profile.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from vigil.sdk import Partition, partition_path


class Spool(Protocol):
    """Where accepted rows go before the response; ``write`` returns only once they are durable."""

    def write(self, groups: Mapping[Partition, Sequence[bytes]]) -> int:
        """Persist the lines of each partition; returns the number of lines written."""
        ...


class HiveSpool:
    """A :class:`Spool` of fsynced JSON-lines files under ``root`` (see the module doc)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, groups: Mapping[Partition, Sequence[bytes]]) -> int:
        written = 0
        for partition, lines in groups.items():
            if not lines:
                continue
            folder = self.root / partition_path(partition)
            _make_durable_folder(folder, self.root)
            name = f"part-{uuid.uuid4().hex}.jsonl"
            temporary = folder / (name + ".tmp")
            with temporary.open("wb") as file:
                file.write(
                    b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
                )
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, folder / name)
            _fsync_folder(folder)
            written += len(lines)
        return written


class MemorySpool:
    """The fake: keeps lines in a dict, for tests of the endpoint's logic."""

    def __init__(self) -> None:
        self.lines: dict[Partition, list[bytes]] = {}

    def write(self, groups: Mapping[Partition, Sequence[bytes]]) -> int:
        for partition, lines in groups.items():
            self.lines.setdefault(partition, []).extend(lines)
        return sum(len(lines) for lines in groups.values())


def _make_durable_folder(folder: Path, root: Path) -> None:
    """Create ``folder`` and fsync each parent whose entry list changed, so a crash keeps it."""
    if folder.is_dir():
        return
    missing = [folder, *(p for p in folder.parents if p != root and root in p.parents)]
    missing = [p for p in missing if not p.is_dir()]
    folder.mkdir(parents=True, exist_ok=True)
    for created in sorted(missing, key=lambda p: len(p.parts)):
        _fsync_folder(created.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
