"""``vigil report``: the holistic HTML report of one model, or the digest of all, from the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer


def report(
    db: Annotated[
        str, typer.Option("--db", envvar="VIGIL_DB", help="Store URL (SQLite or PostgreSQL).")
    ] = "sqlite:///vigil.db",
    model: Annotated[
        str | None, typer.Option("--model", help="One model's full report; default: a digest.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    days: Annotated[int, typer.Option(min=1, help="How many days of history to show.")] = 7,
) -> None:
    """Write a self-contained HTML report (charts embedded; nothing loads from the network)."""
    from vigil.core import VigilError
    from vigil.pipeline.reports import model_report
    from vigil.report import render_digest, render_model_report
    from vigil.store import SqlStore

    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    try:
        store = SqlStore(db)
        try:
            models = [model] if model is not None else store.list_models()
            if model is not None and model not in store.list_models():
                raise VigilError(f"no model {model!r} in the store; known: {store.list_models()}")
            reports = []
            for name in models:
                anomalies = store.get_anomalies(model=name, since=since)
                reports.append(
                    model_report(
                        name,
                        series=store.get_series(model=name, since=since),
                        incidents=store.get_incidents(model=name),
                        anomalies=anomalies,
                        now=now,
                        # Bands of the detector that watched the model ([detect] detector).
                        detector="deep"
                        if any(a.detector == "deep" for a in anomalies)
                        else "same-hour",
                    )
                )
        finally:
            store.close()
    except VigilError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    if model is not None:
        html = render_model_report(reports[0]).html
    else:
        html = render_digest(reports).html
    out.write_text(html, encoding="utf-8")
    typer.echo(f"wrote {out} ({len(reports)} model{'s' if len(reports) != 1 else ''})")
