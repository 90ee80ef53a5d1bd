"""``vigil run``: every due window through the whole pipeline, once or on a schedule.

The clock is read here (``datetime.now``) and passed down; nothing below reads it. So are the
secrets of the alert channels (``password_env`` names an environment variable).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import new_console

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.alert import Channel
    from vigil.pipeline.config import VigilConfig
    from vigil.pipeline.runner import CycleSummary
    from vigil.store import Store


def run(
    config: Annotated[
        Path | None, typer.Option("--config", help="vigil.toml; defaults apply without one.")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", envvar="VIGIL_DB", help="Store URL (overrides config).")
    ] = None,
    window: Annotated[
        str | None, typer.Option(help="Window length, e.g. 1h (overrides config).")
    ] = None,
    every: Annotated[str, typer.Option(help="How often to run a cycle.")] = "1h",
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Write HTML reports here.")
    ] = None,
) -> None:
    """Run every due window through ingest, profile, stats, detect, incidents and alerts;
    catch up missed windows in order; repeat every ``--every``. Safe to re-run or kill."""
    import os

    from vigil.core import parse_duration
    from vigil.pipeline.config import load_config
    from vigil.store import SqlStore

    out = new_console()
    settings = load_config(config)
    overrides: dict[str, object] = {}
    if db is not None:
        overrides["store"] = settings.store.model_copy(update={"url": db})
    if window is not None:
        overrides["profile"] = settings.profile.model_copy(update={"window": window})
    settings = settings.model_copy(update=overrides)
    period = parse_duration(every)
    names = [getattr(c, "password_env", None) for c in settings.channels]
    secrets_env = {name: os.environ.get(name, "") for name in names if name}
    channels = settings.build_channels(secrets_env)
    reports_out = reports or Path(settings.report.out)
    tally = _Tally()
    while True:
        with closing(SqlStore(settings.store.url)) as store:
            summary = _cycle(settings, store, channels, reports_out, out)
        tally.count(summary)
        _print_cycle(out, summary, tally)
        if once:
            return
        time.sleep(_seconds_until_next(period))


def _cycle(
    settings: VigilConfig,
    store: Store,
    channels: Mapping[str, Channel],
    out: Path,
    console: Console,
) -> CycleSummary:
    from vigil.pipeline.runner import run_cycle

    with console.status("running") as status:
        return run_cycle(
            config=settings,
            store=store,
            now=datetime.now(UTC),
            channels=channels,
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
    if not summary.windows:
        console.print("nothing due")
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
    rows = (
        f"{profiling.rows_read:,} rows read, {profiling.rows_profiled:,} profiled, "
        f"{profiling.rows_quarantined:,} quarantined"
        + (
            f", {profiling.rows_skipped:,} of already processed windows skipped"
            if profiling.rows_skipped
            else ""
        )
        + "; "
        if profiling is not None
        else ""
    )
    console.print(
        f"{len(summary.windows)} windows to {summary.windows[-1].end:%Y-%m-%d %H:%M}: {rows}"
        f"{summary.series} series, {summary.anomalies} anomalies, "
        f"{summary.open_incidents} open incidents, {summary.notifications_sent} notifications sent"
        + (f", {summary.notifications_failed} failed" if summary.notifications_failed else "")
    )
