"""``vigil profile``, ``vigil rollup`` and ``vigil profiles``: files -> stored profiles, and a look.

Heavy imports (the pipeline, pandas, SQLAlchemy) happen inside the commands so that ``vigil
--help`` stays fast. The store URL comes from ``--db``, else the ``VIGIL_DB`` environment
variable, else ``sqlite:///vigil.db`` (flag > env > default, resolved by Typer here and nowhere
else).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.pipeline import ProfilingSummary
    from vigil.store import SqlStore

DEFAULT_DB = "sqlite:///vigil.db"

VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log one line per source and model to stderr.")
]

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="VIGIL_DB",
        help="Store URL: sqlite:///vigil.db or postgresql+psycopg://user@host/db.",
    ),
]


def profile(
    paths: Annotated[
        list[Path], typer.Argument(help="JSONL or Parquet files, or folders of them.")
    ],
    db: DbOption = DEFAULT_DB,
    window: Annotated[str, typer.Option(help="Window length: 5m, 1h, 1d...")] = "1h",
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows read per chunk (bounds memory).")
    ] = 100_000,
    verbose: VerboseOption = False,
    engine: Annotated[
        str,
        typer.Option(
            help="local (this process), or spark, dask or duckdb through Fugue "
            "(the 'spark' extra); see docs/distributed.md."
        ),
    ] = "local",
    rollup_to: Annotated[
        str | None,
        typer.Option(help="With --engine other than local: also roll up on the engine, e.g. 1d."),
    ] = None,
) -> None:
    """Profile inference logs into the store, one profile per model, version and window.

    A window's stored profile is replaced by the one built from this run's files, so re-running
    never double-counts: profile all the files of a window together.
    """
    if engine != "local" or rollup_to is not None:
        from vigil.cli.scale_commands import profile_with_engine

        profile_with_engine(
            paths,
            db=db,
            window=window,
            chunk_rows=chunk_rows,
            engine=engine,
            rollup_to=rollup_to,
            verbose=verbose,
        )
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vigil.core import VigilError, parse_duration
    from vigil.pipeline import ProfilingProgress, profile_paths
    from vigil.profile import ProfileSpec

    console = _console()
    _log_to_stderr(verbose)
    try:
        spec = ProfileSpec(window=parse_duration(window))
        with (
            _open_store(db) as store,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rows]:,} rows"),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task("profiling", total=len(paths), rows=0)

            def report(step: ProfilingProgress) -> None:
                progress.update(
                    task, completed=step.sources_done, description=step.source, rows=step.rows_read
                )

            summary = profile_paths(
                paths,
                store=store,
                spec=spec,
                now=datetime.now(UTC),
                chunk_rows=chunk_rows,
                on_progress=report,
            )
            progress.update(task, completed=len(paths))
    except (VigilError, OSError) as err:  # OSError: a file that cannot be read
        _fail(err)
    console.print(_summary_table(summary))
    console.print(f"{summary.profiles_written} profiles written to {store.display_url}")


def rollup(
    db: DbOption = DEFAULT_DB,
    to: Annotated[str, typer.Option(help="Target window length, e.g. 1d or 1w.")] = "1d",
    since: Annotated[
        str | None,
        typer.Option(help="Only windows from this ISO date or time on (UTC unless zoned)."),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Roll stored profiles up into longer windows (hours into days, by default)."""
    from vigil.core import ConfigError, VigilError, parse_duration
    from vigil.pipeline import rollup_store

    console = _console()
    _log_to_stderr(verbose)
    try:
        start = None
        if since is not None:
            try:
                start = datetime.fromisoformat(since)
            except ValueError as err:
                raise ConfigError(f"cannot read --since {since!r}; write e.g. 2026-11-20") from err
            start = start if start.tzinfo else start.replace(tzinfo=UTC)
        with _open_store(db) as store:
            summary = rollup_store(store, to=parse_duration(to), now=datetime.now(UTC), since=start)
    except VigilError as err:
        _fail(err)
    console.print(
        f"rolled {summary.profiles_read} profiles up into {summary.profiles_written} "
        f"profiles of {to}"
    )


def profiles(
    model: Annotated[str, typer.Argument(help="The model whose profiles to list.")],
    db: DbOption = DEFAULT_DB,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    last: Annotated[int, typer.Option(min=1, help="Show the latest N windows.")] = 200,
) -> None:
    """List a model's stored profiles: version, window, rows, requests, columns and size."""
    from rich.table import Table

    from vigil.core import VigilError, format_duration
    from vigil.profile import Profile

    console = _console()
    try:
        with _open_store(db) as store:
            records = store.get_profile_records(model=model, version=version)
            if not records:
                known = ", ".join(store.list_models()) or "none"
                raise VigilError(f"no profiles of model {model!r} in the store (models: {known})")
            shown = sorted(records, key=lambda r: (r.key.window.start, r.key.version))[-last:]
            table = Table(title=f"profiles of {model} ({len(shown)} of {len(records)})")
            for name in (
                "version",
                "window (UTC)",
                "length",
                "rows",
                "requests",
                "columns",
                "bytes",
            ):
                table.add_column(
                    name, justify="left" if name in ("version", "window (UTC)") else "right"
                )
            for record in shown:
                decoded = Profile.from_bytes(record.blob)
                window = record.key.window
                table.add_row(
                    record.key.version or "-",
                    window.start.strftime("%Y-%m-%d %H:%M"),
                    format_duration(window.duration),
                    f"{record.rows:,}",
                    f"{decoded.requests:,}",
                    str(len(decoded.features) + len(decoded.outputs)),
                    f"{record.size_bytes:,}",
                )
    except VigilError as err:
        _fail(err)
    console.print(table)


def _log_to_stderr(verbose: bool) -> None:
    """With ``--verbose``, show the library's INFO lines (one per source, model, rollup)."""
    if not verbose:
        return
    import logging

    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(console=Console(stderr=True), show_path=False)
    logging.basicConfig(level=logging.INFO, format="%(message)s", handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _console() -> Console:
    from rich.console import Console

    return Console()


@contextmanager
def _open_store(url: str) -> Iterator[SqlStore]:
    """Open the store at ``url`` and close it however the block ends."""
    from vigil.store import SqlStore

    store = SqlStore(url)
    try:
        yield store
    finally:
        store.close()


def _summary_table(summary: ProfilingSummary) -> object:
    from rich.table import Table

    table = Table(title=f"profiled {len(summary.sources)} source(s)")
    table.add_column("model")
    for name in ("rows read", "profiled", "quarantined"):
        table.add_column(name, justify="right")
    for counts in summary.models:
        table.add_row(
            counts.model or "(unreadable)",
            f"{counts.rows_read:,}",
            f"{counts.rows_profiled:,}",
            f"{counts.rows_quarantined:,}",
        )
    table.add_section()
    table.add_row(
        "total",
        f"{summary.rows_read:,}",
        f"{summary.rows_profiled:,}",
        f"{summary.rows_quarantined:,}",
        style="bold",
    )
    return table


def _fail(err: Exception) -> NoReturn:
    """Print ``err`` as one clear line on stderr and exit with code 1.

    Soft wrap keeps a long path in one piece for copying, and the message is text, not markup,
    so brackets in it (``[a, b]``) print as they are.
    """
    from rich.console import Console
    from rich.text import Text

    message = Text.assemble(("error:", "red"), " ", str(err))
    Console(stderr=True, soft_wrap=True).print(message, highlight=False)
    raise typer.Exit(1) from err


def bench_store(
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Scratch store URL; default: a new SQLite file in a temp folder."
        ),
    ] = None,
    rows: Annotated[int, typer.Option(min=1, help="Rows in the synthetic JSONL file.")] = 200_000,
    models: Annotated[int, typer.Option(min=1, help="Models in the file.")] = 4,
    hours: Annotated[int, typer.Option(min=1, help="Hours the file spans.")] = 48,
    points: Annotated[int, typer.Option(min=1, help="Points per series.")] = 1_000,
    series: Annotated[int, typer.Option(min=1, help="Series written.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Time files -> profiles -> store, profile reads, rollup and series writes/reads."""
    import json
    import tempfile

    from rich.table import Table

    from vigil.bench.storage import result_numbers, run_store_bench
    from vigil.core import VigilError

    console = _console()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-store-") as folder:
        url = db or f"sqlite:///{folder}/bench.db"
        try:
            result = run_store_bench(
                url,
                workdir=Path(folder),
                rows=rows,
                models=models,
                hours=hours,
                series=series,
                points=points,
            )
        except VigilError as err:
            _fail(err)
    numbers = result_numbers(result)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
        return
    table = Table(title="vigil bench store")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in numbers.items():
        text = f"{value:,.3f}" if isinstance(value, float) else str(value)
        table.add_row(name, text)
    console.print(table)
