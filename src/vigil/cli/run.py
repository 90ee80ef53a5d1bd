"""``vigil run``: every due window through the whole pipeline, once or on a schedule.

The clock is read here (``datetime.now``) and passed down; nothing below reads it. So are the
secrets of the alert channels (``password_env`` names an environment variable).
"""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import new_console
from vigil.cli.options import ConfigOption, OptionalDbOption, channel_secrets

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.alert import Outbox
    from vigil.pipeline.config import VigilConfig
    from vigil.pipeline.metrics import PipelineMetrics
    from vigil.pipeline.profiling import ProfilingSummary
    from vigil.pipeline.runner import CycleSummary
    from vigil.store import Store


def run(
    config: ConfigOption = None,
    db: OptionalDbOption = None,
    window: Annotated[
        str | None, typer.Option(help="Window length, e.g. 1h (overrides config).")
    ] = None,
    every: Annotated[str, typer.Option(help="How often to run a cycle.")] = "1h",
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Write HTML reports here.")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            "--metrics-port",
            min=1,
            max=65535,
            help="Serve Prometheus metrics (the pipeline's own and every model's) on this port.",
        ),
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            "--metrics-host", help="Address for --metrics-port; 0.0.0.0 exposes it beyond here."
        ),
    ] = "127.0.0.1",
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Watch up to this data time (ISO, UTC). Default: with --once, the end of the "
            "latest data (a replay stops there); looping, the clock.",
        ),
    ] = None,
) -> None:
    """Run every due window through ingest, profile, stats, detect, incidents and alerts;
    catch up missed windows in order; repeat every ``--every``. Safe to re-run or kill.

    Alerts go out off the cycle's thread, so a slow receiver never holds a cycle; a cycle that
    fails is counted (``vigil_pipeline_errors_total``) and the next one runs on time, except with
    ``--once``, which exits with the error."""
    from vigil.alert import Outbox
    from vigil.core import VigilError, parse_duration
    from vigil.pipeline.config import load_config, parse_moment

    out = new_console()
    overrides: dict[str, dict[str, object]] = {}
    if db is not None:
        overrides["store"] = {"url": db}
    if window is not None:
        overrides["profile"] = {"window": window}
    settings = load_config(config).with_overrides(**overrides)
    stop = parse_moment(until) if until is not None else None
    period = parse_duration(every)
    outbox = Outbox(
        settings.build_channels(channel_secrets(settings)),
        alertmanager=settings.build_alertmanager(),
    )
    reports_out = reports or Path(settings.report.out)
    metrics = _serve_metrics(settings, metrics_host, metrics_port, out)
    tally = _Tally()
    while True:
        # Once is a replay: to the data's end. Looping watches live traffic: to the clock.
        live = None if once else datetime.now(UTC)
        try:
            summary = _timed_cycle(settings, outbox, reports_out, out, metrics, stop or live)
        except VigilError as err:
            if once:
                raise
            out.print(f"error: cycle failed, the next one runs on schedule: {err}")
        else:
            tally.count(summary)
            _print_cycle(out, summary, tally)
        if once:
            _finish_sends(settings, outbox, out)
            return
        time.sleep(_seconds_until_next(period))


def _timed_cycle(
    settings: VigilConfig,
    outbox: Outbox,
    reports_out: Path,
    console: Console,
    metrics: PipelineMetrics | None,
    until: datetime | None,
) -> CycleSummary:
    from vigil.core import VigilError
    from vigil.pipeline.runner import due_windows
    from vigil.store import SqlStore

    started = time.monotonic()
    posts = (outbox.alert_posts, outbox.alert_failures)
    try:
        with closing(SqlStore(settings.store.url, workers=settings.store.workers)) as store:
            summary = _cycle(settings, store, outbox, reports_out, console, until)
            behind = len(
                due_windows(store, window=settings.window, now=datetime.now(UTC), until=until)
            )
    except VigilError:
        if metrics is not None:
            metrics.cycle_failed(seconds=time.monotonic() - started)
        raise
    if metrics is not None:
        metrics.cycle_succeeded(
            summary,
            seconds=time.monotonic() - started,
            finished_at=datetime.now(UTC),
            behind=behind,
        )
        metrics.alert_posts(
            delivered=outbox.alert_posts - posts[0], failed=outbox.alert_failures - posts[1]
        )
    return summary


def _serve_metrics(
    settings: VigilConfig, host: str, port: int | None, console: Console
) -> PipelineMetrics | None:
    """Start the metrics endpoint in a daemon thread; its store stays open for the scrapes."""
    if port is None:
        return None
    from prometheus_client import CollectorRegistry, start_http_server

    from vigil.pipeline.gauges import read_gauges
    from vigil.pipeline.metrics import ModelCollector, PipelineMetrics
    from vigil.store import SqlStore

    store = SqlStore(settings.store.url)
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    registry.register(ModelCollector(lambda: read_gauges(store, now=datetime.now(UTC))))
    start_http_server(port, addr=host, registry=registry)
    console.print(f"metrics on http://{host}:{port}/metrics")
    return metrics


def _finish_sends(settings: VigilConfig, outbox: Outbox, console: Console) -> None:
    """``--once``: wait for the sends still queued (their timeouts bound it), record them."""
    from vigil.pipeline.runner import record_finished
    from vigil.store import SqlStore

    if not outbox.wait(timeout_s=_ONCE_SEND_WAIT_S):
        console.print(
            f"{len(outbox.pending())} notifications still sending after {_ONCE_SEND_WAIT_S:.0f} s;"
            " the next run sends them again"
        )
    with closing(SqlStore(settings.store.url)) as store:
        record_finished(store, outbox, now=datetime.now(UTC))


_ONCE_SEND_WAIT_S = 120.0


def _cycle(
    settings: VigilConfig,
    store: Store,
    outbox: Outbox,
    out: Path,
    console: Console,
    until: datetime | None,
) -> CycleSummary:
    from vigil.pipeline.runner import run_cycle

    with console.status("running") as status:
        return run_cycle(
            config=settings,
            store=store,
            now=datetime.now(UTC),
            until=until,
            channels={},
            outbox=outbox,
            sources=list(settings.ingest.sources),
            reports_out=out,
            progress=status.update,
        )


def _seconds_until_next(period: timedelta) -> float:
    now = datetime.now(UTC).timestamp()
    step = period.total_seconds()
    return step - (now % step) + 5.0  # a little after the boundary, once the window is complete


class _Tally:
    """Cycles this ``vigil run`` process has run and skipped, for its output."""

    def __init__(self) -> None:
        self.cycles = 0
        self.skipped = 0

    def count(self, summary: CycleSummary) -> None:
        self.cycles += 1
        self.skipped += summary.skipped_locked


def _rows_line(profiling: ProfilingSummary | None) -> str:
    if profiling is None:
        return ""
    skipped = (
        f", {profiling.rows_skipped:,} of already processed windows skipped"
        if profiling.rows_skipped
        else ""
    )
    return (
        f"{profiling.rows_read:,} rows read, {profiling.rows_profiled:,} profiled, "
        f"{profiling.rows_quarantined:,} quarantined{skipped}; "
    )


def _print_unreadable(console: Console, profiling: ProfilingSummary | None) -> None:
    """Quarantined rows of no readable model, with their commonest reasons (a model's own are
    in its notes)."""
    for counts in profiling.models if profiling is not None else ():
        if counts.rows_quarantined and not counts.model:
            top = "; ".join(f"{r} ({n:,})" for r, n in counts.reasons)
            console.print(
                f"  quarantined {counts.rows_quarantined:,} rows with no readable model: {top}",
                markup=False,
            )


def _print_cycle(console: Console, summary: CycleSummary, tally: _Tally) -> None:
    if summary.skipped_locked:
        # The holder renews the lease at every stage; a holder that was killed lets it lapse.
        until = (
            f"until {summary.lease_until:%Y-%m-%d %H:%M:%S} UTC unless it renews it"
            if summary.lease_until is not None
            else "it was released just now"
        )
        console.print(
            f"another runner holds the pipeline lease of this store ({until}); skipped this "
            f"cycle ({tally.skipped} of {tally.cycles} cycles skipped so far)"
        )
        return
    for failure in summary.failures:  # the other models went on
        console.print(
            f"model {failure.model!r} failed in {failure.stage}: {failure.error}", markup=False
        )
    if not summary.windows:
        # Rows read and none profiled is the loudest news a run can have: say why.
        read = _rows_line(summary.profiling)
        console.print(f"nothing due; {read.removesuffix('; ')}" if read else "nothing due")
        _print_unreadable(console, summary.profiling)
        return
    per_window: dict[datetime, int] = {}
    for incident in summary.incidents:
        for anomaly in incident.anomalies:
            per_window[anomaly.timestamp] = per_window.get(anomaly.timestamp, 0) + 1
    for window in summary.windows:
        console.print(
            f"{window.start:%Y-%m-%d %H:%M} window done: "
            f"{per_window.get(window.start, 0)} anomalies in incidents"
        )
    profiling = summary.profiling
    rows = _rows_line(profiling)
    console.print(
        f"{len(summary.windows)} windows to {summary.windows[-1].end:%Y-%m-%d %H:%M}: {rows}"
        f"{summary.series} series, {summary.anomalies} anomalies, "
        f"{len(summary.incidents)} incidents raised or updated ({summary.open_incidents} still "
        f"open), {summary.notifications_queued} notifications queued, "
        f"{summary.notifications_sent} sent"
        + (f", {summary.notifications_failed} failed" if summary.notifications_failed else "")
    )
    for incident in sorted(summary.incidents, key=lambda i: i.opened_at):
        console.print(
            f"  [{incident.state.value}] {incident.kind.value}: {incident.summary}", markup=False
        )
    _print_unreadable(console, profiling)
    for model, notices in summary.notices.items():
        for notice in notices:
            console.print(f"  note on {model}: {notice}", markup=False)
