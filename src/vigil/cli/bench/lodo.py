"""``vigil bench lodo``: the default detector's settings chosen leave one data set out."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import JsonOption


def lodo(
    datasets: Annotated[
        str,
        typer.Option(
            "--datasets",
            help="Comma-separated data sets, as for bench detect --dataset (at least two).",
        ),
    ],
    fpr: Annotated[float, typer.Option("--fpr", help="Target false-alarm rate.")] = 0.001,
    workers: Annotated[int, typer.Option("--workers", help="Processes scoring series.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """F1 of every consensus configuration per set; per left-out set, the one best on the rest."""
    from vigil.bench.detection import check_fprs
    from vigil.bench.lodo import format_table, run_lodo

    check_fprs([fpr])
    specs = [s.strip() for s in datasets.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="vigil-lodo-") as scratch:
        result = run_lodo(specs, Path(scratch), fpr=fpr, workers=workers)
    if as_json:
        echo_json(result.to_json())
        return
    typer.echo(
        f"event F1 at fpr {fpr}; last row: per left-out set, the configuration with the best "
        "mean on the other sets, scored on the one left out"
    )
    typer.echo(format_table(result))
