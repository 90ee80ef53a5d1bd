"""What a logger did with every call: the values ``stats()``, ``flush()`` and ``close()`` return.

Every call to ``log()`` and friends is either *logged* (accepted into the buffer) or *lost*
before the buffer (``buffer_full``, ``after_close``). Every logged record ends up *delivered*
(the sink took it), *spilled* (written to the spill folder, to be sent later), *lost* after the
buffer (``unencodable``, ``sink_failed``, ``spill_failed``, ``unsent_at_close``) or is still
*pending*. Nothing leaves the logger any other way, so ``logged == delivered + spilled +
lost_after_buffer + pending`` at every moment; the tests hold the logger to it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# Frozen dataclasses without slots/kw_only: the SDK runs on Python 3.9.


@dataclass(frozen=True)
class Losses:
    """Records lost, by reason. Only ``buffer_full`` and ``after_close`` were never logged."""

    buffer_full: int = 0
    """The buffer held ``max_buffer`` records: the sink (or the spill) is slower than the calls."""
    after_close: int = 0
    """Logged after ``close()``."""
    unencodable: int = 0
    """A value could not be written as JSON (``stats().last_error`` says which)."""
    sink_failed: int = 0
    """The sink raised and there was no spill folder to keep the batch."""
    spill_failed: int = 0
    """The sink raised and the spill folder could not take the batch (full or unwritable)."""
    unsent_at_close: int = 0
    """Still buffered when ``close()`` gave up on a stuck sink, with no spill folder to keep it."""

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"{field.name}={getattr(self, field.name)!r} is negative")

    @property
    def total(self) -> int:
        return sum(getattr(self, field.name) for field in fields(self))

    @property
    def after_buffer(self) -> int:
        """Lost after being logged (accepted into the buffer)."""
        return self.total - self.buffer_full - self.after_close

    def minus(self, earlier: Losses) -> Losses:
        """What was lost since ``earlier`` (a snapshot of the same logger)."""
        return Losses(
            **{f.name: getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)}
        )

    def __str__(self) -> str:
        parts = [f"{f.name}={getattr(self, f.name)}" for f in fields(self) if getattr(self, f.name)]
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class LoggerStats:
    """A snapshot of one logger's counters since it started (see the module docstring)."""

    logged: int
    delivered: int
    spilled: int
    pending: int
    lost: Losses
    replayed: int = 0
    """Spilled records (of this logger or an earlier process) sent from the spill folder since."""
    sink_errors: int = 0
    """Failed sink calls (a failed call can hold many records)."""
    nonfinite: int = 0
    """Records whose NaN/±inf values were written as ``null`` (strict JSON)."""
    last_error: str | None = None

    def __post_init__(self) -> None:
        for name in ("logged", "delivered", "spilled", "pending", "replayed", "sink_errors"):
            if getattr(self, name) < 0:
                raise ValueError(f"logger stat {name}={getattr(self, name)!r} is negative")


@dataclass(frozen=True)
class FlushReport:
    """What became of the records since the previous ``flush()``/``close()`` of the logger.

    True when nothing was lost and nothing is still pending: every record reached the sink or,
    if the sink was failing, the spill folder (spilled records are safe on disk, not lost).
    """

    delivered: int
    spilled: int
    lost: Losses
    pending: int
    """Records not finished when the call returned (its timeout passed, or a sink is stuck)."""

    def __bool__(self) -> bool:
        return self.pending == 0 and self.lost.total == 0
