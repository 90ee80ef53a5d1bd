"""``vigil simulate …``: labeled synthetic data, written to files for the bench or for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

simulate_app = typer.Typer(help="Generate labeled synthetic data.", no_args_is_help=True)


@simulate_app.command("series")
def series(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one CSV per series into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same files.")] = 0,
    count: Annotated[int, typer.Option("--count", help="Number of series.")] = 48,
) -> None:
    """Generate labeled model-health series (timestamp,value,label CSVs) with injected incidents."""
    from vigil.lab.labeled import write_labeled_csvs
    from vigil.lab.simulation.series import simulate_series

    simulated = simulate_series(seed=seed, count=count)
    written = write_labeled_csvs(simulated, out)
    events = sum(len(s.windows) for s in simulated)
    quiet = sum(1 for s in simulated if not s.windows)
    typer.echo(f"wrote {len(written)} series ({events} incidents, {quiet} without) to {out}")
