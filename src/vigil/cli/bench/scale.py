"""``vigil bench scale``: profiling rows/s locally and on Spark (same data), and detection speed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json, new_console
from vigil.cli.options import JsonOption


def scale(
    rows: Annotated[int, typer.Option(min=1, help="Rows of generated Parquet logs.")] = 2_000_000,
    models: Annotated[int, typer.Option(min=1, help="Models in the logs.")] = 20,
    hours: Annotated[int, typer.Option(min=1, help="Hours the logs span.")] = 24,
    spark_master: Annotated[
        str, typer.Option(help="Spark master for the Spark run; 'none' skips Spark.")
    ] = "local[2]",
    series: Annotated[int, typer.Option(min=1, help="Series for the detection timing.")] = 10_000,
    points: Annotated[int, typer.Option(min=2, help="Points per series (720 = 30 days).")] = 720,
    detectors: Annotated[str, typer.Option(help="Comma-separated detectors to time.")] = "zscore",
    workdir: Annotated[
        Path | None, typer.Option(help="Folder for the generated data (default: a temp folder).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Profiling rows/s with the local engine and on Spark (same data), and detection speed."""
    from rich.table import Table

    from vigil.bench.scale import result_json, run_scale_bench

    master = None if spark_master.lower() == "none" else spark_master
    with tempfile.TemporaryDirectory(prefix="vigil-bench-scale-", dir=workdir) as folder:
        result = run_scale_bench(
            Path(folder),
            rows=rows,
            models=models,
            hours=hours,
            series=series,
            points=points,
            detectors=[name.strip() for name in detectors.split(",") if name.strip()],
            spark_master=master,
        )
    numbers = result_json(result)
    if as_json:
        echo_json(numbers)
        return
    table = Table(title=f"vigil bench scale ({rows:,} rows, {models} models, {result.cpus} CPUs)")
    for name in ("what", "wall s", "rate"):
        table.add_column(name, justify="left" if name == "what" else "right")
    for run in numbers["profiling"]:
        table.add_row(
            f"profile on {run['engine']}", str(run["wall_s"]), f"{run['rows_per_s']:,} rows/s"
        )
    for run in numbers["detection"]:
        table.add_row(
            f"detect {run['detector']} ({run['series']:,} x {run['points']})",
            str(run["wall_s"]),
            f"{run['series_per_s']:,} series/s",
        )
    out = new_console()
    out.print(table)
    if result.spark_startup_s is not None:
        out.print(f"Spark session start + warm-up: {result.spark_startup_s:.1f} s (not in rates)")
