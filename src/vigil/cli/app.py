"""The ``vigil`` app: it assembles the command modules and nothing else (see :mod:`vigil.cli`)."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli import (
    demo,
    doctor,
    incidents,
    profile,
    profiles,
    report,
    rollup,
    run,
    serve,
    stats,
)
from vigil.cli.bench import bench_app
from vigil.cli.console import ReportingGroup
from vigil.cli.simulate import simulate_app
from vigil.cli.train import train_app

app = typer.Typer(
    name="vigil",
    help="Vigil: health monitoring for machine-learning models in production.",
    cls=ReportingGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from vigil import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def vigil(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Vigil: health monitoring for machine-learning models in production."""


app.command("profile")(profile.profile)
app.command("rollup")(rollup.rollup)
app.command("profiles")(profiles.profiles)
app.command("stats")(stats.stats)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.command("report")(report.report)
app.command("incidents")(incidents.incidents)
app.command("doctor")(doctor.doctor)
app.add_typer(bench_app, name="bench")
app.add_typer(simulate_app, name="simulate")
app.add_typer(train_app, name="train")


@app.command()
def version() -> None:
    """Print Vigil's version."""
    from vigil import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
