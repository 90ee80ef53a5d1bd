"""``vigil demo`` and ``vigil run``: the whole pipeline from the command line.

The clock is read here (``datetime.now``) and passed down; nothing below reads it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console

    from vigil.alert import Channel
    from vigil.lab.demo import DemoResult
    from vigil.pipeline.config import VigilConfig
    from vigil.pipeline.runner import CycleSummary
    from vigil.store import SqlStore


def demo(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Store URL; default: a fresh SQLite file in --out."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for logs, store and reports.")] = Path(
        "vigil-demo"
    ),
    days: Annotated[int, typer.Option(min=8, help="Days of hourly logs to simulate.")] = 14,
    models: Annotated[int, typer.Option(min=1, max=20, help="Models to simulate.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
    detector: Annotated[
        str,
        typer.Option(help="Detector of the health series: same-hour (default) or deep."),
    ] = "same-hour",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the dashboard on the demo store.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Simulate ~20 models x 14 days of inference logs with known incidents, run the whole
    pipeline on them, write the reports, and score what was found against what was injected."""
    from vigil.core import VigilError
    from vigil.lab.demo import run_demo

    console = _console(stderr=as_json)
    if db is None:
        _reset(out)  # the demo owns this folder: a second run starts clean, never double-counts
        db = f"sqlite:///{(out / 'vigil.db').resolve()}"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with console.status("starting") as status:
            result = run_demo(
                out=out,
                db_url=db,
                now=datetime.now(UTC),
                days=days,
                models=models,
                seed=seed,
                detector=detector,
                progress=lambda step: _step(console, status, step, started),
            )
    except VigilError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1) from err
    seconds = time.monotonic() - started
    if as_json:
        typer.echo(json.dumps(_demo_json(result, seconds)))
    else:
        _print_demo(console, result, seconds)
    if serve:
        _serve(db, out, port, console)


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

    from vigil.core import VigilError, parse_duration
    from vigil.pipeline.config import load_config
    from vigil.store import SqlStore

    console = _console(stderr=False)
    try:
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
        out = reports or Path(settings.report.out)
        tally = _Tally()
        while True:
            store = SqlStore(settings.store.url)
            try:
                summary = _cycle(settings, store, channels, out, console)
            finally:
                store.close()
            tally.count(summary)
            _print_cycle(console, summary, tally)
            if once:
                return
            time.sleep(_seconds_until_next(period))
    except VigilError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1) from err


def _cycle(
    settings: VigilConfig,
    store: SqlStore,
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


def _step(console: Console, status: object, step: str, started: float) -> None:
    elapsed = time.monotonic() - started
    console.log(f"[{elapsed:5.0f}s] {step}")
    status.update(step)  # type: ignore[attr-defined]


def _demo_json(result: DemoResult, seconds: float) -> dict[str, object]:
    score = result.score
    return {
        "injected": score.injected,
        "detected": score.detected,
        "true_positives": score.true_positives,
        "false_alarms": score.false_alarms,
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
        "report": str(result.report),
        "rows": result.platform.rows,
        "seconds": round(seconds, 1),
    }


def _print_demo(console: Console, result: DemoResult, seconds: float) -> None:
    from rich.table import Table

    table = Table(title="Injected incidents vs what Vigil found")
    for column in ("model", "injected problem", "from", "to", "found", "delay"):
        table.add_column(column)
    incidents = {i.id: i for i in result.cycle.incidents}
    for match in result.score.matches:
        truth = match.injected
        found = "; ".join(incidents[i].summary for i in match.detected[:2]) or "[red]missed[/red]"
        delay = "" if match.delay is None else f"{match.delay.total_seconds() / 3600:.0f}h"
        table.add_row(
            truth.model,
            truth.detail,
            f"{truth.start:%m-%d %H:%M}",
            f"{truth.end:%m-%d %H:%M}",
            found,
            delay,
        )
    console.print(table)
    score = result.score
    console.print(
        f"{result.platform.rows:,} rows of {len(result.platform.models)} models in {seconds:.0f}s. "
        f"Injected {score.injected}, found {score.true_positives} (recall {score.recall:.2f}); "
        f"{score.detected} incidents raised, {score.false_alarms} matching nothing injected "
        f"(precision {score.precision:.2f})."
    )
    console.print(f"Reports: {result.report}")


def _serve(db: str, out: Path, port: int, console: Console) -> None:
    import uvicorn

    from vigil.server import ServerSettings, create_app

    token = secrets.token_urlsafe(16)
    settings = ServerSettings(store_url=db, spool_dir=out / "spool", token=token)
    console.print(f"Dashboard on http://127.0.0.1:{port}/ (write token for this session: {token})")
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def _reset(out: Path) -> None:
    for name in ("vigil.db", "vigil.db-wal", "vigil.db-shm"):
        (out / name).unlink(missing_ok=True)
    for name in ("logs", "reports", "spool"):
        shutil.rmtree(out / name, ignore_errors=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    return Console(stderr=stderr)
