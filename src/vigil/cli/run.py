"""``vigil run``: every due window through the whole pipeline, once or on a schedule.

This module parses, loops and prints; :mod:`vigil.pipeline.cycles` runs each cycle. The clock is
read here (``datetime.now``) and passed down; nothing below reads it. So are the secrets of the
alert channels (``password_env`` names an environment variable).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import new_console, report_error
from vigil.cli.options import ConfigOption, OptionalDbOption, channel_secrets

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.pipeline.profiling import ProfilingSummary
    from vigil.pipeline.runner import CycleSummary


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
    from vigil.pipeline.cycles import CycleRunner, seconds_until_next, serve_metrics

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

    def clock() -> datetime:
        return datetime.now(UTC)

    metrics = None
    if metrics_port is not None:
        metrics = serve_metrics(settings, host=metrics_host, port=metrics_port, clock=clock)
        out.print(f"metrics on http://{metrics_host}:{metrics_port}/metrics")
    runner = CycleRunner(
        settings,
        outbox=outbox,
        reports_out=reports or Path(settings.report.out),
        clock=clock,
        metrics=metrics,
    )
    tally = _Tally()
    while True:
        # Once is a replay: to the data's end. Looping watches live traffic: to the clock.
        live = None if once else clock()
        try:
            with out.status("running") as status:
                summary = runner.cycle(until=stop or live, progress=status.update)
        except VigilError as err:
            if once:
                raise
            report_error(f"the cycle failed; the next one runs on schedule: {err}")
        else:
            tally.count(summary)
            _print_cycle(out, summary, tally)
        if once:
            still = runner.finish_sends()
            if still:
                out.print(f"{still} notifications still sending; the next run sends them again")
            return
        time.sleep(seconds_until_next(period, now=clock()))


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
