"""``vigil bench deep-lodo``: the deep model trained without each data set, scored on it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import JsonOption
from vigil.cli.train import SIM_TRAIN_SEED


def deep_lodo(
    datasets: Annotated[
        str,
        typer.Option(
            "--datasets",
            help="Comma-separated data sets, as for bench detect --dataset (at least two).",
        ),
    ],
    generated: Annotated[
        int, typer.Option("--generated", help="Generated broad-corpus series.")
    ] = 240,
    generated_seed: Annotated[int, typer.Option("--generated-seed")] = SIM_TRAIN_SEED,
    simulated: Annotated[
        int, typer.Option("--simulated", help="Older simulated series (vigil simulate series).")
    ] = 0,
    minute: Annotated[int, typer.Option("--minute", help="Older minute-level series.")] = 0,
    window: Annotated[int, typer.Option("--window", help="Past steps stage 1 reads.")] = 32,
    hidden: Annotated[int, typer.Option("--hidden")] = 64,
    support: Annotated[
        bool, typer.Option("--support/--no-support", help="Stage 1 reads each step's n.")
    ] = True,
    epochs: Annotated[int, typer.Option("--epochs")] = 6,
    rows: Annotated[int, typer.Option("--rows")] = 200_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    fpr: Annotated[float, typer.Option("--fpr", help="Target false-alarm rate.")] = 0.001,
    as_json: JsonOption = False,
) -> None:
    """Train deep on generated data alone, and with all sets but one; judge each left-out set."""
    from vigil.bench.deep_lodo import format_table, run_deep_lodo
    from vigil.bench.detection import check_fprs
    from vigil.lab.training import TrainingRecipe

    check_fprs([fpr])
    specs = [s.strip() for s in datasets.split(",") if s.strip()]
    recipe = TrainingRecipe(
        simulated=simulated,
        simulated_seed=SIM_TRAIN_SEED,
        minute=minute,
        generated=generated,
        generated_seed=generated_seed,
        seed=seed,
        window=window,
        hidden=hidden,
        support=support,
        omit=3,
        normalize="window",
        irregularity=True,
        surprise=True,
        epochs=epochs,
        rows=rows,
    )
    log = (lambda _: None) if as_json else typer.echo
    with tempfile.TemporaryDirectory(prefix="vigil-deep-lodo-") as scratch:
        result = run_deep_lodo(specs, Path(scratch), recipe=recipe, fpr=fpr, log=log)
    if as_json:
        echo_json(result.to_json())
        return
    typer.echo(f"event F1 at fpr {fpr}; recipe: {result.recipe}")
    typer.echo(f"shipped weights: {result.shipped}")
    typer.echo(format_table(result))
