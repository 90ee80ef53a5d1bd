"""Calm request logs: nothing happens, so every incident raised on them is a false alarm.

The shapes are the ones a monitor meets in production and is easily fooled by, drawn afresh
for every seed, none of them fitted to Vigil's tests: heavy tails (Student's t, Pareto
amounts, zero-inflated spend), two-humped and count features, rare flags and sparse features
that are absent from a quiet hour by chance, high-cardinality categories, a feature that
follows the hour of the day, and traffic from a handful to thousands of requests an hour with
a daily cycle and quieter weekends. Rows are Parquet, one file per model and day, in Hive
folders (``model=/version=/date=``), each row a ``prediction`` with features, a score,
latency and host.

What stays fixed over the days is the generating process; what a day's sample shows moves
with its size, as real traffic does. Vigil's watch should raise nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError

HOUR_US = 3_600_000_000
_Rng = np.random.Generator
_Feature = Callable[[_Rng, int, np.ndarray], pa.Array]
"""Values of one feature for ``n`` rows at the given hours of the day."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CalmLogs:
    root: Path
    start: datetime
    end: datetime
    rows: int
    models: tuple[str, ...]
    features: dict[str, tuple[str, ...]]
    """Per model, the shape of each feature, in column order (``shape:name``)."""


def simulate_calm_logs(
    root: Path, *, start: datetime, days: int, seed: int, models: int = 3
) -> CalmLogs:
    """Write ``models`` models' calm logs for ``days`` days from ``start`` under ``root``."""
    if days < 1 or models < 1:
        raise ConfigError(f"calm logs need days and models >= 1, got {days}, {models}")
    rng = np.random.default_rng(seed)
    rows = 0
    names = tuple(f"calm-{m}" for m in range(models))
    shapes: dict[str, tuple[str, ...]] = {}
    for model in names:
        # From a handful to thousands of requests an hour, log-uniformly.
        peak = float(np.exp(rng.uniform(np.log(15.0), np.log(2_500.0))))
        trough = rng.uniform(0.1, 0.6)
        weekend = rng.uniform(0.4, 1.0)
        crest = rng.uniform(10.0, 20.0)
        features = _draw_features(rng)
        shapes[model] = tuple(f"{shape}:{name}" for name, (shape, _) in features.items())
        for day in range(days):
            moment = start + timedelta(days=day)
            hours = np.arange(24)
            cycle = trough + (1 - trough) * (1 + np.cos((hours - crest) / 24 * 2 * np.pi)) / 2
            factor = weekend if moment.weekday() >= 5 else 1.0
            counts = rng.poisson(peak * cycle * factor)
            table = _day(rng, model, int(moment.timestamp()) * 1_000_000, counts, features)
            folder = root / f"model={model}" / "version=v1" / f"date={moment.date().isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, folder / "part-0.parquet")
            rows += table.num_rows
    return CalmLogs(
        root=root,
        start=start,
        end=start + timedelta(days=days),
        rows=rows,
        models=names,
        features=shapes,
    )


def _day(
    rng: _Rng,
    model: str,
    day_us: int,
    counts: np.ndarray,
    features: dict[str, tuple[str, _Feature]],
) -> pa.Table:
    n = int(counts.sum())
    hour = np.repeat(np.arange(24), counts)
    stamps = day_us + hour * HOUR_US + rng.integers(0, HOUR_US, n)
    order = np.argsort(stamps, kind="stable")
    stamps, hour = stamps[order], hour[order]
    columns: dict[str, pa.Array] = {
        "model": pa.array([model] * n, pa.string()),
        "version": pa.array(["v1"] * n, pa.string()),
        "event": pa.array(["prediction"] * n, pa.string()),
        "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "request_id": pa.array([f"{model}-{day_us}-{i}" for i in range(n)], pa.string()),
        "host": pa.array(np.array(list("abcdef"), dtype=object)[rng.integers(0, 6, n)]),
        "latency_ms": pa.array(
            rng.lognormal(3.0, 0.6, n) + rng.exponential(300.0, n) * (rng.random(n) < 0.005)
        ),
    }
    for name, (_, make) in features.items():
        columns[f"features.{name}"] = make(rng, n, hour)
    columns["outputs.score"] = pa.array(rng.beta(0.6, 3.0, n))
    return pa.table(columns)


def _draw_features(rng: _Rng) -> dict[str, tuple[str, _Feature]]:
    """Eight features, each of a shape from the palette, with parameters of this seed."""
    palette = _palette(rng)
    chosen = rng.choice(len(palette), size=8, replace=False)
    return {f"f{i}": palette[int(k)] for i, k in enumerate(chosen)}


def _palette(rng: _Rng) -> list[tuple[str, _Feature]]:
    df = rng.uniform(2.5, 6.0)
    alpha = rng.uniform(1.5, 3.0)
    zero = rng.uniform(0.3, 0.9)
    flag = rng.uniform(0.02, 0.3)
    present = rng.uniform(0.05, 0.5)
    distinct = int(rng.integers(20, 2_000))
    skew = rng.uniform(1.1, 1.6)
    left = rng.uniform(0.1, 0.5)
    words = np.array([f"w{i}" for i in range(distinct)], dtype=object)

    def student(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(r.standard_t(df, n))

    def amount(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(np.round(r.pareto(alpha, n) * 25.0, 2))

    def spend(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(np.where(r.random(n) < zero, 0.0, r.gamma(1.5, 40.0, n)))

    def humps(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(np.where(r.random(n) < left, r.normal(-4, 1, n), r.normal(3, 0.5, n)))

    def count(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(r.negative_binomial(2, 0.1, n).astype(np.float64))

    def rare_flag(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(r.random(n) < flag)

    def sparse(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(
            np.where(r.random(n) < present, r.normal(5, 1, n), np.nan), from_pandas=True
        )

    def category(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(words[np.minimum(r.zipf(skew, n), distinct) - 1])

    def by_hour(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(np.sin(hour / 24 * 2 * np.pi) + r.normal(0, 0.5, n))

    def uniform(r: _Rng, n: int, hour: np.ndarray) -> pa.Array:
        return pa.array(r.uniform(0, 1, n))

    return [
        ("student_t", student),
        ("pareto_amount", amount),
        ("zero_inflated", spend),
        ("two_humps", humps),
        ("counts", count),
        ("rare_flag", rare_flag),
        ("sparse", sparse),
        ("zipf_category", category),
        ("hour_of_day", by_hour),
        ("uniform", uniform),
    ]
