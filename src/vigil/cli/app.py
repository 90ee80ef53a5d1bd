"""The ``vigil`` command line: Typer commands over the pipeline, bench and server layers.

Only this layer installs a logging handler (through Rich); the library never configures logging.
Each command lives in a module named for what it works on; this module only assembles them.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="vigil",
    help="Vigil: health monitoring for machine-learning models in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print measured numbers.", no_args_is_help=True)
simulate_app = typer.Typer(help="Generate labeled synthetic data.", no_args_is_help=True)
train_app = typer.Typer(help="Train Vigil's learned detectors.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(simulate_app, name="simulate")
app.add_typer(train_app, name="train")

from vigil.cli import detection_commands  # noqa: E402  (light: imports happen inside commands)

simulate_app.command("series")(detection_commands.simulate_series)
bench_app.command("detect")(detection_commands.bench_detect)

from vigil.cli import sdk_commands  # noqa: E402

bench_app.command("sdk")(sdk_commands.bench_sdk)

from vigil.cli import profiling_commands  # noqa: E402

bench_app.command("profile")(profiling_commands.bench_profile)

from vigil.cli import profiling_cli  # noqa: E402

app.command("profile")(profiling_cli.profile)
app.command("rollup")(profiling_cli.rollup)
app.command("profiles")(profiling_cli.profiles)
bench_app.command("store")(profiling_cli.bench_store)

from vigil.cli import stats_commands  # noqa: E402

app.command("stats")(stats_commands.stats)
bench_app.command("stats")(stats_commands.bench_stats)

from vigil.cli import ingest_commands  # noqa: E402

bench_app.command("ingest")(ingest_commands.bench_ingest)

from vigil.cli import server_commands  # noqa: E402

app.command("serve")(server_commands.serve)
bench_app.command("server")(server_commands.bench_server)
bench_app.command("load")(server_commands.bench_load)

from vigil.cli import realtime_commands  # noqa: E402

bench_app.command("realtime")(realtime_commands.bench_realtime)

from vigil.cli import realtime_wiring_commands  # noqa: E402

bench_app.command("realtime-feed")(realtime_wiring_commands.bench_realtime_feed)

from vigil.cli import forecasting_commands  # noqa: E402

bench_app.command("deepar")(forecasting_commands.bench_deepar)


from vigil.cli import pipeline_commands  # noqa: E402

app.command("demo")(pipeline_commands.demo)
app.command("run")(pipeline_commands.run)

from vigil.cli import report_commands  # noqa: E402

app.command("report")(report_commands.report)

from vigil.cli import deep_commands  # noqa: E402

train_app.command("deep")(deep_commands.train_deep)
bench_app.command("deep")(deep_commands.bench_deep)
bench_app.command("deep-speed")(deep_commands.bench_deep_speed)


from vigil.cli import scale_commands  # noqa: E402

bench_app.command("scale")(scale_commands.bench_scale)


@app.command()
def version() -> None:
    """Print Vigil's version."""
    from vigil import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
