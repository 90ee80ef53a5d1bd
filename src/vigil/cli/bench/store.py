"""``vigil bench store``: files -> profiles -> store, profile reads, rollup, series writes/reads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json, new_console
from vigil.cli.options import JsonOption


def store(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Scratch store URL; default: a new SQLite file in a temp folder."
        ),
    ] = None,
    rows: Annotated[int, typer.Option(min=1, help="Rows in the synthetic JSONL file.")] = 200_000,
    models: Annotated[int, typer.Option(min=1, help="Models in the file.")] = 4,
    hours: Annotated[int, typer.Option(min=1, help="Hours the file spans.")] = 48,
    points: Annotated[int, typer.Option(min=1, help="Points per series.")] = 1_000,
    series: Annotated[int, typer.Option(min=1, help="Series written.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Time files -> profiles -> store, profile reads, rollup and series writes/reads."""
    from rich.table import Table

    from vigil.bench.storage import result_numbers, run_store_bench

    with tempfile.TemporaryDirectory(prefix="vigil-bench-store-") as folder:
        result = run_store_bench(
            db or f"sqlite:///{folder}/bench.db",
            workdir=Path(folder),
            rows=rows,
            models=models,
            hours=hours,
            series=series,
            points=points,
        )
    numbers = result_numbers(result)
    if as_json:
        echo_json(numbers)
        return
    table = Table(title="vigil bench store")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in numbers.items():
        text = f"{value:,.3f}" if isinstance(value, float) else str(value)
        table.add_row(name, text)
    new_console().print(table)
