"""Periodic shapes with one anomaly each, in the manner of NAB's artificial series.

Written after the ``consensus`` residual change of issue 17 (a seasonal baseline competing
after one day) was designed on a square wave, to judge that change on shapes it was not built
around: a sine, a smoothed plateau, two daily peaks or a weekday/weekend cycle, at 5-, 10- or
60-minute steps, 10 to 40 days, noise 1-8% of the amplitude. One anomaly per series, drawn
after the first 45% of it: a jump or a drop of 0.3-0.8 amplitudes, a flat stretch at the
series' median, a missing peak (values capped at the daily mean; a window that holds no
peak changes nothing, and its label cannot be found), a spike of 6-15 noise sds, or none
(the series then only counts false alarms). No sample sizes: values are the series, as in NAB.
"""

from __future__ import annotations

import numpy as np

from vigil.core import ConfigError, SeriesKey
from vigil.lab.labeled import LabeledDataset, LabeledSeries, runs
from vigil.stats.series import Series

KINDS = ("jump", "drop", "flat", "missing_peak", "spike", "none")


def simulate_shapes(*, seed: int, count: int = 40) -> LabeledDataset:
    """``count`` labeled series, deterministic in ``seed`` (named ``shapes:seed``)."""
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count!r}")
    rng = np.random.default_rng(seed)
    made = tuple(_one(rng, index) for index in range(count))
    return LabeledDataset(name=f"shapes:{seed}", form="simulated", series=made)


def _one(rng: np.random.Generator, index: int) -> LabeledSeries:
    minutes = int(rng.choice([5, 10, 60]))
    per_day = 1440 // minutes
    days = int(rng.integers(14, 40)) if minutes == 60 else int(rng.integers(10, 16))
    steps = days * per_day
    t = np.arange(steps)
    phase = (t % per_day) / per_day
    shape_name = str(rng.choice(["sine", "plateau", "two_peaks", "weekly"]))
    if shape_name == "sine":
        shape = np.sin(2 * np.pi * (phase - rng.random()))
    elif shape_name == "plateau":
        start, end = sorted(rng.uniform(0.15, 0.85, 2))
        square = np.where((phase > start) & (phase < end), 1.0, -1.0)
        shape = np.convolve(square, np.ones(3) / 3, mode="same")
    elif shape_name == "two_peaks":
        shape = np.exp(-(((phase - 0.35) / 0.06) ** 2)) + 0.8 * np.exp(
            -(((phase - 0.75) / 0.08) ** 2)
        )
    else:
        weekday = ((t // per_day) % 7) < 5
        shape = np.where(weekday, 1.0, 0.2) * np.sin(np.pi * phase) ** 2
    amplitude = rng.uniform(5, 50)
    level = rng.uniform(amplitude, 3 * amplitude)
    noise = rng.uniform(0.01, 0.08) * amplitude
    values = level + amplitude * shape + rng.normal(0, noise, steps)
    prefix = int(0.15 * steps)
    begin = int(rng.integers(max(prefix + per_day, int(0.45 * steps)), int(0.9 * steps)))
    kind = str(rng.choice(KINDS))
    length = 1 if kind == "spike" else int(rng.integers(per_day // 4, per_day))
    end = min(steps, begin + length)
    span = slice(begin, end)
    if kind == "jump":
        values[span] += rng.uniform(0.3, 0.8) * amplitude
    elif kind == "drop":
        values[span] -= rng.uniform(0.3, 0.8) * amplitude
    elif kind == "flat":
        values[span] = np.median(values[:begin]) + rng.normal(0, noise, end - begin)
    elif kind == "missing_peak":
        values[span] = np.minimum(values[span], level + rng.normal(0, noise, end - begin))
    elif kind == "spike":
        values[begin] += rng.uniform(6, 15) * noise
    labels = np.zeros(steps, dtype=bool)
    if kind != "none":
        labels[span] = True
    stamps = np.datetime64("2020-01-06T00:00") + t * np.timedelta64(minutes, "m")
    name = f"{index:03d}_{shape_name}_{minutes}min"
    key = SeriesKey(model="shapes", version="", family="shapes", column=name, statistic="value")
    windows = runs(labels)
    return LabeledSeries(
        name=name,
        family="shapes",
        series=Series(key=key, timestamps=stamps, values=values),
        labels=labels,
        windows=windows,
        window_kinds=tuple(kind for _ in windows),
    )
