"""``Courier``: where an encoded batch goes, the sink or the spill folder, and when spills are sent.

Used by the logger's background thread only. Without a spill folder a batch the sink refuses is
lost (and counted). With one, the first refused batch turns spilling on: that batch and every
later one go to disk at once, so the thread never waits on a sink known to be failing while the
callers' buffer fills. Every ``retry_s`` the courier sends the oldest spilled file; when it goes
through, the next follows, and once the folder is empty batches go to the sink again. Records
therefore reach the sink in the order they were logged, except those another process spilled
into the same folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil_sdk.sinks import Sink
from vigil_sdk.spill import Spill

SINK_FAILED = "sink_failed"
SPILL_FAILED = "spill_failed"


@dataclass(frozen=True)  # no slots/kw_only: Python 3.9
class Outcome:
    """Where the records of one batch went: exactly one of the three counts is non-zero."""

    delivered: int = 0
    spilled: int = 0
    lost: int = 0
    reason: str = ""
    """``sink_failed`` or ``spill_failed`` when ``lost``."""


class Courier:
    """Sends batches to ``sink``, spilling to ``spill`` while it fails (see module docstring).

    ``on_error`` hears every exception a sink or the spill raised; the courier never raises them.
    ``clock`` is monotonic seconds, injectable for tests.
    """

    def __init__(
        self,
        sink: Sink,
        spill: Spill | None,
        *,
        retry_s: float,
        on_error: Callable[[Exception, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._spill = spill
        self._retry_s = retry_s
        self._on_error = on_error
        self._clock = clock
        self._next_replay = 0.0
        self.spilling = spill is not None and bool(spill.waiting())
        """True while spilled files wait: new batches queue behind them on disk."""

    def send(self, lines: list[bytes]) -> Outcome:
        if not self.spilling:
            try:
                self._sink.write(lines)
            except Exception as err:  # any sink failure is counted; the thread must survive it
                if self._spill is None:
                    self._on_error(err, f"{len(lines)} records lost")
                    return Outcome(lost=len(lines), reason=SINK_FAILED)
                self._on_error(err, f"spilling to {str(self._spill.folder)!r}")
                self.spilling = True
                self._next_replay = self._clock() + self._retry_s
            else:
                return Outcome(delivered=len(lines))
        return self._to_spill(lines)

    def _to_spill(self, lines: list[bytes]) -> Outcome:
        assert self._spill is not None  # only reached while spilling
        try:
            self._spill.append(lines)
        except OSError as err:
            self._on_error(err, f"{len(lines)} records lost")
            return Outcome(lost=len(lines), reason=SPILL_FAILED)
        return Outcome(spilled=len(lines))

    def replay(self, between: Callable[[], None], *, now: bool = False) -> int:
        """Send spilled files oldest first while the sink takes them; returns records sent.

        Does nothing until ``retry_s`` after the last failure, unless ``now`` (the logger is
        closing: its last chance). ``between`` runs after each file so the caller can drain its
        buffer (to the spill, behind the files) meanwhile.
        """
        if self._spill is None or not self.spilling:
            return 0
        if not now and self._clock() < self._next_replay:
            return 0
        sent = 0
        while True:
            try:
                batch = self._spill.claim_oldest()
            except OSError as err:
                self._on_error(err, "spill folder unreadable; will retry")
                self._next_replay = self._clock() + self._retry_s
                return sent
            if batch is None:
                self.spilling = False
                return sent
            try:
                self._sink.write(batch.lines)
            except Exception as err:  # same policy as send()
                self._spill.release(batch)
                self._on_error(err, "spilled records wait for the next retry")
                self._next_replay = self._clock() + self._retry_s
                return sent
            self._spill.remove(batch)
            sent += len(batch.lines)
            between()
