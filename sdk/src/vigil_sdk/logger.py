"""``Logger``: log inference records from serving code without ever blocking it.

The serving thread only builds a small tuple and appends it to a bounded ``deque`` (atomic under
the GIL, no lock). One daemon thread per logger wakes every ``flush_interval_s`` (or early when
``batch_size`` records, or half the buffer, are waiting), encodes records to JSON and hands them
to a :class:`~vigil_sdk.courier.Courier`, which gives them to the sink or, while the sink fails
and a spill folder is set, to disk, and sends the spill once the sink takes batches again.

When the buffer is full the call is counted as lost (``buffer_full``) and returns at once:
losing a log record is better than adding latency to a prediction. No loss is silent: every
record is accounted for (:mod:`vigil_sdk.accounting`), the background thread logs a warning with
the counts when records are being lost (at most once a minute), ``flush()`` and ``close()`` return
what was delivered, spilled and lost since the previous report, and warn when something was lost.
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
from types import TracebackType

from vigil_sdk.accounting import FlushReport, LoggerStats, Losses
from vigil_sdk.courier import SPILL_FAILED, Courier
from vigil_sdk.encoding import ARRIVAL, COMPLETION, LABEL, PREDICTION, PendingRecord, RecordEncoder
from vigil_sdk.errors import ConfigError
from vigil_sdk.sinks import Sink
from vigil_sdk.spill import Spill

_log = logging.getLogger(__name__)

_YIELD_EVERY = 16
_WARN_EVERY_S = 60.0
_UNENCODABLE = "unencodable"
_UNSENT_AT_CLOSE = "unsent_at_close"


class Logger:
    """Logs the inference records of one model version to a :class:`~vigil_sdk.Sink`.

    ``log`` and friends never block and never raise because of the sink; they return the
    request id (generated when not given) so arrival, completion and label events can be joined.
    Mappings passed in are copied shallowly, so the caller may reuse its dicts.

    With ``spill_dir``, batches the sink refuses wait in ``spill_dir/model=…/version=…/`` (at
    most ``spill_max_bytes``) and are sent every ``spill_retry_s`` until the sink takes them,
    by this logger or the next one started on the same folder.
    """

    def __init__(
        self,
        model: str,
        version: str = "",
        *,
        sink: Sink,
        spill_dir: str | os.PathLike[str] | None = None,
        spill_max_bytes: int = 256 * 1024 * 1024,
        spill_retry_s: float = 10.0,
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
        if not spill_retry_s > 0:
            raise ConfigError(f"spill_retry_s must be positive, got {spill_retry_s!r}")
        self.model = model
        self.version = version
        self.host = socket.gethostname() if host is None else host
        self._sink = sink
        self._spill = (
            None
            if spill_dir is None
            else Spill(spill_dir, model=model, version=version, max_bytes=spill_max_bytes)
        )
        self._spill_retry_s = spill_retry_s
        self._max_buffer = max_buffer
        self._wake_at = max(1, min(batch_size, max_buffer // 2))
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._clock = clock
        self._exit_timeout_s = exit_timeout_s
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
        self._encoder = RecordEncoder(model=self.model, version=self.version, host=self.host)
        self._state = threading.Condition()
        self._drop_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._taken = self._delivered = self._spilled = self._replayed = self._sink_errors = 0
        self._buffer_full = self._after_close = self._rescued_nonfinite = 0
        self._lost: dict[str, int] = {}  # losses after the buffer, by reason
        self._last_error: str | None = None
        self._reported = (0, 0, Losses())  # delivered, spilled, lost at the last report
        self._warned_total, self._warned_at = 0, 0.0
        if self._spill is not None:
            self._spill.recover()
        self._courier = Courier(
            self._sink, self._spill, retry_s=self._spill_retry_s, on_error=self._note_error
        )
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
                PREDICTION,
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
        self._append((ARRIVAL, self._clock(), request_id, dict(features), None, None, tags, None))
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
        self._append((COMPLETION, now, request_id, None, dict(outputs), latency_ms, tags, None))

    def log_label(
        self, request_id: str, label: float, *, tags: Mapping[str, str] | None = None
    ) -> None:
        """Log the late outcome (ground truth) of an earlier request."""
        tags = None if tags is None else dict(tags)
        self._append((LABEL, self._clock(), request_id, None, None, None, tags, label))

    def _drop(self) -> None:
        with self._drop_lock:  # a plain Lock: cheaper than the Condition on this path
            if self._closed:
                self._after_close += 1
            else:
                self._buffer_full += 1

    # -- control --------------------------------------------------------------------------------

    def stats(self) -> LoggerStats:
        with self._state:
            logged = self._taken + len(self._buffer)
            with self._drop_lock:
                lost = Losses(
                    buffer_full=self._buffer_full, after_close=self._after_close, **self._lost
                )
            return LoggerStats(
                logged=logged,
                delivered=self._delivered,
                spilled=self._spilled,
                pending=logged - self._finished(),
                lost=lost,
                replayed=self._replayed,
                sink_errors=self._sink_errors,
                nonfinite=self._encoder.nonfinite_records + self._rescued_nonfinite,
                last_error=self._last_error,
            )

    def flush(self, timeout_s: float = 5.0) -> FlushReport:
        """Wait until every record logged before this call reached the sink, the spill or a
        counted loss; report what became of the records since the previous report.

        The report is false when records were lost or ``timeout_s`` passed first (e.g. because
        the sink is stuck): ``if not logger.flush(): ...``.
        """
        with self._state:
            target = self._taken + len(self._buffer)
            self._wake.set()
            self._state.wait_for(lambda: self._finished() >= target, timeout=timeout_s)
        return self._report("flush")

    def close(self, timeout_s: float = 5.0) -> FlushReport:
        """Flush, stop the thread and close the sink; later calls are lost as ``after_close``.

        When the thread does not finish within ``timeout_s`` (a stuck sink), what is still
        buffered goes to the spill folder, or is counted as ``unsent_at_close`` without one; the
        batch the sink holds is reported as ``pending``, and the sink is left open (closing it
        under a running write could corrupt its output).
        """
        if self._closed:
            return self._report("close")
        self._closed = True
        if self._registered_at_exit:
            atexit.unregister(self._close_at_exit)
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._rescue_buffer()
        else:
            try:
                self._sink.close()
            except Exception as err:  # a failing sink must not break the caller's shutdown
                self._note_error(err, "while closing the sink")
        report = self._report("close")
        if report.pending:
            _log.warning(
                "vigil sdk: model %r version %r: the sink %s did not finish within %.1fs; "
                "%d records are still being written by it and are lost if the process exits",
                self.model,
                self.version,
                type(self._sink).__name__,
                timeout_s,
                report.pending,
            )
        return report

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

    # -- accounting -----------------------------------------------------------------------------

    def _finished(self) -> int:
        """Logged records that reached the sink, the spill or a counted loss (hold _state)."""
        return self._delivered + self._spilled + sum(self._lost.values())

    def _report(self, call: str) -> FlushReport:
        stats = self.stats()
        with self._state:
            delivered, spilled, lost = self._reported
            self._reported = (stats.delivered, stats.spilled, stats.lost)
        report = FlushReport(
            delivered=stats.delivered - delivered,
            spilled=stats.spilled - spilled,
            lost=stats.lost.minus(lost),
            pending=stats.pending,
        )
        if report.lost.total:
            _log.warning(
                "vigil sdk: model %r version %r lost %d records since the last flush or close "
                "(%s); reported by %s()",
                self.model,
                self.version,
                report.lost.total,
                report.lost,
                call,
            )
        return report

    def _count(
        self, *, delivered: int = 0, spilled: int = 0, lost: int = 0, reason: str = ""
    ) -> None:
        with self._state:
            self._delivered += delivered
            self._spilled += spilled
            if lost:
                self._lost[reason] = self._lost.get(reason, 0) + lost
            self._state.notify_all()

    def _note_error(self, err: Exception, consequence: str) -> None:
        with self._state:
            self._sink_errors += 1
            self._last_error = f"{type(err).__name__}: {err}"
            errors = self._sink_errors
        if errors == 1 or errors % 100 == 0:
            _log.warning(
                "vigil sdk: model %r version %r: sink %s failed (%d errors so far; %s): %s",
                self.model,
                self.version,
                type(self._sink).__name__,
                errors,
                consequence,
                err,
            )

    def _warn_if_losing(self) -> None:
        """At most once a minute, a warning with the counts when records are being lost."""
        lost = self.stats().lost
        total, now = lost.total, time.monotonic()
        if total > self._warned_total and (
            self._warned_total == 0 or now - self._warned_at >= _WARN_EVERY_S
        ):
            _log.warning(
                "vigil sdk: model %r version %r has lost %d records so far (%s)",
                self.model,
                self.version,
                total,
                lost,
            )
            self._warned_total, self._warned_at = total, now

    # -- the background thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            stopping = self._stopping
            if self._drain() == 0:
                self._heartbeat()
            replayed = self._courier.replay(between=self._drain_if_filling, now=stopping)
            if replayed:
                with self._state:
                    self._replayed += replayed
            self._warn_if_losing()
            if stopping:
                return

    def _drain_if_filling(self) -> None:
        if len(self._buffer) >= self._wake_at:
            self._drain()

    def _drain(self) -> int:
        """Encode and send everything buffered, batch by batch; returns how many were taken."""
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
            lines = self._encode(batch, self._encoder)
            if lines:
                outcome = self._courier.send(lines)
                self._count(
                    delivered=outcome.delivered,
                    spilled=outcome.spilled,
                    lost=outcome.lost,
                    reason=outcome.reason,
                )
                if outcome.lost:
                    self._warn_if_losing()

    def _encode(self, batch: list[PendingRecord], encoder: RecordEncoder) -> list[bytes]:
        lines: list[bytes] = []
        unencodable = 0
        for index, record in enumerate(batch, 1):
            if index % _YIELD_EVERY == 0:
                # Hand the GIL back to serving threads now rather than at the 5 ms switch
                # interval: it bounds what encoding adds to a request's latency.
                time.sleep(0)
            try:
                lines.append(encoder.encode(record))
            except Exception as err:  # a caller's object whose tolist()/item() raises anything
                unencodable += 1
                error = f"request {record[2]}: {err}"
        if unencodable:
            with self._state:
                self._last_error = error
            self._count(lost=unencodable, reason=_UNENCODABLE)
        return lines

    def _rescue_buffer(self) -> None:
        """After close() gave up on the thread: spill what is still buffered, or count it."""
        with self._state:
            leftovers = list(self._buffer)
            self._buffer.clear()
            self._taken += len(leftovers)
        if not leftovers:
            return
        if self._spill is None:
            self._count(lost=len(leftovers), reason=_UNSENT_AT_CLOSE)
            return
        # The stuck thread may still use self._encoder (its timestamp cache is not thread-safe).
        encoder = RecordEncoder(model=self.model, version=self.version, host=self.host)
        lines = self._encode(leftovers, encoder)
        self._rescued_nonfinite += encoder.nonfinite_records
        try:
            self._spill.append(lines)
        except OSError as err:
            self._note_error(err, f"{len(lines)} records lost")
            self._count(lost=len(lines), reason=SPILL_FAILED)
        else:
            self._count(spilled=len(lines))

    def _heartbeat(self) -> None:
        try:
            self._sink.write([])
        except Exception as err:  # same policy as a failed batch
            self._note_error(err, "on an idle heartbeat")


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
