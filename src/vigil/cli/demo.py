"""``vigil demo``: simulated models with injected incidents through the whole pipeline, scored.

The clock is read here (``datetime.now``) and passed down; nothing below reads it.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import echo_json, new_console

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.lab.demo import DemoResult


def demo(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", envvar="VIGIL_DB", help="Store URL; default: a fresh SQLite file in --out."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for logs, store and reports.")] = Path(
        "vigil-demo"
    ),
    days: Annotated[int, typer.Option(min=8, help="Days of hourly logs to simulate.")] = 14,
    models: Annotated[int, typer.Option(min=1, max=20, help="Models to simulate.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 7,
    detector: Annotated[
        str,
        typer.Option(help="Detector of the health series: consensus (default), same-hour or deep."),
    ] = "consensus",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Then serve the dashboard on the demo store.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
) -> None:
    """Simulate ~20 models x 14 days of inference logs with known incidents, run the whole
    pipeline on them, write the reports, and score what was found against what was injected."""
    from vigil.lab.demo import claim_folder, run_demo

    out_console = new_console(stderr=as_json)
    claim_folder(out)  # a new, empty or earlier demo folder; anything else is refused
    if db is None:
        db = f"sqlite:///{(out / 'vigil.db').resolve()}"
    started = time.monotonic()
    with out_console.status("starting") as status:

        def progress(step: str) -> None:
            out_console.log(f"[{time.monotonic() - started:5.0f}s] {step}")
            status.update(step)

        result = run_demo(
            out=out,
            db_url=db,
            now=datetime.now(UTC),
            days=days,
            models=models,
            seed=seed,
            detector=detector,
            progress=progress,
        )
    seconds = time.monotonic() - started
    if as_json:
        echo_json(_demo_json(result, seconds), indent=None)
    else:
        _print_demo(out_console, result, seconds)
    if serve:
        _serve(db, out, port, out_console)


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

    from vigil.server import ServerSettings, create_app, uvicorn_options

    token = secrets.token_urlsafe(16)
    settings = ServerSettings(store_url=db, spool_dir=out / "spool", token=token)
    console.print(f"Dashboard on http://127.0.0.1:{port}/ (write token for this session: {token})")
    app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(app))
