"""``Spill``: batches the sink could not take wait on disk and are sent once it takes them again.

One folder per model version, ``root/model=<m>/version=<v>/``, holds one file per spilled batch,
named ``<nanoseconds>-<random>.jsonl`` so that names sort oldest first. The lines are the
encoded records exactly as the sink would have had them, so sending a file later is one
``sink.write``.

Files appear whole: a batch is written to ``<name>.tmp-<pid>`` and renamed. To send a file, a
logger claims it by renaming it to ``<name>.sending-<pid>``; a rename succeeds for one process
only, so processes that share the folder (the workers of a pre-fork server) never send one file
twice. A failed send renames the file back. What a process that died left behind (a half-written
``.tmp``, a claimed file) is taken back by :meth:`Spill.recover`, which a logger runs when it
starts: a ``.tmp`` keeps its whole lines, a claimed file is waiting again.

``max_bytes`` bounds the folder (as this process counts it); a batch that does not fit raises
:class:`~vigil_sdk.SinkError` and the logger counts its records as lost.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from vigil_sdk.errors import ConfigError, SinkError

_SUFFIX = ".jsonl"


@dataclass(frozen=True)  # no slots/kw_only: Python 3.9
class SpilledBatch:
    """A claimed spill file and its lines, to be sent, then removed or released."""

    path: Path
    lines: list[bytes]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a starting logger has claimed nothing yet: these are a dead namesake's
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


class Spill:
    """The spill folder of one model version (see the module docstring)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        model: str,
        version: str,
        max_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        if max_bytes < 1:
            raise ConfigError(f"spill max_bytes must be at least 1, got {max_bytes!r}")
        self.folder = Path(
            root, f"model={quote(model, safe='')}", f"version={quote(version, safe='')}"
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / f".probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise ConfigError(
                f"spill folder {str(self.folder)!r} is not writable ({err}); pass a spill_dir "
                "the serving process may write to"
            ) from err
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes = self._bytes_waiting()

    def _bytes_waiting(self) -> int:
        total = 0
        for path in self.waiting():
            with contextlib.suppress(FileNotFoundError):  # claimed by another process since
                total += path.stat().st_size
        return total

    def waiting(self) -> list[Path]:
        """Files waiting to be sent, oldest first."""
        return sorted(self.folder.glob(f"*{_SUFFIX}"))

    def append(self, lines: list[bytes]) -> None:
        """Write one batch as a new file; raises ``OSError`` (``SinkError`` when full)."""
        data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        with self._lock:
            if self._bytes + len(data) > self._max_bytes:
                raise SinkError(
                    f"spill folder {str(self.folder)!r} holds {self._bytes} bytes; a batch of "
                    f"{len(data)} more would pass max_bytes={self._max_bytes}"
                )
            self._bytes += len(data)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}{_SUFFIX}"
        temporary = self.folder / f"{name}.tmp-{os.getpid()}"
        try:
            temporary.write_bytes(data)
            os.replace(temporary, self.folder / name)
        except OSError:
            with self._lock:
                self._bytes -= len(data)
            temporary.unlink(missing_ok=True)
            raise

    def claim_oldest(self) -> SpilledBatch | None:
        """The oldest waiting file, claimed by this process; ``None`` when nothing waits."""
        for path in self.waiting():
            claimed = path.with_name(f"{path.name}.sending-{os.getpid()}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:  # another process claimed it first
                continue
            return SpilledBatch(path=claimed, lines=claimed.read_bytes().splitlines(keepends=True))
        return None

    def remove(self, batch: SpilledBatch) -> None:
        """The batch was sent: delete its file."""
        size = sum(len(line) for line in batch.lines)
        batch.path.unlink(missing_ok=True)  # missing: another logger of this process recovered it
        with self._lock:
            self._bytes = max(0, self._bytes - size)

    def release(self, batch: SpilledBatch) -> None:
        """Sending failed: the file waits again, in its old place in the order."""
        waiting = batch.path.with_name(batch.path.name.rsplit(".sending-", 1)[0])
        with contextlib.suppress(FileNotFoundError):  # put back by another logger's recover()
            os.rename(batch.path, waiting)

    def recover(self) -> int:
        """Take back what dead processes left (see module docstring); returns files recovered."""
        recovered = 0
        for path in sorted(self.folder.iterdir()):
            name, marker, pid = path.name.rpartition(".sending-")
            if not marker:
                name, marker, pid = path.name.rpartition(".tmp-")
            if not marker or not pid.isdigit() or _alive(int(pid)):
                continue
            try:
                if marker == ".tmp-":
                    data = path.read_bytes()
                    whole = data[: data.rfind(b"\n") + 1]
                    if not whole:
                        path.unlink()
                        continue
                    path.write_bytes(whole)
                os.replace(path, path.with_name(name))
            except FileNotFoundError:  # another process recovered it first
                continue
            recovered += 1
        waiting = self._bytes_waiting()
        with self._lock:
            self._bytes = waiting
        return recovered
