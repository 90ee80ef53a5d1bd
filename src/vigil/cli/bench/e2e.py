"""``vigil bench e2e``: files to stored profiles and to alerts, whole processes, CPU seconds."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json, new_console
from vigil.cli.options import JsonOption

ShapeOption = Annotated[
    str, typer.Option(help="MODELS,HOURS,ROWS_PER_WINDOW of the data set.", metavar="M,H,R")
]


def e2e(
    repeats: Annotated[int, typer.Option(min=1, help="Runs per contender (median).")] = 3,
    large: ShapeOption = "4,24,15625",
    small: ShapeOption = "20,336,200",
    whylogs: Annotated[
        bool, typer.Option("--whylogs/--no-whylogs", help="Also time whylogs (if installed).")
    ] = True,
    seed: Annotated[int, typer.Option(help="Seed of the generated logs.")] = 0,
    workdir: Annotated[
        Path | None, typer.Option(help="Folder for the data and stores (default: a temp one).")
    ] = None,
    vigil_src: Annotated[
        Path | None,
        typer.Option(
            help="Time the Vigil in this src folder (another checkout, for a before figure).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Time vigil profile, vigil run --once, whylogs and pyarrow's read as whole processes on
    generated Parquet and JSON-lines folders, and judge issue 22's goals on the medians."""
    from rich.table import Table

    from vigil.bench.e2e import E2eResult, result_json, run_e2e_bench

    def run(folder: Path) -> E2eResult:
        return run_e2e_bench(
            work=folder,
            now=datetime.now(UTC),
            repeats=repeats,
            large=_shape(large),
            small=_shape(small),
            whylogs=whylogs,
            seed=seed,
            vigil_src=None if vigil_src is None else vigil_src.resolve(),
        )

    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="vigil-bench-e2e-") as folder:
            result = run(Path(folder))
    if as_json:
        echo_json(result_json(result))
        return
    out = new_console()
    timings = Table(title=f"vigil bench e2e: whole processes, median of {repeats}")
    for name in ("contender", "CPU s", "peak MB"):
        timings.add_column(name, justify="left" if name == "contender" else "right")
    for timing in result.timings:
        timings.add_row(timing.name, f"{timing.cpu_s:.2f}", f"{timing.max_rss_mb:.0f}")
    out.print(timings)
    goals = Table(title="goals (issue 22)")
    for name in ("goal", "measured", "target", "met"):
        goals.add_column(name, justify="left" if name == "goal" else "right")
    for goal in result.goals:
        bound = "<=" if goal.at_most else ">="
        goals.add_row(goal.name, f"{goal.value:,.3g}", f"{bound} {goal.target:,.3g}", str(goal.met))
    out.print(goals)


def _shape(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(part.strip().isdigit() for part in parts):
        raise typer.BadParameter(f"expected MODELS,HOURS,ROWS_PER_WINDOW, got {text!r}")
    models, hours, rows = (int(part) for part in parts)
    return models, hours, rows
