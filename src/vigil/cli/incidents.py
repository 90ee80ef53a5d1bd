"""``vigil incidents``: the stored incidents, newest first, as a table or as JSON."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import echo_json, fail, new_console
from vigil.cli.options import DEFAULT_DB, DbOption, JsonOption, SinceOption, parse_since

if TYPE_CHECKING:
    from vigil.incidents import Incident


def incidents(
    db: DbOption = DEFAULT_DB,
    model: Annotated[str | None, typer.Option(help="Only this model's incidents.")] = None,
    state: Annotated[
        str | None, typer.Option(help="Only incidents in this state: open or resolved.")
    ] = None,
    since: SinceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List incidents: id, model, version, state, kind, when opened and resolved, summary.

    With --json, a list of objects with id, model, version, state, kind, opened_at,
    resolved_at, summary, series, features and attribution. --since keeps the incidents still
    live then or opened after it."""
    from vigil.core import ConfigError
    from vigil.incidents import IncidentState, incident_record
    from vigil.store import SqlStore

    known = {s.value: s for s in IncidentState}
    if state is not None and state not in known:
        fail(f"--state must be open or resolved, got {state!r}")
    states = None if state is None else {known[state]}
    try:
        after = parse_since(since, datetime.now(UTC))
    except ConfigError as err:
        fail(err)
    with closing(SqlStore(db, create=False)) as store:
        found = store.incidents.get(model=model, states=states)
    shown = [
        i
        for i in sorted(found, key=lambda i: (i.opened_at, i.id), reverse=True)
        if after is None or i.resolved_at is None or i.resolved_at >= after
    ]
    if as_json:
        echo_json([incident_record(i) for i in shown])
        return
    _print(shown)


def _print(shown: list[Incident]) -> None:
    from rich.table import Table

    table = Table(title=f"{len(shown)} incident{'s' if len(shown) != 1 else ''}")
    for name in ("id", "model", "version", "state", "kind", "opened (UTC)", "summary"):
        table.add_column(name, overflow="fold")
    for incident in shown:
        table.add_row(
            incident.id,
            incident.model,
            incident.version or "-",
            incident.state.value,
            incident.kind.value,
            incident.opened_at.strftime("%Y-%m-%d %H:%M"),
            incident.summary,
        )
    new_console().print(table)
