"""``vigil bench ingest``: rows per second read, validated and converted, JSON lines and Parquet."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import new_console


def ingest(
    rows: Annotated[
        int, typer.Option("--rows", min=1, help="Rows in the synthetic log.")
    ] = 200_000,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows per chunk.")
    ] = 50_000,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, help="Reads per timing (median).")
    ] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic log.")] = 0,
    bad_fraction: Annotated[
        float, typer.Option("--bad-fraction", help="Share of rows broken on purpose.")
    ] = 0.01,
) -> None:
    """Rows per second read, validated and converted from JSON lines and from Parquet."""
    from rich.table import Table

    from vigil.bench.ingestion import run_ingest_bench

    timings = run_ingest_bench(
        rows, chunk_rows=chunk_rows, seed=seed, repeats=repeats, bad_fraction=bad_fraction
    )
    table = Table(title=f"vigil bench ingest ({rows:,} rows, chunks of {chunk_rows:,})")
    for name in (
        "format",
        "MB",
        "rows",
        "quarantined",
        "wall s",
        "cpu s",
        "rows/s wall",
        "rows/s cpu",
    ):
        table.add_column(name, justify="left" if name == "format" else "right")
    for t in timings:
        table.add_row(
            t.format,
            f"{t.file_bytes / 1e6:,.1f}",
            f"{t.rows:,}",
            f"{t.quarantined:,}",
            f"{t.wall_s:.2f}",
            f"{t.cpu_s:.2f}",
            f"{t.rows_per_s_wall:,.0f}",
            f"{t.rows_per_s_cpu:,.0f}",
        )
    new_console().print(table)
