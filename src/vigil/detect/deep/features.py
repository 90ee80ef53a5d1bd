"""Stage-1 inputs: per-window-normalised history, same-time-of-day lags, calendar, irregularity.

Everything here is numpy and shared by inference and training, so the two can only differ in
the network's arithmetic (which a parity test pins down). All features of step ``t`` use values
strictly before ``t - omit``: the most recent ``omit`` steps are left out so that the baseline
does not chase the first steps of a level shift (AlerTiger's "recent-omit").

Lags are found by *time*, not by step count (``searchsorted`` on the timestamps), so irregular
and gappy series (NAB's road sensors, crash counts that skip hours) get the right "same time
yesterday" or no lag at all, never a wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
DAY_S = 86_400
CLIP = 20.0  # normalised values beyond +-CLIP window-stds carry no more information
NORMALIZATIONS = ("window", "series")
SURPRISE_COLUMNS = 5
SURPRISE_QUANTILE = 0.99
MEMORY_DAYS = 7
MEMORY_BOUNDS = (48, 2016)  # steps of past severities a surprise is measured against


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureSpec:
    """The architecture of stage 1's input; stored in the weights file with the weights.

    ``window`` past steps (ending ``omit`` steps before the target) are normalised by their own
    mean and std (``normalize="window"``) or by the expanding mean and std of the series' whole
    past (``"series"``, the ablation). ``lags`` values at the same time of the previous days
    (weeks for daily data) are added, and a calendar of hour of day and day of week.
    """

    window: int = 32
    omit: int = 3
    lags: int = 7
    normalize: str = "window"
    support: bool = False
    """Add the step's sample size against the window's (``log n_t / mean n``): values resting on
    few rows are noisier, so the band can widen on a quiet night. 0 when a series has no ``n``."""

    def __post_init__(self) -> None:
        if self.window < 4:
            raise ConfigError(f"window must be >= 4 steps, got {self.window!r}")
        if self.omit < 0:
            raise ConfigError(f"omit must be >= 0, got {self.omit!r}")
        if self.lags < 1:
            raise ConfigError(f"lags must be >= 1, got {self.lags!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(f"normalize must be one of {NORMALIZATIONS}, got {self.normalize!r}")

    @property
    def width(self) -> int:
        """Number of stage-1 input columns (irregularity inputs excluded)."""
        return self.window + 2 * self.lags + 4 + 1 + int(self.support)


@dataclass(frozen=True, slots=True, kw_only=True)
class Features:
    """Stage-1 inputs of every step of one series, and the scale to undo the normalisation.

    ``inputs`` is ``(n, spec.width)`` float32; ``irregularity`` is ``(n, 2)`` float32 (seasonal
    spread, step-to-step spread, both in window stds); ``valid`` marks steps with enough history.
    """

    inputs: F32
    irregularity: F32
    calendar: F32
    mean: FloatArray
    scale: FloatArray
    valid: npt.NDArray[np.bool_]


def period_seconds(timestamps: npt.NDArray[np.datetime64]) -> int:
    """The seasonal period: a day for sub-daily data, a week for daily (or coarser) data."""
    if len(timestamps) < 2:
        return DAY_S
    step = float(np.median(np.diff(timestamps.astype("datetime64[s]").astype(np.int64))))
    return DAY_S if step < DAY_S else 7 * DAY_S


def lag_index(seconds: IntArray, lag_s: int, tolerance_s: float | None = None) -> IntArray:
    """Index of the step exactly ``lag_s`` earlier (within half a median step), else -1."""
    if len(seconds) == 0:
        return np.zeros(0, dtype=np.int64)
    if tolerance_s is None:
        tolerance_s = _half_step(seconds)
    target = seconds - lag_s
    found = np.minimum(np.searchsorted(seconds, target), len(seconds) - 1)
    below = np.maximum(found - 1, 0)
    best = np.where(np.abs(seconds[below] - target) < np.abs(seconds[found] - target), below, found)
    ok = np.abs(seconds[best] - target) <= tolerance_s
    return np.where(ok, best, -1).astype(np.int64)


def _half_step(seconds: IntArray) -> float:
    return max(1.0, float(np.median(np.diff(seconds))) / 2.0) if len(seconds) > 1 else 1.0


def calendar_features(timestamps: npt.NDArray[np.datetime64]) -> F32:
    """Hour of day and day of week on the unit circle, ``(n, 4)`` float32."""
    seconds = timestamps.astype("datetime64[s]").astype(np.int64)
    day = 2 * np.pi * (seconds % DAY_S) / DAY_S
    # 1970-01-01 was a Thursday; day 0 of the week is Monday.
    week = 2 * np.pi * (((seconds // DAY_S) + 3) % 7) / 7
    return np.stack([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], axis=1).astype(
        np.float32
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeGrid:
    """What the features read from a series' timestamps alone: its period, the index of the
    same time on each earlier day (``-1``: none), and the calendar.

    Every health series of a model shares one timestamp grid, so a batch computes it once
    per grid (:meth:`DeepDetector.explain_many`) instead of once per series.
    """

    seconds: IntArray
    period: int
    lags: IntArray
    """``(n, lags)``: the step 1, 2, … periods earlier; column 0 also feeds the irregularity."""
    calendar: F32

    @classmethod
    def of(cls, timestamps: npt.NDArray[np.datetime64], lags: int) -> TimeGrid:
        seconds = timestamps.astype("datetime64[s]").astype(np.int64)
        period = period_seconds(timestamps)
        tolerance = _half_step(seconds)
        found = [lag_index(seconds, (k + 1) * period, tolerance) for k in range(lags)]
        return cls(
            seconds=seconds,
            period=period,
            lags=np.stack(found, axis=1) if found else np.zeros((len(seconds), 0), np.int64),
            calendar=calendar_features(timestamps),
        )


def build_features(series: Series, spec: FeatureSpec, grid: TimeGrid | None = None) -> Features:
    """Stage-1 inputs for every step of ``series`` (causal: step ``t`` sees ``< t - omit``).

    ``grid``: the series' :class:`TimeGrid`, when the caller has it for the same timestamps.
    """
    values = series.values.astype(np.float64)
    n = len(values)
    if grid is None:
        grid = TimeGrid.of(series.timestamps, spec.lags)
    end = np.arange(n) - spec.omit  # window covers [end - window, end)
    cols = end[:, None] - spec.window + np.arange(spec.window)[None, :]
    inside = cols >= 0
    window = np.where(inside, values[np.clip(cols, 0, max(n - 1, 0))], np.nan)
    present = np.sum(~np.isnan(window), axis=1)
    valid = present >= spec.window // 2
    mean, scale = _normalizer(values, window, end, spec)
    norm = _normalise(window, mean, scale)
    index = grid.lags
    lags = np.where(index >= 0, values[np.clip(index, 0, None)], np.nan)
    lag_mask = (~np.isnan(lags)).astype(np.float64)
    lags_norm = _normalise(lags, mean, scale)
    calendar = grid.calendar
    missing = 1.0 - present / spec.window
    blocks = [norm, lags_norm, lag_mask, calendar, missing[:, None]]
    if spec.support:
        blocks.append(support_ratio(series, cols, inside)[:, None])
    inputs = np.concatenate(blocks, axis=1).astype(np.float32)
    irregularity = _irregularity(values, index[:, 0], cols, inside, scale)
    return Features(
        inputs=inputs,
        irregularity=irregularity,
        calendar=calendar,
        mean=mean,
        scale=scale,
        valid=valid,
    )


def support_ratio(series: Series, cols: IntArray, inside: npt.NDArray[np.bool_]) -> FloatArray:
    """``log((n_t + 1) / (mean n of the window + 1))`` per step, clipped; 0 without ``n``.

    The step's own ``n`` is known when its value is: it is how many rows the value rests on.
    """
    if series.support is None:
        return np.zeros(len(series))
    n = np.nan_to_num(series.support.astype(np.float64), nan=0.0)
    block = np.where(inside, n[np.clip(cols, 0, max(len(n) - 1, 0))], 0.0)
    mean = block.sum(axis=1) / np.maximum(inside.sum(axis=1), 1)
    out: FloatArray = np.clip(np.log((n + 1.0) / (mean + 1.0)), -CLIP / 2, CLIP / 2)
    return out


def _normalizer(
    values: FloatArray, window: FloatArray, end: IntArray, spec: FeatureSpec
) -> tuple[FloatArray, FloatArray]:
    """Mean and floored std of each step's window, or of the whole past (the ablation)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.normalize == "window":
            counts = np.sum(~np.isnan(window), axis=1)
            filled = np.where(np.isnan(window), 0.0, window)
            mean = np.where(counts > 0, filled.sum(axis=1) / np.maximum(counts, 1), 0.0)
            square = np.where(np.isnan(window), 0.0, (window - mean[:, None]) ** 2)
            std = np.sqrt(square.sum(axis=1) / np.maximum(counts, 1))
        else:
            present = ~np.isnan(values)
            zero = np.where(present, values, 0.0)
            c1 = np.concatenate([[0.0], np.cumsum(present)])
            s1 = np.concatenate([[0.0], np.cumsum(zero)])
            s2 = np.concatenate([[0.0], np.cumsum(zero * zero)])
            upto = np.clip(end, 0, len(values))
            counts_f = c1[upto]
            mean = np.where(counts_f > 0, s1[upto] / np.maximum(counts_f, 1), 0.0)
            var = s2[upto] / np.maximum(counts_f, 1) - mean**2
            std = np.sqrt(np.maximum(var, 0.0))
    # The floor keeps a flat window (quantised or idle metrics) from turning the first
    # tiny change into an infinite deviation, on any scale.
    scale = np.maximum(std, np.maximum(0.01 * np.abs(mean), 1e-6))
    return mean.astype(np.float64), scale.astype(np.float64)


def _normalise(block: FloatArray, mean: FloatArray, scale: FloatArray) -> FloatArray:
    out = (block - mean[:, None]) / scale[:, None]
    return np.clip(np.nan_to_num(out, nan=0.0), -CLIP, CLIP)


def _irregularity(
    values: FloatArray,
    lag: IntArray,
    cols: IntArray,
    inside: npt.NDArray[np.bool_],
    scale: FloatArray,
) -> F32:
    """Period-over-period and step-over-step mean absolute change in the window, in stds.

    A series that repeats itself day over day scores low on the first; a noisy or irregular one
    high. Stage 1 turns both into a band multiplier through a learned sigmoid.
    """
    n = len(values)
    seasonal = np.where(lag >= 0, np.abs(values - values[np.clip(lag, 0, None)]), np.nan)
    step = np.concatenate([[np.nan], np.abs(np.diff(values))])
    out = np.zeros((n, 2), dtype=np.float64)
    safe = np.clip(cols, 0, max(n - 1, 0))
    for j, change in enumerate((seasonal, step)):
        block = np.where(inside, change[safe], np.nan)
        counts = np.sum(~np.isnan(block), axis=1)
        total = np.nansum(block, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            # No seasonal history yet reads as "maximally irregular", so the band starts wide.
            default = 3.0 if j == 0 else 0.0
            out[:, j] = np.where(counts > 0, total / np.maximum(counts, 1) / scale, default)
    return np.clip(out, 0.0, CLIP).astype(np.float32)


def memory_steps(timestamps: npt.NDArray[np.datetime64]) -> int:
    """How many past steps a surprise is measured against: about a week, within bounds.

    A week of hourly data is 168 steps; a week of 1-minute data would be 10,080, more history
    than most minute series have, so the memory is capped (2,016 steps: a week of 5-minute
    data, a day and a half of 1-minute data) and floored (48 steps for daily data).
    """
    if len(timestamps) < 2:
        return MEMORY_BOUNDS[0]
    step = float(np.median(np.diff(timestamps.astype("datetime64[s]").astype(np.int64))))
    steps = round(MEMORY_DAYS * DAY_S / max(step, 1.0))
    return int(min(max(steps, MEMORY_BOUNDS[0]), MEMORY_BOUNDS[1]))


def surprise_features(severity: FloatArray, memory: int) -> FloatArray:
    """How unusual this step's severity is *for this series*: ``(n, SURPRISE_COLUMNS)``, causal.

    Columns, all against the series' own severities over the previous ``memory`` steps (step
    ``t`` excluded): log ratio of the severity to their ``SURPRISE_QUANTILE`` quantile, to
    their mean and to their maximum; the log rate at which they crossed the band (severity >
    1/2); and the fraction of that memory that exists. Heavy-tailed series cross their band
    every day, and a pooled fpr threshold then fills up with their routine excursions.
    Measured against the series' own recent excursions, a routine one reads ~0 and a new one
    > 0 on every scale, so the classifier can learn an adaptive threshold.
    """
    return surprise_many([severity], [memory])[0]


def surprise_many(severities: Sequence[FloatArray], memories: Sequence[int]) -> list[FloatArray]:
    """:func:`surprise_features` of many series, with one rolling pass per distinct memory.

    A rolling quantile costs pandas more in per-call overhead than in work on a short series,
    so series sharing a memory are joined, each after ``memory`` missing steps so that no
    window spans two series. Quantile and maximum are order statistics of exactly the same
    values either way, so a series' columns do not depend on its batch.
    """
    out: list[FloatArray] = [np.zeros((0, SURPRISE_COLUMNS))] * len(severities)
    for memory in sorted(set(memories)):
        members = [i for i, m in enumerate(memories) if m == memory]
        gap = np.full(memory, np.nan)
        joined = np.concatenate([part for i in members for part in (gap, severities[i])])
        import pandas as pd  # on first use: 0.4 CPU s that commands without detection skip

        past = pd.Series(joined).shift(1).rolling(memory, min_periods=1)
        quantile = past.quantile(SURPRISE_QUANTILE).to_numpy(dtype=np.float64)
        most = past.max().to_numpy(dtype=np.float64)
        at = 0
        for i in members:
            at += memory
            end = at + len(severities[i])
            out[i] = _surprise(severities[i], memory, quantile[at:end], most[at:end])
            at = end
    return out


def _surprise(
    severity: FloatArray, memory: int, quantile: FloatArray, most: FloatArray
) -> FloatArray:
    n = len(severity)
    present = ~np.isnan(severity)
    filled = np.where(present, severity, 0.0)

    def past_sum(x: FloatArray) -> FloatArray:  # sum over steps [t - memory, t - 1]
        total = np.concatenate([[0.0], np.cumsum(x)])
        steps = np.arange(n)
        window: FloatArray = total[steps] - total[np.maximum(steps - memory, 0)]
        return window

    count = past_sum(present.astype(np.float64))
    mean = np.maximum(past_sum(filled), 0.0) / np.maximum(count, 1.0)
    crossings = past_sum((filled > 0.5).astype(np.float64))
    floor = 0.1  # severities are in band widths; below a tenth of one nothing is "large"
    with np.errstate(invalid="ignore", divide="ignore"):
        current = np.log(filled + floor)
        columns = [
            current - np.log(np.nan_to_num(ref, nan=0.0) + floor) for ref in (quantile, mean, most)
        ]
        rate = np.log((crossings + 1.0) / (count + 1.0))
    known = np.minimum(count / memory, 1.0)
    out: FloatArray = np.clip(
        np.nan_to_num(np.stack([*columns, rate, known], axis=1), nan=0.0), -8.0, 8.0
    )
    return out
