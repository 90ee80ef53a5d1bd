"""``vigil run``'s cycles: each on a freshly opened store, timed into the pipeline's own metrics,
with the notifications sent off the cycle's thread by an outbox.

The CLI parses, loops and prints; everything that opens a store, starts the metrics endpoint or
waits for sends is here. The clock is the caller's (``clock``), so a test can set it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

from vigil.alert import Outbox
from vigil.core import VigilError
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.metrics import PipelineMetrics
from vigil.pipeline.notify import record_finished
from vigil.pipeline.runner import CycleSummary, run_cycle
from vigil.pipeline.schedule import due_windows
from vigil.store import SqlStore

SEND_WAIT_S = 120.0
"""How long a last cycle waits for the notifications still sending (their timeouts bound it)."""


class CycleRunner:
    """Runs cycles of the whole pipeline for ``vigil run``: one store per cycle (a store that was
    down comes back by the next cycle), the configured sources, reports in ``reports_out``."""

    def __init__(
        self,
        config: VigilConfig,
        *,
        outbox: Outbox,
        reports_out: Path,
        clock: Callable[[], datetime],
        metrics: PipelineMetrics | None = None,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.reports_out = reports_out
        self.clock = clock
        self.metrics = metrics

    def cycle(
        self, *, until: datetime | None, progress: Callable[[str], None] | None = None
    ) -> CycleSummary:
        """One cycle over every due window up to the data time ``until`` (``None``: the end of
        the latest data). A failure is counted in the metrics and raised."""
        started = time.monotonic()
        posts = (self.outbox.alert_posts, self.outbox.alert_failures)
        config = self.config
        try:
            with closing(SqlStore(config.store.url, workers=config.store.workers)) as store:
                summary = run_cycle(
                    config=config,
                    store=store,
                    now=self.clock(),
                    until=until,
                    channels={},
                    outbox=self.outbox,
                    sources=list(config.ingest.sources),
                    reports_out=self.reports_out,
                    progress=progress,
                )
                behind = len(
                    due_windows(store, window=config.window, now=self.clock(), until=until)
                )
        except VigilError:
            if self.metrics is not None:
                self.metrics.cycle_failed(seconds=time.monotonic() - started)
            raise
        if self.metrics is not None:
            self.metrics.cycle_succeeded(
                summary,
                seconds=time.monotonic() - started,
                finished_at=self.clock(),
                behind=behind,
            )
            self.metrics.alert_posts(
                delivered=self.outbox.alert_posts - posts[0],
                failed=self.outbox.alert_failures - posts[1],
            )
        return summary

    def finish_sends(self, *, wait_s: float = SEND_WAIT_S) -> int:
        """Wait up to ``wait_s`` for the sends still queued and record them; returns how many
        were still sending (the next run sends those again)."""
        done = self.outbox.wait(timeout_s=wait_s)
        still = 0 if done else len(self.outbox.pending())
        with closing(SqlStore(self.config.store.url)) as store:
            record_finished(store, self.outbox, now=self.clock())
        return still


def serve_metrics(
    config: VigilConfig, *, host: str, port: int, clock: Callable[[], datetime]
) -> PipelineMetrics:
    """Serve the pipeline's own metrics and every model's gauges on ``host:port`` from a daemon
    thread; the store it reads them from stays open for the scrapes."""
    from prometheus_client import CollectorRegistry, start_http_server

    from vigil.pipeline.gauges import read_gauges
    from vigil.pipeline.metrics import ModelCollector

    store = SqlStore(config.store.url)
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    registry.register(ModelCollector(lambda: read_gauges(store, now=clock())))
    start_http_server(port, addr=host, registry=registry)
    return metrics


def seconds_until_next(period: timedelta, *, now: datetime, grace_s: float = 5.0) -> float:
    """Seconds from ``now`` to ``grace_s`` after the next multiple of ``period`` (a little after
    the boundary, once the window is complete)."""
    step = period.total_seconds()
    return step - (now.timestamp() % step) + grace_s
