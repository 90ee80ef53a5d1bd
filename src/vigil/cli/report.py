"""``vigil report``: the holistic HTML report of one model, or the digest of all, from the store."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.options import DEFAULT_DB, ConfigOption, DbOption


def report(
    db: DbOption = DEFAULT_DB,
    model: Annotated[
        str | None, typer.Option("--model", help="One model's full report; default: a digest.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    days: Annotated[int, typer.Option(min=1, help="How many days of history to show.")] = 7,
    until: Annotated[
        str | None,
        typer.Option(help="End of the period (ISO time, UTC); default: the latest data."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write a self-contained HTML report (charts embedded; nothing loads from the network)."""
    from vigil.pipeline.config import load_config, parse_moment
    from vigil.pipeline.reports import stored_reports
    from vigil.report import render_digest, render_model_report
    from vigil.store import SqlStore

    policy = load_config(config).watch_policy()
    end = parse_moment(until) if until is not None else None
    with closing(SqlStore(db, create=False)) as store:
        reports = stored_reports(
            store, model=model, policy=policy, now=datetime.now(UTC), days=days, until=end
        )
    if model is not None:
        html = render_model_report(reports[0]).html
    else:
        html = render_digest(reports).html
    out.write_text(html, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(reports)} model{'s' if len(reports) != 1 else ''})")
