"""``ServerSettings``: everything the server needs, passed in (the CLI reads flags and env)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.core import ConfigError
from vigil.ingest import DEFAULT_LIMITS, IngestLimits


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

    Every input is bounded (docs/server.md): a request head must arrive within
    ``header_timeout_s`` and a body within ``body_timeout_s`` (else the connection is closed,
    or an ingest request answered 408); one client address uploads at most
    ``max_uploads_per_client`` ingest bodies at once (more get 429), and a body is read before
    it takes a queue slot, so slow clients cannot hold the queue; one request names at most
    ``max_models_per_request`` models (each model and hour is a file made durable).
    """

    store_url: str
    spool_dir: Path
    token: str
    read_token: str | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    queue_size: int = 4
    retry_after_s: int = 1
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_uploads_per_client: int = 4
    max_models_per_request: int = 100
    clock: Callable[[], datetime] = field(default=utc_now)
    limits: IngestLimits = DEFAULT_LIMITS
    """What a row may hold and when it may say it happened (``[ingest]`` of ``vigil.toml``)."""
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
        if not (self.header_timeout_s > 0 and self.body_timeout_s > 0):
            raise ConfigError(
                f"header_timeout_s ({self.header_timeout_s}) and body_timeout_s "
                f"({self.body_timeout_s}) must be positive"
            )
        if self.max_uploads_per_client < 1 or self.max_models_per_request < 1:
            raise ConfigError(
                f"max_uploads_per_client ({self.max_uploads_per_client}) and "
                f"max_models_per_request ({self.max_models_per_request}) must be at least 1"
            )
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
