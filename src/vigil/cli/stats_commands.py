"""``vigil stats MODEL``: the latest value of every health series, one Rich table per family.

Series come from the store when the pipeline has saved them; otherwise (or with
``--recompute``) they are computed on the spot from the stored profiles, reference period
included, so the command works right after ``vigil profile``. Drift values are coloured by size
(green / yellow / red) with the usual rules of thumb: PSI 0.1 and 0.25; KS, JS and L∞ 0.1 and
0.2; Wasserstein 0.1 and 0.5 reference standard deviations; chi-square and G as Cohen's effect
size ``w = sqrt(statistic / n)`` at 0.1 and 0.3, so a large statistic on few rows stays calm.

Heavy imports happen inside the command so ``vigil --help`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from vigil.core import SeriesKey
    from vigil.stats import Series

DEFAULT_DB = "sqlite:///vigil.db"
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
        points.append(
            LatestPoint(
                key=one.key,
                at=datetime.fromtimestamp(seconds, tz=UTC),
                value=float(one.values[step]),
                support=support,
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


def family_tables(points: Sequence[LatestPoint], *, everything: bool = False) -> list[Table]:
    """One table per family: a row per (version, column), a column per statistic."""
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
                text = _format(point.value)
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


def _parse_since(text: str | None, now: datetime) -> datetime | None:
    from vigil.core import ConfigError, ensure_utc, parse_duration

    if text is None:
        return None
    try:
        return now - parse_duration(text)
    except ConfigError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ConfigError(f"--since {text!r} is neither a duration (2d) nor an ISO time") from err
    return ensure_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def stats(
    model: Annotated[str, typer.Argument(help="The model to show.")],
    db: Annotated[
        str, typer.Option("--db", envvar="VIGIL_DB", help="Store URL (sqlite:///… or postgresql…).")
    ] = DEFAULT_DB,
    since: Annotated[
        str | None,
        typer.Option(help="Only windows from this time: an ISO time, or a duration ago (2d)."),
    ] = None,
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
    from rich.console import Console

    from vigil.core import VigilError

    console = Console()
    now = datetime.now(UTC)
    try:
        series = load_series(
            db,
            model,
            since=_parse_since(since, now),
            version=version,
            window=window,
            recompute=recompute,
        )
    except VigilError as err:
        console.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(1) from err
    points = latest_points(series)
    if not points:
        console.print(f"no series for model {model!r} in {db}; run `vigil profile` first")
        raise typer.Exit(1)
    for table in family_tables(points, everything=all_statistics):
        console.print(table)


def load_series(
    db: str,
    model: str,
    *,
    since: datetime | None,
    version: str | None,
    window: str,
    recompute: bool,
) -> list[Series]:
    """Stored series of ``model``, or series computed from its stored profiles."""
    from vigil.core import Window, parse_duration
    from vigil.stats import StatsSpec, drift_series, health_series
    from vigil.store import SqlStore

    store = SqlStore(db)
    try:
        if not recompute:
            stored = store.get_series(model=model, version=version, since=since)
            if stored:
                return stored
        spec = StatsSpec(window=parse_duration(window))
        if since is None:
            records = store.get_profile_records(model=model, version=version)
            if not records:
                return []
            since = max(r.key.window.end for r in records) - timedelta(days=1)
        start = Window.containing(spec.reference.earliest(since), spec.window).start
        profiles = store.get_profiles(model=model, version=version, start=start)
    finally:
        store.close()
    return health_series(profiles, spec, since=since) + drift_series(
        profiles, None, spec, since=since
    )


def bench_stats(
    days: Annotated[int, typer.Option(min=2, help="Days of hourly profiles.")] = 8,
    features: Annotated[int, typer.Option(min=1, help="Numeric features per record.")] = 20,
    rows: Annotated[int, typer.Option(min=10, help="Rows per hourly window.")] = 2000,
    trials: Annotated[int, typer.Option(min=1, help="KS accuracy trials.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Time health and drift series on synthetic hourly profiles; check KS against scipy."""
    import time

    import numpy as np
    from rich.console import Console
    from scipy import stats as scipy_stats

    from vigil.profile import ProfileSpec, QuantileSketch, profile_batch
    from vigil.stats import StatsSpec, drift_series, health_series, numeric_drift

    console = Console()
    rng = np.random.default_rng(seed)
    spec = ProfileSpec()
    started = time.perf_counter()
    profiles: list[Any] = []
    for hour in range(days * 24):
        batch = _synthetic_hour(rng, hour, rows, features)
        profiles.extend(profile_batch(batch, spec).values())
    profiled = time.perf_counter() - started
    stats_spec = StatsSpec()
    wall, cpu = time.perf_counter(), time.process_time()
    health = health_series(profiles, stats_spec)
    health_s, health_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    drift = drift_series(profiles, None, stats_spec)
    drift_s, drift_cpu = time.perf_counter() - wall, time.process_time() - cpu
    windows = len(profiles)
    columns = features + 4  # two categorical features, two outputs
    console.print(
        f"{windows} hourly profiles x {columns} columns x {rows} rows (profiling took "
        f"{profiled:.1f} s, not counted); times are wall (CPU)"
    )
    console.print(
        f"health_series: {len(health)} series in {health_s:.2f} s ({health_cpu:.2f} s) "
        f"= {1000 * health_s / windows:.1f} ({1000 * health_cpu / windows:.1f}) ms per window"
    )
    console.print(
        f"drift_series (same hours of the previous 7 days): {len(drift)} series in "
        f"{drift_s:.2f} s ({drift_cpu:.2f} s) = {1000 * drift_s / (windows * columns):.2f} "
        f"({1000 * drift_cpu / (windows * columns):.2f}) ms per column-window"
    )
    psi = np.concatenate([s.values for s in drift if s.key.statistic == "psi"])
    ks = np.concatenate([s.values for s in drift if s.key.statistic == "ks"])
    psi, ks = psi[~np.isnan(psi)], ks[~np.isnan(ks)]
    console.print(
        f"no-drift data: PSI median {np.median(psi):.4f}, p99 {np.quantile(psi, 0.99):.4f}, "
        f"share > 0.1: {np.mean(psi > 0.1):.4f}; KS median {np.median(ks):.4f}, "
        f"p99 {np.quantile(ks, 0.99):.4f}"
    )
    errors, bounds = [], []
    for _ in range(trials):
        shift = float(rng.uniform(0.0, 1.0))
        cur, ref = rng.normal(shift, 1.0, 100_000), rng.normal(0.0, 1.0, 100_000)
        sketched = numeric_drift(
            QuantileSketch.empty(spec.kll_k).update(cur),
            QuantileSketch.empty(spec.kll_k).update(ref),
        )[0]
        errors.append(abs(sketched.value - scipy_stats.ks_2samp(cur, ref).statistic))
        bounds.append(sketched.sketch_error)
    g_p, ks_p = [], []
    for _ in range(trials):
        same = numeric_drift(
            QuantileSketch.empty(spec.kll_k).update(rng.normal(0.0, 1.0, 40_000)),
            QuantileSketch.empty(spec.kll_k).update(rng.normal(0.0, 1.0, 40_000)),
        )
        ks_p.append(same[0].p_value)
        g_p.append(same[3].p_value)
    console.print(
        f"p-values on identical distributions (40k vs 40k rows, {trials} trials): G-test median "
        f"{np.median(g_p):.2f}, min {min(g_p):.3f}; KS median {np.median(ks_p):.2f}, "
        f"min {min(ks_p):.3f}"
    )
    console.print(
        f"KS from KLL k={spec.kll_k} vs scipy.ks_2samp on 100k+100k rows, {trials} trials: "
        f"max error {max(errors):.4f}, mean {np.mean(errors):.4f}, stated bound {bounds[0]:.4f}"
    )


def _synthetic_hour(rng: Any, hour: int, rows: int, features: int) -> Any:
    """One hour of records: numeric features with a daily rhythm, two categories, two scores."""
    import numpy as np
    import pyarrow as pa

    from vigil.core import ValueKind
    from vigil.ingest import META_SCHEMA, Column, RecordBatch

    start_us = int((datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=hour)).timestamp() * 1e6)
    daily = math.sin(2 * math.pi * (hour % 24) / 24)
    meta = pa.table(
        {
            "model": pa.array(["bench"] * rows, pa.string()),
            "version": pa.array(["v1"] * rows, pa.string()),
            "timestamp": pa.array(
                start_us + rng.integers(0, 3_600_000_000, rows), pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.array([f"r{hour}-{i}" for i in range(rows)], pa.string()),
            "host": pa.nulls(rows, pa.string()),
            "event": pa.array(["prediction"] * rows, pa.string()),
            "latency_ms": pa.array(rng.lognormal(2.0, 0.5, rows), pa.float64()),
            "label": pa.nulls(rows, pa.float64()),
        },
        schema=META_SCHEMA,
    )

    def category(choices: list[str]) -> Column:
        return Column(
            kinds=np.full(rows, ValueKind.STRING, dtype=np.int8),
            numbers=np.full(rows, np.nan),
            texts=pa.array(rng.choice(choices, rows).tolist(), pa.string()),
        )

    numeric = {
        f"f{i:02d}": Column.from_numbers(rng.normal(daily * i / 10, 1.0 + i / 10, rows))
        for i in range(features)
    }
    return RecordBatch(
        meta=meta,
        features={
            **numeric,
            "country": category(["DE", "FR", "US", "JP", "BR"]),
            "device": category(["ios", "android", "web"]),
        },
        outputs={
            "score": Column.from_numbers(rng.beta(2, 5, rows)),
            "ranked.length": Column.from_numbers(rng.integers(1, 20, rows)),
        },
    )
