"""The ``Sink`` plug-in point: where the background thread sends encoded records.

A sink is one method, ``write(lines)``, called only from the logger's background thread with
newline-terminated JSON lines, plus ``close()``. ``write([])`` is a heartbeat, sent when the
logger has been idle for a flush interval, so time-based sinks can rotate files without a timer
thread of their own. A sink reports failure by raising; the logger counts it in
``sink_errors`` (and spills or counts the batch) and never lets it reach the serving thread.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    """Takes batches of newline-terminated JSON lines from one background thread."""

    def write(self, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps every line in memory: the fake for tests and for trying the SDK out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[bytes] = []
        self.writes = 0
        self.closed = False

    def write(self, lines: list[bytes]) -> None:
        with self._lock:
            if lines:
                self.writes += 1
            self._lines.extend(lines)

    def close(self) -> None:
        self.closed = True

    @property
    def lines(self) -> list[bytes]:
        with self._lock:
            return list(self._lines)

    def records(self) -> list[dict[str, Any]]:
        """The lines parsed back, as the ingest stage would read them."""
        return [json.loads(line) for line in self.lines]


class DiscardSink:
    """Counts and forgets: isolates the logger's own cost in benchmarks."""

    def __init__(self) -> None:
        self.records_written = 0

    def write(self, lines: list[bytes]) -> None:
        self.records_written += len(lines)

    def close(self) -> None:
        """Nothing to release."""
