"""``vigil stats MODEL``: the latest value of every health series, one Rich table per family.

A value whose statistic has a standard error (a mean, a rate, a quantile: see
:mod:`vigil.stats.standard_errors`) is printed with it, ``55.71 ±0.56``.

Series come from the store when the pipeline has saved them; otherwise (or with
``--recompute``) they are computed on the spot from the stored profiles, reference period
included, so the command works right after ``vigil profile``. Drift values are coloured by size
(green / yellow / red) with the usual rules of thumb: PSI 0.1 and 0.25; KS, JS and L∞ 0.1 and
0.2; Wasserstein 0.1 and 0.5 reference standard deviations; chi-square and G as Cohen's effect
size ``w = sqrt(statistic / n)`` at 0.1 and 0.3, so a large statistic on few rows stays calm.

Heavy imports happen inside the command so ``vigil --help`` stays fast; the series come from
:func:`vigil.pipeline.series_of_model`, and this module only chooses what to print and how.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import fail, new_console
from vigil.cli.options import DEFAULT_DB, DbOption, SinceOption, parse_since

if TYPE_CHECKING:
    from rich.table import Table

    from vigil.core import SeriesKey
    from vigil.stats import Series

QUALITY = ("missing", "new", "constant", "type_changed")
CURATED: dict[str, tuple[str, ...]] = {
    "feature": ("mean", "std", "p50", "p99", "null_rate", "coverage", "distinct", "top_share"),
    "output": ("mean", "std", "p50", "p95", "share_above_*", "coverage", "drift_ks", "drift_psi"),
    "auxiliary": (
        "rows",
        "requests",
        "traffic_ratio",
        "latency_p50",
        "latency_p99",
        "quarantine_rate",
        "late",
        "duplicates",
    ),
    "drift": ("ks", "psi", "js", "wasserstein_std", "chi2", "linf"),
}
# (green below, red from) per drift statistic; effect-size statistics are judged as w.
DRIFT_BANDS: dict[str, tuple[float, float]] = {
    "psi": (0.1, 0.25),
    "ks": (0.1, 0.2),
    "js": (0.1, 0.2),
    "linf": (0.1, 0.2),
    "wasserstein_std": (0.1, 0.5),
    "chi2": (0.1, 0.3),
    "g_test": (0.1, 0.3),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LatestPoint:
    """The last non-NaN point of one series."""

    key: SeriesKey
    at: datetime
    value: float
    support: float
    stderr: float = math.nan
    """The value's standard error when the statistic has one (NaN: none, or unknown)."""


def latest_points(series: Sequence[Series]) -> list[LatestPoint]:
    """The newest non-NaN point of each series (series with none are left out)."""
    import numpy as np

    points = []
    for one in series:
        filled = np.flatnonzero(~np.isnan(one.values))
        if filled.size == 0:
            continue
        step = int(filled[-1])
        seconds = int(one.timestamps[step].astype("datetime64[s]").astype(np.int64))
        support = math.nan if one.support is None else float(one.support[step])
        stderr = math.nan if one.stderr is None else float(one.stderr[step])
        points.append(
            LatestPoint(
                key=one.key,
                at=datetime.fromtimestamp(seconds, tz=UTC),
                value=float(one.values[step]),
                support=support,
                stderr=stderr,
            )
        )
    return points


def drift_style(statistic: str, value: float, support: float) -> str:
    """Rich style of a drift value: green, yellow or red by size (no style when unknown)."""
    name = statistic.removeprefix("drift_")
    bands = DRIFT_BANDS.get(name)
    if bands is None or math.isnan(value):
        return ""
    if name in ("chi2", "g_test"):
        if not support > 0:
            return ""
        value = math.sqrt(max(value, 0.0) / support)
    low, high = bands
    return "green" if value < low else "yellow" if value < high else "bold red"


def _columns_for(family: str, statistics: set[str], everything: bool) -> list[str]:
    if everything:
        return sorted(statistics)
    chosen: list[str] = []
    for wanted in CURATED.get(family, ()):
        if wanted.endswith("*"):
            chosen.extend(sorted(s for s in statistics if s.startswith(wanted[:-1])))
        elif wanted in statistics:
            chosen.append(wanted)
    return chosen


def _format(value: float) -> str:
    if math.isnan(value):
        return "–"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def _cell(point: LatestPoint) -> str:
    """The value, with ``±`` its standard error when it has one: a mean of 5 rows and one of
    5,000 read alike otherwise."""
    text = _format(point.value)
    if math.isfinite(point.stderr) and point.stderr > 0 and math.isfinite(point.value):
        return f"{text} ±{point.stderr:.2g}"  # two significant digits: an error's own error
    return text


def family_tables(points: Sequence[LatestPoint], *, everything: bool = False) -> list[Table]:
    """One table per family: a row per (version, column), a column per statistic, each value
    with its standard error where the statistic has one."""
    from rich.table import Table

    tables = []
    for family in ("feature", "output", "drift", "auxiliary"):
        mine = [p for p in points if p.key.family == family]
        if not mine:
            continue
        cells = {(p.key.version, p.key.column, p.key.statistic): p for p in mine}
        columns = _columns_for(family, {p.key.statistic for p in mine}, everything)
        latest = max(p.at for p in mine)
        title = f"{family} (latest window {latest:%Y-%m-%d %H:%M} UTC)"
        table = Table(title=title, min_width=len(title) + 4)  # a title never wraps
        table.add_column("version")
        table.add_column("column" if family != "auxiliary" else "")
        for name in columns:
            table.add_column(name, justify="right")
        if family == "drift":
            table.add_column("n", justify="right")
        if family in ("feature", "output"):
            table.add_column("signals")
        for version, column in sorted({(p.key.version, p.key.column) for p in mine}):
            row = [version, column]
            for name in columns:
                point = cells.get((version, column, name))
                if point is None:
                    row.append("")
                    continue
                style = drift_style(name, point.value, point.support)
                text = _cell(point)
                row.append(f"[{style}]{text}[/]" if style else text)
            if family == "drift":
                supports = [
                    p.support for p in mine if (p.key.version, p.key.column) == (version, column)
                ]
                row.append(_format(min(supports)) if supports else "")
            if family in ("feature", "output"):
                raised = [
                    q for q in QUALITY if (c := cells.get((version, column, q))) and c.value == 1
                ]
                row.append(f"[bold red]{', '.join(raised)}[/]" if raised else "")
            table.add_row(*row)
        tables.append(table)
    return tables


def stats(
    model: Annotated[str, typer.Argument(help="The model to show.")],
    db: DbOption = DEFAULT_DB,
    since: SinceOption = None,
    version: Annotated[str | None, typer.Option(help="Only this version.")] = None,
    window: Annotated[str, typer.Option(help="Series step when computing: 1h, 1d…")] = "1h",
    recompute: Annotated[
        bool, typer.Option(help="Compute from stored profiles even if series are stored.")
    ] = False,
    all_statistics: Annotated[
        bool, typer.Option("--all", help="Every statistic, not the usual few.")
    ] = False,
) -> None:
    """Print the latest value of each health and drift series of MODEL, per family."""
    from vigil.core import parse_duration
    from vigil.pipeline import series_of_model
    from vigil.stats import StatsSpec
    from vigil.store import SqlStore

    spec = StatsSpec(window=parse_duration(window))
    start = parse_since(since, datetime.now(UTC))
    with closing(SqlStore(db, create=False)) as store:
        series = series_of_model(
            store, model, spec=spec, since=start, version=version, recompute=recompute
        )
    points = latest_points(series)
    if not points:
        fail(f"no series for model {model!r} in {db}; run `vigil profile` first")
    out = new_console()
    for table in family_tables(points, everything=all_statistics):
        out.print(table)
