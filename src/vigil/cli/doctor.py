"""``vigil doctor``: find the stored objects that cannot be read, and isolate them."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.options import DEFAULT_DB, DbOption


def doctor(
    db: DbOption = DEFAULT_DB,
    isolate: Annotated[
        Path | None,
        typer.Option(
            "--isolate",
            help="Move corrupt profiles into this folder (their bytes and an index.json) and "
            "out of the store.",
        ),
    ] = None,
) -> None:
    """Decode every stored profile and read every other aggregate; report what fails.

    Exit code 0 when the store is healthy (or every corrupt profile was isolated), 1 otherwise.
    """
    from vigil.pipeline.doctor import examine_store
    from vigil.pipeline.doctor import isolate as isolate_profiles
    from vigil.store import SqlStore

    with closing(SqlStore(db)) as store:
        found = examine_store(store)
        for item in found.corrupt:
            typer.echo(f"corrupt profile: {item.reason}")
        for aggregate in found.unreadable:
            where = f" of model {aggregate.model!r}" if aggregate.model else ""
            typer.echo(f"unreadable {aggregate.aggregate}{where}: {aggregate.error}")
        typer.echo(
            f"{found.profiles_checked} profiles checked, {len(found.corrupt)} corrupt, "
            f"{len(found.unreadable)} aggregates unreadable"
        )
        if isolate is not None and found.corrupt:
            index = isolate_profiles(store, found.corrupt, out=isolate, now=datetime.now(UTC))
            typer.echo(f"isolated {len(found.corrupt)} profiles; see {index}")
    if found.unreadable or (found.corrupt and isolate is None):
        raise typer.Exit(1)
