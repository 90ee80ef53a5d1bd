"""``ServerSettings``: everything the server needs, passed in (the CLI reads flags and env)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.core import ConfigError


def utc_now() -> datetime:
    """The default clock; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSettings:
    """Configuration of one server process.

    ``token`` guards every write (ingest, feedback, silences); ``read_token``, when set, also
    guards reads (API, dashboard, metrics), and the write token is accepted wherever the read
    token is. ``queue_size`` bounds the ingest requests being validated and written at once:
    one more is answered 429 with ``Retry-After: retry_after_s`` instead of queueing without
    bound, so the server's memory stays bounded and the client knows to retry.
    """

    store_url: str
    spool_dir: Path
    token: str
    read_token: str | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    queue_size: int = 4
    retry_after_s: int = 1
    clock: Callable[[], datetime] = field(default=utc_now)
    # Real-time monitors fed from ingest (vigil.server.realtime); see docs/realtime.md.
    realtime: bool = True
    realtime_max_models: int = 100
    realtime_evaluate_every: timedelta = timedelta(minutes=1)
    realtime_lateness: timedelta = timedelta(seconds=30)
    realtime_queue_size: int = 1000
    realtime_checkpoint_every: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError("the server needs a write token: pass --token or set VIGIL_TOKEN")
        if self.read_token == "":
            raise ConfigError("read_token must be None (reads are open) or a non-empty token")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.queue_size < 1:
            raise ConfigError(f"queue_size must be at least 1, got {self.queue_size}")
        if self.retry_after_s < 1:
            raise ConfigError(f"retry_after_s must be at least 1, got {self.retry_after_s}")
        if self.realtime_max_models < 1 or self.realtime_queue_size < 1:
            raise ConfigError(
                f"realtime_max_models ({self.realtime_max_models}) and realtime_queue_size "
                f"({self.realtime_queue_size}) must be at least 1"
            )
        if self.realtime_evaluate_every <= timedelta(0) or self.realtime_lateness < timedelta(0):
            raise ConfigError(
                f"realtime_evaluate_every ({self.realtime_evaluate_every}) must be positive "
                f"and realtime_lateness ({self.realtime_lateness}) not negative"
            )
