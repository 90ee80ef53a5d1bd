"""Commands for the profile stage: ``vigil bench profile``."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def bench_profile(
    rows: Annotated[int, typer.Option("--rows", help="Rows in the synthetic frame.")] = 1_000_000,
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per timing (median).")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic frame.")] = 0,
    whylogs: Annotated[
        bool, typer.Option("--whylogs/--no-whylogs", help="Also time whylogs (if installed).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Profiling throughput against whylogs and a numpy floor, profile size, rank error, merges."""
    from rich.console import Console
    from rich.table import Table

    from vigil.bench.profiling import result_json, run_profile_bench
    from vigil.core import VigilError

    try:
        result = run_profile_bench(rows, seed=seed, repeats=repeats, with_whylogs=whylogs)
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    numbers = result_json(result)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
        return
    table = Table(title=f"vigil bench profile ({result.rows:,} rows, median of {repeats})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in numbers.items():
        if value is None:
            text = "n/a"
        elif isinstance(value, float):
            text = f"{value:,.4f}" if abs(value) < 1 else f"{value:,.1f}"
        else:
            text = f"{value:,}"
        table.add_row(name, text)
    Console().print(table)
