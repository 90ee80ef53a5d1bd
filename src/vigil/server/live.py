"""``vigil serve --run``: the pipeline in the server's own process, one cycle as each window closes.

Rows that ``POST /v1/ingest`` accepts wait in the spool until their window is complete. Then a
thread of this process runs one pipeline cycle over the spool (and one when it starts, for what
was spooled before) (profile, stats, detect,
incidents, alerts), the cycle ``vigil run`` runs, under the same store lease, so a ``vigil run``
started next to it skips instead of racing. Until then, :meth:`LivePipeline.status` says how
many rows are waiting and when their window closes; the dashboard shows it.

Without ``--run``, the server only spools; :func:`spool_only_status` says so on the dashboard,
with the count of rows received, so rows that "don't show up" are explained.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.alert import Channel
from vigil.core import VigilError, Window
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.runner import CycleSummary, run_cycle
from vigil.store import SqlStore, Store

logger = logging.getLogger(__name__)


def open_in_process(url: str) -> Store:
    """The store at ``url``, doing all its work in this process (no worker pool)."""
    return SqlStore(url, workers=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveStatus:
    """What the dashboard says about rows received and not yet in any series.

    ``rows_waiting``: rows accepted since the last cycle began (all rows since the start when
    this server runs no cycles). ``next_window_closes``: when the next cycle runs (``None``
    without ``--run``).
    """

    runs_pipeline: bool
    rows_waiting: int
    next_window_closes: datetime | None = None
    last_cycle_at: datetime | None = None
    last_cycle_windows: int = 0
    last_error: str | None = None


def spool_only_status(rows_received: int) -> LiveStatus:
    return LiveStatus(runs_pipeline=False, rows_waiting=rows_received)


class LivePipeline:
    """Runs a pipeline cycle over the spool each time a window closes (see the module doc).

    ``grace`` is waited after the boundary, so rows sent in the window's last moments are in
    the spool first. ``open_store`` opens a fresh store per cycle, as ``vigil run`` does; by
    default one that works in this process only: a pool of worker processes would be forked
    from a process that runs the server's threads, which can copy a lock another thread holds.
    """

    def __init__(
        self,
        *,
        config: VigilConfig,
        spool_dir: Path,
        clock: Callable[[], datetime],
        channels: Mapping[str, Channel] | None = None,
        grace: timedelta = timedelta(seconds=5),
        open_store: Callable[[str], Store] = open_in_process,
    ) -> None:
        self.config = config
        self.sources = list(dict.fromkeys([*config.ingest.sources, str(spool_dir)]))
        self.clock = clock
        self.channels = dict(channels or {})
        self.grace = grace
        self.open_store = open_store
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._received = 0
        self._received_at_cycle = 0
        self._last_at: datetime | None = None
        self._last_windows = 0
        self._last_error: str | None = None

    def received(self, rows: int) -> None:
        """Count rows the ingest endpoint made durable (called from its worker threads)."""
        with self._lock:
            self._received += rows

    def next_window_closes(self) -> datetime:
        return Window.containing(self.clock(), self.config.window).end

    def status(self) -> LiveStatus:
        with self._lock:
            return LiveStatus(
                runs_pipeline=True,
                rows_waiting=self._received - self._received_at_cycle,
                next_window_closes=self.next_window_closes(),
                last_cycle_at=self._last_at,
                last_cycle_windows=self._last_windows,
                last_error=self._last_error,
            )

    def run_once(self) -> CycleSummary:
        """One cycle now: every window complete at the clock's time, from the spool."""
        now = self.clock()
        with self._lock:
            received = self._received
        store = self.open_store(self.config.store.url)
        try:
            summary = run_cycle(
                config=self.config,
                store=store,
                now=now,
                channels=self.channels,
                sources=self.sources,
                reports_out=Path(self.config.report.out),
            )
        finally:
            store.close()
        with self._lock:
            if not summary.skipped_locked:
                self._received_at_cycle = received
            self._last_at, self._last_windows = now, len(summary.windows)
            self._last_error = None
        return summary

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="vigil-live-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        """A cycle at once (what was spooled before a restart), then one as each window closes."""
        first = True
        while True:
            wait = timedelta(0) if first else self.next_window_closes() - self.clock() + self.grace
            first = False
            if self._stop.wait(max(wait.total_seconds(), 0.0)):
                return
            try:
                summary = self.run_once()
            except VigilError as err:  # reported on the dashboard; the next window tries again
                logger.error("pipeline cycle failed: %s", err)
                with self._lock:
                    self._last_error = str(err)
                continue
            logger.info(
                "pipeline cycle: windows=%d anomalies=%d open_incidents=%d",
                len(summary.windows), summary.anomalies, summary.open_incidents,
            )  # fmt: skip
