"""``vigil profile``: files -> stored profiles, in this process or on Spark, Dask or DuckDB.

Engines are named here and built in :mod:`vigil.pipeline.distributed`; Spark takes its master
from ``spark-submit`` (or ``PYSPARK_SUBMIT_ARGS``) when one is given, else runs ``local[*]``.
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import log_to_stderr, new_console, source_progress
from vigil.cli.options import DEFAULT_DB, ConfigOption, DbOption, VerboseOption

if TYPE_CHECKING:
    from rich.table import Table

    from vigil.pipeline import ProfilingSummary


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
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment",
            help="Also profile per value of this tag, e.g. region (repeatable; as [profile] "
            "segments).",
        ),
    ] = None,
    max_segment_values: Annotated[
        int, typer.Option(min=1, help="Per --segment tag, values kept; the rest in (other).")
    ] = 20,
    config: ConfigOption = None,
) -> None:
    """Profile inference logs into the store, one profile per model, version and window.

    A window's stored profile is replaced by the one built from this run's files, so re-running
    never double-counts: profile all the files of a window together. With ``--config``, its
    ``[ingest]`` section applies (limits, and ``[ingest.fields]`` for logs of another shape),
    on every engine.
    """
    from vigil.core import ConfigError, parse_duration
    from vigil.ingest import DEFAULT_LIMITS
    from vigil.pipeline import profile_paths
    from vigil.profile import ProfileSpec
    from vigil.store import SqlStore

    out = new_console()
    log_to_stderr(verbose)
    if engine == "local" and rollup_to is not None:
        raise ConfigError("--rollup-to needs --engine spark, dask or duckdb; use vigil rollup")
    spec = ProfileSpec(
        window=parse_duration(window),
        segments=tuple(segment or ()),
        max_segment_values=max_segment_values,
    )
    limits = DEFAULT_LIMITS
    if config is not None:
        from vigil.pipeline.config import load_config

        limits = load_config(config).ingest_limits()
    with closing(SqlStore(db)) as store:
        if engine == "local":
            with source_progress(out, len(paths)) as progress:
                summary = profile_paths(
                    paths,
                    store=store,
                    spec=spec,
                    now=datetime.now(UTC),
                    chunk_rows=chunk_rows,
                    on_progress=progress.update,
                    limits=limits,
                )
        else:
            from vigil.pipeline.distributed import profile_on_engine

            with out.status(f"profiling on {engine}"):
                summary = profile_on_engine(
                    paths,
                    engine=engine,
                    store=store,
                    spec=spec,
                    now=datetime.now(UTC),
                    chunk_rows=chunk_rows,
                    rollup_to=None if rollup_to is None else parse_duration(rollup_to),
                    limits=limits,
                )
    out.print(_summary_table(summary))
    out.print(f"{summary.profiles_written} profiles written to {store.display_url}")


def _summary_table(summary: ProfilingSummary) -> Table:
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
