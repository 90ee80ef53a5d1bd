"""Simulated inference logs for the demo: a small platform of models with known incidents.

``simulate_platform`` builds hourly logs for ~20 models over ~14 days — realistic features
(numeric, categorical, boolean), scores, latency per host, versions and rollouts — and injects
the kinds of production incidents the seeds' case studies describe: a schema change that shifts
many features at once, a feature that becomes the same for every request, a missing feature, a
traffic stop and a traffic drop, a latency regression on one host, a score shift after a version
rollout, and a null-rate spike. The first week is always clean so detectors have history.

Everything is vectorized numpy and deterministic given the seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError

HOUR = timedelta(hours=1)
MODEL_NAMES = (
    "ranker",
    "fraud-scorer",
    "churn",
    "eta",
    "search-rank",
    "ctr-predictor",
    "recommender",
    "pricing",
    "spam-filter",
    "credit-risk",
    "demand-forecast",
    "image-tagger",
    "intent",
    "ltv",
    "ad-bidder",
    "moderation",
    "routing",
    "upsell",
    "toxicity",
    "anomaly-score",
)
COUNTRIES = np.array(["US", "DE", "FR", "GB", "IN", "BR", "JP", "CA", "ES", "IT", "MX", "NL"])
DEVICES = np.array(["ios", "android", "web", "tablet"])
PLANS = np.array(["free", "basic", "pro"])


@dataclass(frozen=True, slots=True, kw_only=True)
class InjectedIncident:
    """A problem put into the logs on purpose, with when it starts and ends."""

    model: str
    kind: str
    start: datetime
    end: datetime
    detail: str
    version: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelShape:
    """How one simulated model's traffic and features look."""

    name: str
    base_rate: int
    numeric: tuple[str, ...]
    hosts: int
    rollout_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedPlatform:
    root: Path
    start: datetime
    end: datetime
    rows: int
    models: tuple[str, ...]
    injected: tuple[InjectedIncident, ...] = field(default_factory=tuple)


def demo_incidents(start: datetime) -> tuple[InjectedIncident, ...]:
    """The incidents the demo injects (all after the first clean week)."""

    def at(day: int, hour: int) -> datetime:
        return start + timedelta(days=day, hours=hour)

    return (
        InjectedIncident(
            model="ranker",
            kind="schema_change",
            start=at(9, 10),
            end=at(10, 22),
            detail="6 numeric features arrive in different units (x1000)",
        ),
        InjectedIncident(
            model="fraud-scorer",
            kind="constant_feature",
            start=at(8, 6),
            end=at(9, 12),
            detail="feature f_account_age is 0 for every request",
        ),
        InjectedIncident(
            model="churn",
            kind="missing_feature",
            start=at(10, 12),
            end=at(11, 12),
            detail="feature plan is missing from every request",
        ),
        InjectedIncident(
            model="eta",
            kind="traffic_stop",
            start=at(11, 2),
            end=at(11, 8),
            detail="no requests for 6 hours",
        ),
        InjectedIncident(
            model="search-rank",
            kind="latency_regression",
            start=at(9, 14),
            end=at(10, 0),
            detail="host search-rank-h2 is 6x slower",
        ),
        InjectedIncident(
            model="ctr-predictor",
            kind="score_shift",
            start=at(10, 9),
            end=at(11, 5),
            version="v2",
            detail="version v2 rolled out with scores shifted up by 0.3",
        ),
        InjectedIncident(
            model="recommender",
            kind="traffic_drop",
            start=at(12, 9),
            end=at(12, 17),
            detail="traffic down to 15%",
        ),
        InjectedIncident(
            model="pricing",
            kind="null_spike",
            start=at(7, 14),
            end=at(8, 2),
            detail="feature f_distance is null in 60% of requests",
        ),
    )


def incidents_within(start: datetime, end: datetime) -> tuple[InjectedIncident, ...]:
    """The demo's incidents as far as the simulated period ``[start, end)`` holds them.

    The schedule fills 13 days; a shorter demo injects only what starts before ``end``, cut at
    ``end``, so nothing it scores against lies in the future of the data it simulated.
    """
    return tuple(
        replace(incident, end=min(incident.end, end))
        for incident in demo_incidents(start)
        if incident.start < end
    )


def simulate_platform(
    root: Path,
    *,
    start: datetime,
    days: int = 14,
    models: int = 20,
    seed: int = 7,
    rate_scale: float = 1.0,
) -> SimulatedPlatform:
    """Write Hive-partitioned Parquet logs under ``root`` and return what was injected."""
    if days < 8:
        raise ConfigError(f"the demo needs at least 8 days (one clean week first), got {days}")
    if not 1 <= models <= len(MODEL_NAMES):
        raise ConfigError(f"models must be within 1..{len(MODEL_NAMES)}, got {models}")
    rng = np.random.default_rng(seed)
    end = start + timedelta(days=days)
    shapes = [_shape(name, rng, start, rate_scale) for name in MODEL_NAMES[:models]]
    injected = tuple(i for i in incidents_within(start, end) if i.model in MODEL_NAMES[:models])
    rows = 0
    for shape in shapes:
        incidents = [i for i in injected if i.model == shape.name]
        for day in range(days):
            day_start = start + timedelta(days=day)
            for version, table in _day_tables(shape, day_start, incidents, rng):
                folder = (
                    root
                    / f"model={shape.name}"
                    / f"version={version}"
                    / (f"date={day_start:%Y-%m-%d}")
                )
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(table, folder / "part-0.parquet")
                rows += table.num_rows
    return SimulatedPlatform(
        root=root,
        start=start,
        end=end,
        rows=rows,
        models=tuple(s.name for s in shapes),
        injected=injected,
    )


def _shape(name: str, rng: np.random.Generator, start: datetime, scale: float) -> ModelShape:
    count = int(rng.integers(6, 11))
    numeric = tuple(f"f_{i}" for i in range(count))
    extra = {"fraud-scorer": ("f_account_age",), "pricing": ("f_distance",)}.get(name, ())
    rollout = start + timedelta(days=10, hours=9) if name == "ctr-predictor" else None
    return ModelShape(
        name=name,
        base_rate=max(20, int(rng.integers(120, 400) * scale)),
        numeric=numeric + extra,
        hosts=int(rng.integers(3, 6)),
        rollout_at=rollout,
    )


def _hourly_counts(shape: ModelShape, day_start: datetime, rng: np.random.Generator) -> np.ndarray:
    hours = np.arange(24)
    diurnal = 1.0 + 0.6 * np.sin(2 * np.pi * (hours - 9) / 24)
    weekend = 0.75 if day_start.weekday() >= 5 else 1.0
    return rng.poisson(shape.base_rate * diurnal * weekend)


def _day_tables(
    shape: ModelShape,
    day_start: datetime,
    incidents: list[InjectedIncident],
    rng: np.random.Generator,
) -> Iterator[tuple[str, pa.Table]]:
    counts = _hourly_counts(shape, day_start, rng)
    hour_starts = [day_start + h * HOUR for h in range(24)]
    for incident in incidents:
        for h, moment in enumerate(hour_starts):
            if incident.start <= moment < incident.end:
                if incident.kind == "traffic_stop":
                    counts[h] = 0
                elif incident.kind == "traffic_drop":
                    counts[h] = int(counts[h] * 0.15)
    n = int(counts.sum())
    offsets = np.concatenate(
        [
            h * 3_600_000_000 + np.sort(rng.integers(0, 3_600_000_000, size=c))
            for h, c in enumerate(counts)
        ]
    ).astype(np.int64)
    start_us = int(day_start.timestamp() * 1_000_000)
    timestamps = start_us + offsets
    columns = _features(shape, n, rng)
    score = _score(columns, rng)
    latency = rng.lognormal(np.log(25.0), 0.35, size=n)
    host_index = rng.integers(0, shape.hosts, size=n)
    versions = np.full(n, "v1", dtype=object)
    if shape.rollout_at is not None:
        rolled = timestamps >= int(shape.rollout_at.timestamp() * 1_000_000)
        versions[rolled & (rng.random(n) < 0.5)] = "v2"
    for incident in incidents:
        inside = (timestamps >= int(incident.start.timestamp() * 1e6)) & (
            timestamps < int(incident.end.timestamp() * 1e6)
        )
        _inject(incident, inside, columns, score, latency, host_index, versions, rng)
    hosts = np.array([f"{shape.name}-h{i}" for i in range(shape.hosts)])[host_index]
    for version in sorted(set(versions.tolist())):
        rows = versions == version
        table = {
            "model": pa.array(np.full(int(rows.sum()), shape.name)),
            "version": pa.array(np.full(int(rows.sum()), version)),
            "timestamp": pa.array(timestamps[rows], type=pa.timestamp("us", tz="UTC")),
            "request_id": pa.array(
                [f"{shape.name}-{t}-{i}" for i, t in enumerate(timestamps[rows])]
            ),
            "host": pa.array(hosts[rows]),
            "event": pa.array(np.full(int(rows.sum()), "prediction")),
            "latency_ms": pa.array(latency[rows]),
            "outputs.score": pa.array(score[rows]),
        }
        for name, values in columns.items():
            table[f"features.{name}"] = pa.array(_masked(values, rows))
        table["tags.region"] = pa.array(rng.choice(["eu", "us", "apac"], size=int(rows.sum())))
        yield version, pa.table(table)


def _features(shape: ModelShape, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(shape.numeric):
        kind = index % 3
        if name == "f_account_age":
            columns[name] = rng.gamma(2.0, 200.0, size=n).round()
        elif kind == 0:
            columns[name] = rng.normal(50.0 + 10 * index, 5.0 + index, size=n)
        elif kind == 1:
            columns[name] = rng.lognormal(1.0 + 0.1 * index, 0.5, size=n)
        else:
            columns[name] = rng.poisson(3 + index, size=n).astype(np.float64)
    columns["country"] = rng.choice(COUNTRIES, size=n, p=_zipf(len(COUNTRIES)))
    columns["device"] = rng.choice(DEVICES, size=n, p=[0.4, 0.35, 0.2, 0.05])
    columns["plan"] = rng.choice(PLANS, size=n, p=[0.6, 0.3, 0.1])
    columns["is_returning"] = rng.random(n) < 0.7
    return columns


def _score(columns: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    logit = 0.03 * (columns["f_0"] - 50.0) + 0.8 * columns["is_returning"] - 0.5
    logit = logit + rng.normal(0.0, 0.6, size=len(logit))
    return 1.0 / (1.0 + np.exp(-logit))


def _inject(
    incident: InjectedIncident,
    inside: np.ndarray,
    columns: dict[str, np.ndarray],
    score: np.ndarray,
    latency: np.ndarray,
    host_index: np.ndarray,
    versions: np.ndarray,
    rng: np.random.Generator,
) -> None:
    if not inside.any():
        return
    if incident.kind == "schema_change":
        for name in [c for c in columns if c.startswith("f_")][:6]:
            columns[name] = np.where(inside, columns[name] * 1000.0, columns[name])
    elif incident.kind == "constant_feature":
        columns["f_account_age"] = np.where(inside, 0.0, columns["f_account_age"])
    elif incident.kind == "missing_feature":
        plan = columns["plan"].astype(object)
        plan[inside] = None
        columns["plan"] = plan
    elif incident.kind == "latency_regression":
        latency[inside & (host_index == 2)] *= 6.0
    elif incident.kind == "score_shift":
        shifted = inside & (versions == incident.version)
        score[shifted] = np.clip(score[shifted] + 0.3, 0.0, 1.0)
    elif incident.kind == "null_spike":
        distance = columns["f_distance"].astype(object)
        distance[inside & (rng.random(len(inside)) < 0.6)] = None
        columns["f_distance"] = distance


def _masked(values: np.ndarray, rows: np.ndarray) -> list[object] | np.ndarray:
    selected: np.ndarray = values[rows]
    return selected.tolist() if selected.dtype == object else selected


def _zipf(size: int) -> np.ndarray:
    weights: np.ndarray = 1.0 / np.arange(1, size + 1)
    shares: np.ndarray = weights / weights.sum()
    return shares


def utc_midnight(days_ago: int, now: datetime) -> datetime:
    """Midnight UTC ``days_ago`` days before ``now`` (the demo ends at today's midnight)."""
    moment = now.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
