"""A labeled benchmark of model-health series: what Vigil's detectors face in production.

Each series is one health statistic of a served model (traffic, p99 latency, a feature's null
rate, a feature's mean, the mean prediction) at hourly or daily granularity over 2-6 months.
They carry what real ones carry: daily and weekly cycles, trend, holidays, and noise whose size
follows traffic (a p99 over 40 rows is noisier than over 4,000). Incidents are injected after
the first fifth of each series, so the probationary prefix stays clean, and labeled point-wise:
every step whose value the incident changed; each window keeps its incident kind. About one
series in five has no incident, to measure false alarms.

Everything derives from one ``numpy`` generator seeded by the caller: same seed, same files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vigil.core import ConfigError, SeriesKey
from vigil.lab.labeled import LabeledSeries, runs
from vigil.stats.series import Series

KINDS = ("traffic", "latency_p99", "null_rate", "feature_mean", "prediction_mean")
INCIDENTS: dict[str, tuple[str, ...]] = {
    "traffic": ("spike", "level_shift", "traffic_drop", "traffic_stop", "variance_change"),
    "latency_p99": ("spike", "latency_regression", "variance_change", "level_shift"),
    "null_rate": ("spike", "missing_feature", "level_shift", "gradual_drift"),
    "feature_mean": ("spike", "missing_feature", "constant", "gradual_drift", "level_shift"),
    "prediction_mean": ("spike", "level_shift", "variance_change", "gradual_drift", "constant"),
}
_Rng = np.random.Generator


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """The clean signal of one series and what an incident needs to know about it."""

    values: np.ndarray
    noise_sd: np.ndarray
    steps_per_day: int
    floor: float
    ceiling: float


def simulate_series(*, seed: int, count: int = 48) -> list[LabeledSeries]:
    """``count`` labeled health series, deterministic in ``seed``."""
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count!r}")
    rng = np.random.default_rng(seed)
    return [_one(rng, index) for index in range(count)]


def _one(rng: _Rng, index: int) -> LabeledSeries:
    kind = KINDS[index % len(KINDS)]
    steps_per_day = 1 if rng.random() < 0.25 else 24
    days = int(rng.integers(60, 181))
    n = days * steps_per_day
    start = np.datetime64("2024-01-01T00:00:00") + np.timedelta64(int(rng.integers(0, 300)), "D")
    step = np.timedelta64(86400 // steps_per_day, "s")
    timestamps = start + np.arange(n) * step
    traffic = _traffic(rng, timestamps, steps_per_day)
    shape = _shape(rng, kind, traffic, steps_per_day)
    values = shape.values + rng.normal(0.0, 1.0, n) * shape.noise_sd
    labels = np.zeros(n, dtype=bool)
    injected: list[tuple[int, str]] = []
    if rng.random() >= 0.2:
        for name in rng.choice(INCIDENTS[kind], size=int(rng.integers(1, 4)), replace=False):
            where = _place(rng, n, steps_per_day, labels, str(name))
            if where is None:
                continue
            values = _INJECT[str(name)](rng, values, shape, where)
            labels[where[0] : where[1]] = True
            injected.append((where[0], str(name)))
    values = np.clip(values, shape.floor, shape.ceiling)
    granularity = "hourly" if steps_per_day == 24 else "daily"
    name = f"{index:03d}_{kind}_{granularity}.csv"
    key = SeriesKey(model="simulated", version="", family=kind, column=name, statistic="value")
    return LabeledSeries(
        name=name,
        family=kind,
        series=Series(key=key, timestamps=timestamps, values=values.astype(np.float64)),
        labels=labels,
        windows=runs(labels),
        window_kinds=tuple(kind for _, kind in sorted(injected)),
    )


def _traffic(rng: _Rng, timestamps: np.ndarray, steps_per_day: int) -> np.ndarray:
    """Requests per step: a daily peak, quieter weekends, a trend and a few holidays."""
    n = len(timestamps)
    hours = (timestamps.astype("datetime64[h]").astype(np.int64) % 24).astype(float)
    weekday = (timestamps.astype("datetime64[D]").astype(np.int64) + 3) % 7
    daily = 1.0 + rng.uniform(0.3, 0.8) * np.cos(2 * np.pi * (hours - rng.uniform(12, 16)) / 24)
    if steps_per_day == 1:
        daily = np.ones(n)
    weekly = np.where(weekday >= 5, rng.uniform(0.55, 0.85), 1.0)
    trend = 1.0 + rng.uniform(-0.2, 0.4) * np.arange(n) / max(n - 1, 1)
    holidays = np.ones(n)
    days = timestamps.astype("datetime64[D]").astype(np.int64)
    for day in rng.choice(np.unique(days), size=int(rng.integers(0, 4)), replace=False):
        holidays[days == day] = rng.uniform(0.4, 0.7)
    per_step = rng.lognormal(np.log(2000.0), 1.0) * (24 / steps_per_day)
    return np.asarray(per_step * daily * weekly * trend * holidays)


def _shape(rng: _Rng, kind: str, traffic: np.ndarray, steps_per_day: int) -> Shape:
    relative = traffic / traffic.mean()
    if kind == "traffic":
        return Shape(
            values=traffic,
            noise_sd=np.sqrt(traffic) + 0.03 * traffic,
            steps_per_day=steps_per_day,
            floor=0.0,
            ceiling=np.inf,
        )
    if kind == "latency_p99":
        base = rng.uniform(40, 400)
        return Shape(
            values=base * (1.0 + 0.25 * relative),
            noise_sd=base * 0.6 / np.sqrt(np.maximum(traffic, 1.0)) ** 0.5,
            steps_per_day=steps_per_day,
            floor=1.0,
            ceiling=np.inf,
        )
    if kind == "null_rate":
        rate = rng.uniform(0.002, 0.08)
        return Shape(
            values=np.full(len(traffic), rate),
            noise_sd=np.sqrt(rate * (1 - rate) / np.maximum(traffic, 1.0)),
            steps_per_day=steps_per_day,
            floor=0.0,
            ceiling=1.0,
        )
    mean, spread = rng.normal(0, 50), rng.uniform(1, 20)
    daily = 0.3 * spread * (relative - 1.0) if kind == "feature_mean" else 0.0
    return Shape(
        values=mean + daily + np.zeros(len(traffic)),
        noise_sd=3.0 * spread / np.sqrt(np.maximum(traffic, 1.0)),
        steps_per_day=steps_per_day,
        floor=-np.inf,
        ceiling=np.inf,
    )


def _place(
    rng: _Rng, n: int, steps_per_day: int, taken: np.ndarray, name: str
) -> tuple[int, int] | None:
    """A free ``[start, stop)`` span after the first fifth, sized for the incident kind."""
    if name == "spike":
        length = int(rng.integers(1, 4))
    elif name == "traffic_stop":
        length = max(1, int(rng.integers(1, 13)) * steps_per_day // 24)
    elif name == "traffic_drop":
        length = max(1, int(rng.integers(2, 73)) * steps_per_day // 24)
    elif name == "gradual_drift":
        length = int(rng.integers(5, 21)) * steps_per_day
    else:
        length = int(rng.integers(2, 11)) * steps_per_day
    for _ in range(20):
        start = int(rng.integers(n // 5, max(n // 5 + 1, n - length)))
        stop = min(n, start + length)
        guard = max(1, steps_per_day)
        if not taken[max(0, start - guard) : stop + guard].any():
            return start, stop
    return None


def _spike(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    sign = rng.choice([-1.0, 1.0])
    out[where[0] : where[1]] += sign * rng.uniform(5, 10) * shape.noise_sd[where[0] : where[1]]
    out[where[0] : where[1]] += sign * 0.2 * np.abs(shape.values[where[0] : where[1]])
    return out


def _shift(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    sl = slice(*where)
    size = rng.uniform(4, 8) * shape.noise_sd[sl] + rng.uniform(0.1, 0.3) * np.abs(shape.values[sl])
    out[sl] += rng.choice([-1.0, 1.0]) * size
    return out


def _variance(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    sl = slice(*where)
    extra = rng.uniform(4, 8) * shape.noise_sd[sl] + 0.05 * np.abs(shape.values[sl])
    out[sl] += rng.normal(0.0, 1.0, where[1] - where[0]) * extra
    return out


def _missing(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    out[slice(*where)] = 1.0 if shape.ceiling == 1.0 else 0.0
    return out


def _constant(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    out[slice(*where)] = values[where[0] - 1]
    return out


def _drift(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    sl = slice(*where)
    ramp = np.linspace(0.0, 1.0, where[1] - where[0])
    size = rng.uniform(6, 12) * shape.noise_sd[sl] + rng.uniform(0.2, 0.5) * np.abs(
        shape.values[sl]
    )
    out[sl] += rng.choice([-1.0, 1.0]) * ramp * size
    return out


def _drop(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    out[slice(*where)] *= rng.uniform(0.3, 0.6)
    return out


def _stop(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    out[slice(*where)] = 0.0
    return out


def _regression(rng: _Rng, values: np.ndarray, shape: Shape, where: tuple[int, int]) -> np.ndarray:
    out = values.copy()
    out[slice(*where)] *= rng.uniform(1.3, 2.0)
    return out


_Inject = Callable[[_Rng, np.ndarray, Shape, tuple[int, int]], np.ndarray]
_INJECT: dict[str, _Inject] = {
    "spike": _spike,
    "level_shift": _shift,
    "variance_change": _variance,
    "missing_feature": _missing,
    "constant": _constant,
    "gradual_drift": _drift,
    "traffic_drop": _drop,
    "traffic_stop": _stop,
    "latency_regression": _regression,
}
