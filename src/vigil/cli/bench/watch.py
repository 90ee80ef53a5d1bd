"""``vigil bench watch``: raw request logs with six known incidents, replayed and scored."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vigil.cli.console import echo_json, new_console

if TYPE_CHECKING:
    from rich.console import Console


def watch(
    seed: Annotated[list[int], typer.Option("--seed", help="Seed of the logs (repeat it).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep logs and store here (default: a temp dir).")
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(help="Detector of the watch ([detect] detector; default: the default one)."),
    ] = None,
    shape: Annotated[
        str,
        typer.Option(
            help="raw (Vigil's record, one completion line per request) or foreign (nested, "
            "renamed fields, a fast host clock, late lines, read through [ingest.fields] and "
            "replayed to the end of the data)."
        ),
    ] = "raw",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Generate raw logs for each seed (one completion line per request, six incidents of six
    kinds), replay them through one cycle, and say per injected incident: found, delay in
    windows, kind, feature or host named; and the false incidents."""
    from vigil.bench.watch import check_json, run_watch_check
    from vigil.pipeline.config import parse_config

    config = parse_config({"detect": {"detector": detector}} if detector else {})
    console = new_console(stderr=as_json)
    results = []
    for one in seed:
        with tempfile.TemporaryDirectory() as scratch:
            folder = (out / f"seed-{one}") if out is not None else Path(scratch)
            with console.status(f"seed {one}") as status:
                check = run_watch_check(
                    folder, seed=one, config=config, shape=shape, progress=status.update
                )
            results.append(check_json(check))
        if not as_json:
            _print(console, results[-1])
    if as_json:
        echo_json(results)


def _print(console: Console, result: dict[str, Any]) -> None:
    from rich.table import Table

    title = (
        f"seed {result['seed']}, {result['shape']} logs, {result['detector']}: "
        f"{result['found']} of {result['injected']}"
    )
    table = Table(title=f"{title} found")
    for column in ("model", "injected", "subject", "found", "delay", "kind found", "named"):
        table.add_column(column)
    for row in result["incidents"]:
        table.add_row(
            row["model"],
            row["kind"],
            row["subject"] or "-",
            "yes" if row["found"] else "[red]no[/red]",
            "" if row["delay_windows"] is None else str(row["delay_windows"]),
            row["kind_found"],
            "yes" if row["subject_named"] else "no",
        )
    console.print(table)
    false = result["false_incidents"]
    console.print(f"false incidents: {len(false)}")
    for incident in false:
        console.print(
            f"  {incident['model']} {incident['kind']}: {incident['summary']}", markup=False
        )
