"""The durable spool: accepted ingest rows as JSON lines in the Hive layout the pipeline reads.

Every request writes, per partition it touches, one file
``model=M/version=V/date=YYYY-MM-DD/hour=HH/part-<request>.jsonl`` (the layout of
:class:`vigil.sdk.JsonLinesSink`, read by :class:`vigil.ingest.HivePartitionedReader`). Every
file of a request is written as ``.tmp`` and fsynced before any is renamed; if one cannot be
written, none is renamed and the temporary files are removed, so a rejected request leaves no
rows behind. Folders are fsynced before the request is answered: a 200 means the rows survive a
crash, and a reader never sees a half-written file.

``<request>`` comes from the request's idempotency key when it has one: a retry of the same
request writes the same file names and replaces its earlier files instead of adding a copy. One
file per request keeps writers independent (no shared file, no lock); many small files are the
price, paid back when the pipeline compacts a window into a profile.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from vigil.sdk import Partition, partition_path


class Spool(Protocol):
    """Where accepted rows go before the response; ``write`` returns only once they are durable."""

    def write(self, groups: Mapping[Partition, Sequence[bytes]], *, key: str | None = None) -> int:
        """Persist the lines of every partition, or none of them; returns the lines written.

        Writing again with the same ``key`` replaces what that key wrote before."""
        ...


class HiveSpool:
    """A :class:`Spool` of fsynced JSON-lines files under ``root`` (see the module doc)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, groups: Mapping[Partition, Sequence[bytes]], *, key: str | None = None) -> int:
        name = f"part-{request_stem(key)}.jsonl"
        staged: list[tuple[Path, Path]] = []
        try:
            for partition, lines in groups.items():
                if not lines:
                    continue
                folder = self.root / partition_path(partition)
                _make_durable_folder(folder, self.root)
                temporary = folder / f"{name}.{uuid.uuid4().hex[:8]}.tmp"
                staged.append((temporary, folder / name))
                with temporary.open("wb") as file:
                    file.write(
                        b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
                    )
                    file.flush()
                    os.fsync(file.fileno())
        except OSError:
            for temporary, _ in staged:
                temporary.unlink(missing_ok=True)
            raise
        for temporary, final in staged:
            os.replace(temporary, final)
        for folder in sorted({final.parent for _, final in staged}):
            _fsync_folder(folder)
        return sum(len(lines) for lines in groups.values())


class MemorySpool:
    """The fake: keeps lines in dicts, for tests of the endpoint's logic; like the real spool,
    writing again with a key replaces what that key wrote."""

    def __init__(self) -> None:
        self._files: dict[tuple[Partition, str], list[bytes]] = {}

    @property
    def lines(self) -> dict[Partition, list[bytes]]:
        """Every stored line by partition."""
        merged: dict[Partition, list[bytes]] = {}
        for (partition, _), lines in self._files.items():
            merged.setdefault(partition, []).extend(lines)
        return merged

    def write(self, groups: Mapping[Partition, Sequence[bytes]], *, key: str | None = None) -> int:
        stem = request_stem(key)
        for partition, lines in groups.items():
            if lines:
                self._files[(partition, stem)] = list(lines)
        return sum(len(lines) for lines in groups.values())


def request_stem(key: str | None) -> str:
    """The file-name part of one request: from its idempotency key, else unique."""
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(key.encode()).hexdigest()[:32]


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
