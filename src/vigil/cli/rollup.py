"""``vigil rollup``: stored profiles merged into longer windows (hours into days, by default)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Annotated

import typer

from vigil.cli.console import log_to_stderr, new_console
from vigil.cli.options import DEFAULT_DB, DbOption, SinceOption, VerboseOption, parse_since


def rollup(
    db: DbOption = DEFAULT_DB,
    to: Annotated[str, typer.Option(help="Target window length, e.g. 1d or 1w.")] = "1d",
    since: SinceOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Roll stored profiles up into longer windows (hours into days, by default)."""
    from vigil.core import parse_duration
    from vigil.pipeline import rollup_store
    from vigil.store import SqlStore

    out = new_console()
    log_to_stderr(verbose)
    now = datetime.now(UTC)
    start = parse_since(since, now)
    with closing(SqlStore(db)) as store:
        summary = rollup_store(store, to=parse_duration(to), now=now, since=start)
    out.print(
        f"rolled {summary.profiles_read} profiles up into {summary.profiles_written} "
        f"profiles of {to}"
    )
