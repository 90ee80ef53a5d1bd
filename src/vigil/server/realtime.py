"""Between the ingest endpoint and the real-time monitors: a bounded queue, a worker thread and
``GET /v1/realtime``.

The request path only appends its validated batch of accepted rows to a bounded queue (no
monitor work), so ingest latency does not depend on the monitors. The spool is the source of truth:
when the queue is full the request is still accepted and durable, the monitors just do not see
it, and the skipped requests and rows are counted and shown by ``GET /v1/realtime``.

The worker thread feeds the queued batches to the
:class:`~vigil.pipeline.realtime.MonitorHub` and, every ``evaluate_every``, asks it for alerts
at ``clock() - lateness``. ``lateness`` is how late events may reach the server (SDK
buffering, network): judging silence at the very present would flag a gap for every event
still in flight. Each cycle reads the clock *before* draining the queue, so everything
submitted before that reading has been fed when alerts are asked for.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core import ConfigError
from vigil.ingest import RecordBatch
from vigil.pipeline.realtime import HubSettings, MonitorFactory, MonitorHub
from vigil.pipeline.realtime_checkpoint import restore_hub, save_hub
from vigil.server.auth import Guard
from vigil.server.settings import ServerSettings
from vigil.store import CheckpointStore, Store

logger = logging.getLogger(__name__)


class RealtimeFeed:
    """Feeds accepted ingest lines to a hub from one background thread; never blocks ingest."""

    def __init__(
        self,
        hub: MonitorHub,
        *,
        clock: Callable[[], datetime],
        evaluate_every: timedelta = timedelta(minutes=1),
        lateness: timedelta = timedelta(seconds=30),
        max_queued: int = 1000,
        poll_s: float = 0.5,
        checkpoints: CheckpointStore | None = None,
        checkpoint_key: bytes = b"",
        checkpoint_every: timedelta = timedelta(minutes=5),
    ) -> None:
        if evaluate_every <= timedelta(0) or lateness < timedelta(0):
            raise ConfigError(
                f"evaluate_every must be positive and lateness >= 0, "
                f"got {evaluate_every!r}, {lateness!r}"
            )
        if max_queued < 1 or poll_s <= 0:
            raise ConfigError(f"bad max_queued {max_queued!r} or poll_s {poll_s!r}")
        self.hub = hub
        self.clock = clock
        self.evaluate_every = evaluate_every
        self.lateness = lateness
        self.max_queued = max_queued
        self.poll_s = poll_s
        self.checkpoints = checkpoints
        self.checkpoint_key = checkpoint_key
        self.checkpoint_every = checkpoint_every
        self._next_checkpoint: datetime | None = None
        self.restored_models_ = 0
        self.last_checkpoint_: datetime | None = None
        self._queue: deque[RecordBatch] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Condition()
        self._requested = 0
        self._completed = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_due: datetime | None = None
        self.skipped_requests_ = 0
        self.skipped_rows_ = 0
        self.fed_rows_ = 0
        self.cycle_errors_ = 0
        self.last_error_: str | None = None

    def submit(self, batch: RecordBatch) -> bool:
        """Queue one request's accepted (already validated) rows; False when full (counted)."""
        if not batch.num_rows:
            return True
        with self._lock:
            if len(self._queue) >= self.max_queued:
                self.skipped_requests_ += 1
                self.skipped_rows_ += batch.num_rows
                return False
            self._queue.append(batch)
        self._wake.set()
        return True

    def start(self) -> None:
        if self._thread is None:
            self._restore()
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="vigil-realtime", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout_s)
            self._thread = None
            self.save_checkpoint()

    def _restore(self) -> None:
        """Resume the monitors from the store's checkpoint (a restart keeps what they learned)."""
        if self.checkpoints is None:
            return
        try:
            restored = restore_hub(self.hub, self.checkpoints, key=self.checkpoint_key)
        except Exception as err:  # a bad checkpoint must not stop the server: start cold
            self.last_error_ = f"checkpoint not restored: {type(err).__name__}: {err}"
            logger.exception("realtime: checkpoint not restored; monitors start cold")
            return
        self.restored_models_ = restored.models
        if restored.models:
            logger.info(
                "realtime: restored %d models from the checkpoint of %s",
                restored.models,
                restored.saved_at,
            )

    def save_checkpoint(self) -> bool:
        """Checkpoint the monitors now; False when there is no checkpoint store."""
        if self.checkpoints is None:
            return False
        now = self.clock()
        save_hub(self.hub, self.checkpoints, key=self.checkpoint_key, now=now)
        self.last_checkpoint_ = now
        self._next_checkpoint = now + self.checkpoint_every
        return True

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait for one full cycle that starts after this call (everything queued before it is
        fed, and alerts are evaluated if due); False on timeout or when not running."""
        if self._thread is None:
            return False
        with self._done:
            self._requested += 1
            ticket = self._requested
        self._wake.set()
        with self._done:
            return self._done.wait_for(lambda: self._completed >= ticket, timeout_s)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.poll_s)
            self._wake.clear()
            with self._done:
                ticket = self._requested
            try:
                self.cycle()
            except Exception as err:  # the thread must survive anything; the error is shown
                self.cycle_errors_ += 1
                self.last_error_ = f"{type(err).__name__}: {err}"
                logger.exception("realtime cycle failed; will retry")
            with self._done:
                self._completed = ticket
                self._done.notify_all()

    def cycle(self) -> None:
        """One step: read the clock, feed everything queued, evaluate when due."""
        now = self.clock()
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
        for batch in queued:
            self.fed_rows_ += batch.num_rows
            self.hub.feed(batch)
        judged_at = now - self.lateness
        if self._next_due is None or judged_at >= self._next_due:
            self._next_due = judged_at + self.evaluate_every
            self.hub.evaluate(judged_at)
        if self.checkpoints is not None and (
            self._next_checkpoint is None or now >= self._next_checkpoint
        ):
            if self._next_checkpoint is None:  # the first cycle only starts the clock
                self._next_checkpoint = now + self.checkpoint_every
            else:
                self.save_checkpoint()

    def status(self) -> dict[str, Any]:
        hub = self.hub.status()
        models: dict[str, list[dict[str, Any]]] = {}
        for one in hub.monitors:
            models.setdefault(one.model, []).append(
                {
                    "monitor": one.monitor,
                    "events": one.events,
                    "alerts": one.alerts,
                    "latest": [
                        {
                            "statistic": alert.statistic,
                            "version": alert.version,
                            "timestamp": alert.timestamp.isoformat(),
                            "score": _finite(alert.score),
                            "threshold": _finite(alert.threshold),
                            "message": alert.message,
                        }
                        for alert in one.latest
                    ],
                }
            )
        with self._lock:
            queued = len(self._queue)
        return {
            "running": self._thread is not None,
            "last_evaluated": None
            if hub.last_evaluated is None
            else hub.last_evaluated.isoformat(),
            "queued_requests": queued,
            "fed_rows": self.fed_rows_,
            "skipped_requests": self.skipped_requests_,
            "skipped_rows": self.skipped_rows_,
            "evicted_models": hub.evicted_models,
            "monitor_errors": hub.update_errors,
            "unsaved_alerts": hub.unsaved_alerts,
            "dropped_alerts": hub.dropped_alerts,
            "silenced_alerts": hub.silenced_alerts,
            "cycle_errors": self.cycle_errors_,
            "restored_models": self.restored_models_,
            "last_checkpoint": None
            if self.last_checkpoint_ is None
            else self.last_checkpoint_.isoformat(),
            "last_error": self.last_error_,
            "models": [
                {"model": model, "monitors": monitors} for model, monitors in sorted(models.items())
            ],
        }


def realtime_feed(
    settings: ServerSettings, store: Store, *, monitors: MonitorFactory | None = None
) -> RealtimeFeed | None:
    """The feed for ``settings`` (None when real-time monitoring is off); the monitors' state
    is checkpointed in ``store``."""
    if not settings.realtime:
        return None
    hub = MonitorHub(
        store, settings=HubSettings(max_models=settings.realtime_max_models), monitors=monitors
    )
    return RealtimeFeed(
        hub,
        clock=settings.clock,
        evaluate_every=settings.realtime_evaluate_every,
        lateness=settings.realtime_lateness,
        max_queued=settings.realtime_queue_size,
        checkpoints=store.checkpoints,
        checkpoint_key=settings.token.encode(),
        checkpoint_every=settings.realtime_checkpoint_every,
    )


def _finite(value: float) -> float | None:
    """JSON has no infinity: an unbounded score is shown as null."""
    return value if math.isfinite(value) else None


def realtime_router(feed: RealtimeFeed | None, guard: Guard) -> APIRouter:
    """``GET /v1/realtime``: the monitors per model, their latest alert scores, queue counters."""
    router = APIRouter()

    @router.get("/v1/realtime")
    def realtime(request: Request) -> Response:
        if not guard.can_read(request):
            return JSONResponse(
                {"detail": "a read token is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if feed is None:
            return JSONResponse({"enabled": False, "models": []})
        return JSONResponse({"enabled": True, **feed.status()})

    return router
