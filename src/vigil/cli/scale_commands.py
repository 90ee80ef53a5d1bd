"""``vigil profile --engine …`` and ``vigil bench scale``: profiling on Spark, Dask or DuckDB.

Engines are named here and built in :mod:`vigil.pipeline.distributed`; Spark takes its master
from ``spark-submit`` (or ``PYSPARK_SUBMIT_ARGS``) when one is given, else runs ``local[*]``.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def profile_with_engine(
    paths: list[Path],
    *,
    db: str,
    window: str,
    chunk_rows: int,
    engine: str,
    rollup_to: str | None,
    verbose: bool,
) -> None:
    """The ``vigil profile`` body for ``--engine spark|dask|duckdb``: same output as local."""
    from vigil.cli.profiling_cli import (
        _console,
        _fail,
        _log_to_stderr,
        _open_store,
        _summary_table,
    )
    from vigil.core import ConfigError, VigilError, parse_duration
    from vigil.pipeline.distributed import profile_on_engine
    from vigil.profile import ProfileSpec

    console = _console()
    _log_to_stderr(verbose)
    try:
        if engine == "local":
            raise ConfigError("--rollup-to needs --engine spark, dask or duckdb; use vigil rollup")
        spec = ProfileSpec(window=parse_duration(window))
        with _open_store(db) as store, console.status(f"profiling on {engine}"):
            summary = profile_on_engine(
                paths,
                engine=engine,
                store=store,
                spec=spec,
                now=datetime.now(UTC),
                chunk_rows=chunk_rows,
                rollup_to=None if rollup_to is None else parse_duration(rollup_to),
            )
    except (VigilError, OSError) as err:
        _fail(err)
    console.print(_summary_table(summary))
    console.print(f"{summary.profiles_written} profiles written to {store.display_url}")


def bench_scale(
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Profiling rows/s with the local engine and on Spark (same data), and detection speed."""
    from rich.console import Console
    from rich.table import Table

    from vigil.bench.scale import result_json, run_scale_bench
    from vigil.core import VigilError

    master = None if spark_master.lower() == "none" else spark_master
    try:
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
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    numbers = result_json(result)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
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
    Console().print(table)
    if result.spark_startup_s is not None:
        Console().print(
            f"Spark session start + warm-up: {result.spark_startup_s:.1f} s (not in rates)"
        )
