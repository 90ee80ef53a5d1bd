"""``Logger``: log inference records from serving code without ever blocking it.

The serving thread only builds a small tuple and appends it to a bounded ``deque`` (atomic under
the GIL, no lock). One daemon thread per logger wakes every ``flush_interval_s`` (or early when
``batch_size`` records, or half the buffer, are waiting), encodes records to JSON and hands them
to the sink in batches. When the buffer is full the call is counted in ``dropped`` and returns at
once: losing a log record is better than adding latency to a prediction, and the count makes the
loss visible.

Accounting, readable at any time through :meth:`Logger.stats`: every call is either ``logged``
(accepted into the buffer) or ``dropped``; every logged record ends up ``flushed`` (the sink took
it), ``failed`` (the sink raised, or the record could not be encoded) or is still ``pending``.
``nonfinite`` counts written records whose NaN/±inf values had to become ``null`` (strict JSON).
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType

from vigil.core import ConfigError, EventKind
from vigil.sdk.encoding import PendingRecord, RecordEncoder
from vigil.sdk.sinks import Sink

_log = logging.getLogger(__name__)

_PREDICTION = EventKind.PREDICTION.value
_ARRIVAL = EventKind.ARRIVAL.value
_COMPLETION = EventKind.COMPLETION.value
_LABEL = EventKind.LABEL.value
_YIELD_EVERY = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggerStats:
    """A snapshot of one logger's counters (see the module docstring for what each means)."""

    logged: int
    dropped: int
    flushed: int
    failed: int
    sink_errors: int
    pending: int
    nonfinite: int = 0
    last_error: str | None = None

    def __post_init__(self) -> None:
        for name in (
            "logged",
            "dropped",
            "flushed",
            "failed",
            "sink_errors",
            "pending",
            "nonfinite",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"logger stat {name}={getattr(self, name)!r} is negative")


class Logger:
    """Logs the inference records of one model version to a :class:`~vigil.sdk.Sink`.

    ``log`` and friends never block and never raise because of the sink; they return the
    request id (generated when not given) so arrival, completion and label events can be joined.
    Mappings passed in are copied shallowly, so the caller may reuse its dicts.
    """

    def __init__(
        self,
        model: str,
        version: str = "",
        *,
        sink: Sink,
        max_buffer: int = 10_000,
        batch_size: int = 1_000,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        host: str | None = None,
        close_at_exit: bool = True,
        exit_timeout_s: float = 5.0,
    ) -> None:
        if not isinstance(model, str) or not model:
            raise ConfigError(f"model must be a non-empty string, got {model!r}")
        if not isinstance(version, str):
            raise ConfigError(f"version must be a string ('' when unversioned), got {version!r}")
        if max_buffer < 1:
            raise ConfigError(f"max_buffer must be at least 1, got {max_buffer!r}")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size!r}")
        if not flush_interval_s > 0:
            raise ConfigError(f"flush_interval_s must be positive, got {flush_interval_s!r}")
        self.model = model
        self.version = version
        self.host = socket.gethostname() if host is None else host
        self._sink = sink
        self._max_buffer = max_buffer
        self._wake_at = max(1, min(batch_size, max_buffer // 2))
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._exit_timeout_s = exit_timeout_s
        self._encoder = RecordEncoder(model=model, version=version, host=self.host)
        self._closed = False
        self._start()
        if close_at_exit:
            atexit.register(self._close_at_exit)
        self._registered_at_exit = close_at_exit
        os.register_at_fork(after_in_child=_restart_in_child(self))

    def _start(self) -> None:
        """Fresh buffer, counters and thread (also in a forked child, which has no thread)."""
        self._buffer: deque[PendingRecord] = deque()
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)
        self._state = threading.Condition()
        self._drop_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._taken = self._flushed = self._failed = self._sink_errors = self._dropped = 0
        self._last_error: str | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"vigil-sdk-{self.model}", daemon=True
        )
        self._thread.start()

    # -- the hot path: a tuple, a deque append, nothing else ------------------------------------

    def _new_id(self) -> str:
        # itertools.count.__next__ is atomic in CPython, so concurrent serving threads never
        # share an id; the random prefix keeps ids unique across processes like uuid4 hex.
        return f"{self._id_prefix}{next(self._ids):016x}"

    def _append(self, record: PendingRecord) -> None:
        # Checked without a lock: threads racing past the check can overshoot max_buffer by at
        # most one record each, which is the price of never waiting on a lock here.
        buffer = self._buffer
        size = len(buffer)
        if size >= self._max_buffer or self._closed:
            self._drop()
            return
        buffer.append(record)
        if size == self._wake_at:  # only on crossing: Event.set takes a lock
            self._wake.set()

    def log(
        self,
        features: Mapping[str, object],
        outputs: Mapping[str, object] | None = None,
        latency_ms: float | None = None,
        *,
        request_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log one complete prediction; returns its request id."""
        if request_id is None:
            request_id = f"{self._id_prefix}{next(self._ids):016x}"
        # _append inlined: this is the call serving code makes on every request.
        buffer = self._buffer
        size = len(buffer)
        if size >= self._max_buffer or self._closed:
            self._drop()
            return request_id
        buffer.append(
            (
                _PREDICTION,
                self._clock(),
                request_id,
                dict(features),
                None if outputs is None else dict(outputs),
                latency_ms,
                None if tags is None else dict(tags),
                None,
            )
        )
        if size == self._wake_at:
            self._wake.set()
        return request_id

    def log_arrival(
        self,
        features: Mapping[str, object],
        *,
        request_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log that a request arrived (before the model answers); returns its request id."""
        if request_id is None:
            request_id = self._new_id()
        tags = None if tags is None else dict(tags)
        self._append((_ARRIVAL, self._clock(), request_id, dict(features), None, None, tags, None))
        return request_id

    def log_completion(
        self,
        request_id: str,
        outputs: Mapping[str, object],
        latency_ms: float | None = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Log the answer to a request whose arrival was logged with the same ``request_id``."""
        tags = None if tags is None else dict(tags)
        now = self._clock()
        self._append((_COMPLETION, now, request_id, None, dict(outputs), latency_ms, tags, None))

    def log_label(
        self, request_id: str, label: float, *, tags: Mapping[str, str] | None = None
    ) -> None:
        """Log the late outcome (ground truth) of an earlier request."""
        tags = None if tags is None else dict(tags)
        self._append((_LABEL, self._clock(), request_id, None, None, None, tags, label))

    def _drop(self) -> None:
        with self._drop_lock:  # a plain Lock: cheaper than the Condition on this path
            self._dropped += 1

    # -- control --------------------------------------------------------------------------------

    def stats(self) -> LoggerStats:
        with self._state:
            queued = len(self._buffer)
            logged = self._taken + queued
            done = self._flushed + self._failed
            return LoggerStats(
                logged=logged,
                dropped=self._dropped,
                flushed=self._flushed,
                failed=self._failed,
                sink_errors=self._sink_errors,
                pending=logged - done,
                nonfinite=self._encoder.nonfinite_records,
                last_error=self._last_error,
            )

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every record logged before this call reached the sink (or failed).

        Returns ``False`` when ``timeout_s`` passed first, e.g. because the sink is stuck.
        """
        with self._state:
            target = self._taken + len(self._buffer)
            self._wake.set()
            return self._state.wait_for(
                lambda: self._flushed + self._failed >= target, timeout=timeout_s
            )

    def close(self, timeout_s: float = 5.0) -> bool:
        """Flush, stop the thread and close the sink; later calls are counted as dropped.

        Returns ``False`` when the background thread did not finish within ``timeout_s``; the
        sink is then left open (closing it under a running write could corrupt its output).
        """
        if self._closed:
            return not self._thread.is_alive()
        self._closed = True
        if self._registered_at_exit:
            atexit.unregister(self._close_at_exit)
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            _log.warning("vigil sdk: %s did not finish within %.1fs", self._thread.name, timeout_s)
            return False
        try:
            self._sink.close()
        except Exception as err:  # a failing sink must not break the caller's shutdown
            self._record_sink_error(err, records=0)
        return True

    def _close_at_exit(self) -> None:
        self.close(self._exit_timeout_s)

    def __enter__(self) -> Logger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the background thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            stopping = self._stopping
            if self._drain() == 0:
                self._heartbeat()
            if stopping:
                return

    def _drain(self) -> int:
        """Encode and write everything buffered, batch by batch; returns how many were taken."""
        taken = 0
        buffer = self._buffer
        while True:
            with self._state:
                count = min(len(buffer), self._batch_size)
                batch = [buffer.popleft() for _ in range(count)]
                self._taken += count
            if not batch:
                return taken
            taken += count
            self._write(batch)

    def _write(self, batch: list[PendingRecord]) -> None:
        lines: list[bytes] = []
        unencodable = 0
        for index, record in enumerate(batch, 1):
            if index % _YIELD_EVERY == 0:
                # Hand the GIL back to serving threads now rather than at the 5 ms switch
                # interval: it bounds what encoding adds to a request's latency.
                time.sleep(0)
            try:
                lines.append(self._encoder.encode(record))
            except Exception as err:  # a caller's object whose tolist()/item() raises anything
                unencodable += 1
                error = f"request {record[2]}: {err}"
        if unencodable:
            with self._state:
                self._failed += unencodable
                self._last_error = error
                self._state.notify_all()
        if not lines:
            return
        try:
            self._sink.write(lines)
        except Exception as err:  # any sink failure is counted; the thread must survive it
            self._record_sink_error(err, records=len(lines))
            return
        with self._state:
            self._flushed += len(lines)
            self._state.notify_all()

    def _heartbeat(self) -> None:
        try:
            self._sink.write([])
        except Exception as err:  # same policy as _write
            self._record_sink_error(err, records=0)

    def _record_sink_error(self, err: Exception, *, records: int) -> None:
        with self._state:
            self._sink_errors += 1
            self._failed += records
            self._last_error = f"{type(err).__name__}: {err}"
            errors = self._sink_errors
            self._state.notify_all()
        if errors == 1 or errors % 100 == 0:
            _log.warning(
                "vigil sdk: sink %s failed (%d errors so far, %d records lost in this batch): %s",
                type(self._sink).__name__,
                errors,
                records,
                err,
            )


def _restart_in_child(logger: Logger) -> Callable[[], None]:
    """A fork hook that holds the logger weakly, so it does not keep dead loggers alive.

    The child inherits the parent's buffer but not its thread; the parent flushes those records,
    so the child starts empty with its own thread (pre-fork servers such as gunicorn).
    """
    ref = weakref.ref(logger)

    def restart() -> None:
        child = ref()
        if child is not None and not child._closed:
            child._start()

    return restart
