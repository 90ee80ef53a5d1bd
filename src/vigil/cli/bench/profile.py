"""``vigil bench profile``: profiling throughput, profile size, rank error and merge cost."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import echo_json, new_console
from vigil.cli.options import JsonOption


def profile(
    rows: Annotated[int, typer.Option("--rows", help="Rows in the synthetic frame.")] = 1_000_000,
    repeats: Annotated[int, typer.Option("--repeats", help="Runs per timing (median).")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic frame.")] = 0,
    whylogs: Annotated[
        bool, typer.Option("--whylogs/--no-whylogs", help="Also time whylogs (if installed).")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Profiling throughput against whylogs and a numpy floor, profile size, rank error, merges."""
    from rich.table import Table

    from vigil.bench.profiling import result_json, run_profile_bench

    result = run_profile_bench(rows, seed=seed, repeats=repeats, with_whylogs=whylogs)
    numbers = result_json(result)
    if as_json:
        echo_json(numbers)
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
    new_console().print(table)
