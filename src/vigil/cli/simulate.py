"""``vigil simulate …``: labeled synthetic data, written to files for the bench or for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

simulate_app = typer.Typer(help="Generate labeled synthetic data.", no_args_is_help=True)

FAMILIES = ("service", "business", "marketplace", "payments", "simulated")


@simulate_app.command("series")
def series(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one CSV per series into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same files.")] = 0,
    count: Annotated[int, typer.Option("--count", help="Number of series.")] = 48,
    family: Annotated[
        str,
        typer.Option(
            "--family",
            help="service, business, marketplace or payments (statistics computed from "
            "simulated raw rows per step, with their sample size n and standard error se), or "
            "simulated (the older "
            "smooth generator of bench detect --dataset simulated).",
        ),
    ] = "service",
) -> None:
    """Generate labeled model-health series (timestamp,value,label[,n][,se] CSVs) with incidents."""
    from vigil.core import ConfigError
    from vigil.lab.labeled import write_labeled_csvs
    from vigil.lab.simulation.rows import simulate_rows
    from vigil.lab.simulation.series import simulate_series

    if family not in FAMILIES:
        raise ConfigError(f"unknown --family {family!r}; known: {', '.join(FAMILIES)}")
    if family == "simulated":
        simulated = simulate_series(seed=seed, count=count)
    else:
        simulated = list(simulate_rows(family, seed=seed, count=count).series)
    written = write_labeled_csvs(simulated, out)
    events = sum(len(s.windows) for s in simulated)
    quiet = sum(1 for s in simulated if not s.windows)
    typer.echo(f"wrote {len(written)} series ({events} incidents, {quiet} without) to {out}")
