"""``vigil profiles MODEL``: a look at a model's stored profiles, one row per window."""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

import typer

from vigil.cli.console import fail, new_console
from vigil.cli.options import DEFAULT_DB, DbOption


def profiles(
    model: Annotated[str, typer.Argument(help="The model whose profiles to list.")],
    db: DbOption = DEFAULT_DB,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    last: Annotated[int, typer.Option(min=1, help="Show the latest N windows.")] = 200,
) -> None:
    """List a model's stored profiles: version, window, rows, requests, columns and size."""
    from rich.table import Table

    from vigil.core import format_duration
    from vigil.profile import ProfileSummary
    from vigil.store import SqlStore

    with closing(SqlStore(db, create=False)) as store:
        records = store.profiles.records(model=model, version=version)
        if not records:
            known = ", ".join(store.profiles.models()) or "none"
            fail(f"no profiles of model {model!r} in the store (models: {known})")
    shown = sorted(records, key=lambda r: (r.key.window.start, r.key.version))[-last:]
    table = Table(title=f"profiles of {model} ({len(shown)} of {len(records)})")
    for name in ("version", "window (UTC)", "length", "rows", "requests", "columns", "bytes"):
        table.add_column(name, justify="left" if name in ("version", "window (UTC)") else "right")
    for record in shown:
        summary = ProfileSummary.from_bytes(record.blob)
        window = record.key.window
        table.add_row(
            record.key.version or "-",
            window.start.strftime("%Y-%m-%d %H:%M"),
            format_duration(window.duration),
            f"{record.rows:,}",
            f"{summary.requests:,}",
            str(summary.columns),
            f"{record.size_bytes:,}",
        )
    new_console().print(table)
