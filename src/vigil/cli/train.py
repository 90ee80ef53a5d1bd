"""``vigil train …``: train Vigil's learned detectors (PyTorch, the ``train`` extra).

The work is the lab's: :func:`vigil.lab.training.train_recipe` trains on the corpus a recipe
names, and :func:`vigil.pipeline.gather_feedback` turns stored verdicts into labels for
fine-tuning. torch is imported only once a command runs.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import fail
from vigil.cli.options import OptionalDbOption

if TYPE_CHECKING:
    from vigil.lab import LabeledDataset

SIM_TRAIN_SEED = 1  # never the bench's seed (20240601): the simulated row stays held out

train_app = typer.Typer(help="Train Vigil's learned detectors.", no_args_is_help=True)


@train_app.command("deep")
def deep(
    out: Annotated[Path, typer.Option("--out", help="Where to write the weights (.npz).")],
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labeled data set folder to add to the corpus (repeatable)."),
    ] = None,
    simulated: Annotated[
        int, typer.Option("--simulated", help="Simulated series in the corpus (0 = none).")
    ] = 96,
    simulated_seed: Annotated[int, typer.Option("--simulated-seed")] = SIM_TRAIN_SEED,
    minute: Annotated[
        int,
        typer.Option(
            "--minute",
            help="Generated 1-/5-minute heavy-tailed series in the corpus (0 = none).",
        ),
    ] = 48,
    generated: Annotated[
        int,
        typer.Option(
            "--generated",
            help="Generated broad-corpus series: counts, proportions, heavy tails, sampling "
            "noise that follows traffic, seasons, regimes, gaps (0 = none).",
        ),
    ] = 0,
    generated_seed: Annotated[int, typer.Option("--generated-seed")] = SIM_TRAIN_SEED,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            help="A data set as vigil bench detect names it (simulated, service:1, a folder) to "
            "add to the corpus (repeatable).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for torch and sampling.")] = 7,
    window: Annotated[int, typer.Option("--window", help="Past steps stage 1 reads.")] = 32,
    hidden: Annotated[int, typer.Option("--hidden", help="Width of stage 1's layers.")] = 64,
    support: Annotated[
        bool,
        typer.Option(
            "--support/--no-support",
            help="Stage 1 reads each step's sample size n against its window's.",
        ),
    ] = False,
    omit: Annotated[int, typer.Option("--omit", help="Most recent steps left out.")] = 3,
    normalize: Annotated[str, typer.Option("--normalize", help="window or series.")] = "window",
    irregularity: Annotated[bool, typer.Option("--irregularity/--no-irregularity")] = True,
    surprise: Annotated[
        bool,
        typer.Option(
            "--surprise/--no-surprise",
            help="Stage 2 sees each step's severity against the series' own recent ones.",
        ),
    ] = True,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs per stage.")] = 6,
    rows: Annotated[
        int, typer.Option("--rows", help="Training steps sampled per stage.")
    ] = 200_000,
    from_feedback: Annotated[
        bool, typer.Option("--from-feedback", help="Fine-tune stage 2 on stored feedback.")
    ] = False,
    db: OptionalDbOption = None,
    weights: Annotated[
        Path | None, typer.Option("--weights", help="Model to fine-tune (default: shipped).")
    ] = None,
) -> None:
    """Train the two-stage deep detector (PyTorch, the "train" extra) and write its weights."""
    if from_feedback:
        _fine_tune(out, db, weights, seed)
        return
    from vigil.detect.deep import save_model
    from vigil.lab.training import TrainingRecipe, train_recipe

    started, cpu = time.perf_counter(), time.process_time()
    recipe = TrainingRecipe(
        simulated=simulated,
        simulated_seed=simulated_seed,
        minute=minute,
        generated=generated,
        generated_seed=generated_seed,
        datasets=tuple(data or ()),
        labeled=resolve_datasets(dataset or ()),
        seed=seed,
        window=window,
        hidden=hidden,
        support=support,
        omit=omit,
        normalize=normalize,
        irregularity=irregularity,
        surprise=surprise,
        epochs=epochs,
        rows=rows,
    )
    model = train_recipe(recipe, log=typer.echo)
    save_model(model, out)
    typer.echo(
        f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) in "
        f"{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU"
    )
    typer.echo(f"decision defaults: {model.decision}")


def resolve_datasets(specs: Sequence[str]) -> tuple[LabeledDataset, ...]:
    """Data sets named as ``vigil bench detect --dataset`` names them."""
    from vigil.bench.detection import resolve_dataset

    with tempfile.TemporaryDirectory(prefix="vigil-train-") as scratch:
        return tuple(
            resolve_dataset(spec, Path(scratch) / f"set{i}") for i, spec in enumerate(specs)
        )


def _fine_tune(out: Path, db: str | None, weights: Path | None, seed: int) -> None:
    from vigil.detect.deep import load_model, save_model, shipped_weights
    from vigil.lab.training import fine_tune_stage2
    from vigil.pipeline import gather_feedback
    from vigil.store import SqlStore

    if db is None:
        fail("--from-feedback needs --db URL (the store holding the feedback)")
    with closing(SqlStore(db, create=False)) as store:
        feedback = gather_feedback(store)
    if not feedback.labels:
        fail(f"no feedback with incidents in {db}: nothing to fine-tune on")
    if feedback.unmatched:
        typer.echo(
            f"{feedback.unmatched} of {feedback.labels} feedback labels match no stored series step"
        )
    base = load_model(weights or shipped_weights())
    tuned = fine_tune_stage2(base, feedback.series, seed=seed, log=typer.echo)
    save_model(tuned, out)
    typer.echo(
        f"fine-tuned stage 2 on {feedback.labels - feedback.unmatched} feedback labels; wrote {out}"
    )
