"""Has this series ever looked like this? A nearest-neighbour novelty score (after knncad).

Each step is described by its last ``window`` values and their standard deviation. Its raw
score is the mean distance to its ``neighbours`` nearest descriptions in the series' past (up to
``history`` steps, ending ``window`` steps back so a step never matches its own overlap), with
distances whitened by the past descriptions' covariance (plus a 5% ridge): a shape the series
has shown before - the daily spike of a batch job, a weekend dip - scores low however large it
is; a level, a variance or a shape it never showed scores high. The past is re-read every
``block`` steps, so scoring costs ``O(n·history/block)`` matrix products, not a loop per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Novelty:
    """Settings of :func:`novelty`."""

    window: int = 8
    neighbours: int = 10
    history: int = 3000
    block: int = 100
    ridge: float = 0.05

    def __post_init__(self) -> None:
        for name in ("window", "neighbours", "history", "block"):
            if getattr(self, name) < 1:
                raise ConfigError(f"novelty.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.ridge < 0:
            raise ConfigError(f"novelty.ridge must be >= 0, got {self.ridge!r}")


def novelty(values: FloatArray, settings: Novelty) -> FloatArray:
    """Causal raw novelty per step; NaN until ``max(2·neighbours, 50)`` past descriptions exist
    and wherever the window holds a missing value."""
    described = _descriptions(values.astype(np.float64), settings.window)
    usable = np.asarray(~np.isnan(described).any(axis=1), dtype=bool)
    out = np.full(values.size, np.nan)
    needed = max(2 * settings.neighbours, 50)
    gap = settings.window
    for start in range(0, values.size, settings.block):
        stop = min(values.size, start + settings.block)
        lo, hi = max(0, start - gap - settings.history), start - gap
        past = np.arange(lo, max(lo, hi))[usable[lo : max(lo, hi)]]
        now = np.arange(start, stop)[usable[start:stop]]
        if past.size < needed or now.size == 0:
            continue
        out[now] = _mean_nearest(described[past], described[now], settings)
    return out


def _descriptions(values: FloatArray, window: int) -> FloatArray:
    lagged = np.full((values.size, window), np.nan)
    for lag in range(min(window, values.size)):  # a series shorter than the window is all NaN
        lagged[lag:, window - 1 - lag] = values[: values.size - lag]
    spread = np.std(lagged, axis=1, keepdims=True)  # NaN where the window has a hole
    return np.hstack([lagged, spread])


def _mean_nearest(past: FloatArray, now: FloatArray, settings: Novelty) -> FloatArray:
    centre = past.mean(axis=0)
    columns = past.shape[1]
    covariance = np.cov(past, rowvar=False) + np.eye(columns) * 1e-9
    covariance += np.eye(columns) * (settings.ridge * np.trace(covariance) / columns + 1e-12)
    eigenvalues, vectors = np.linalg.eigh(covariance)
    whiten = vectors / np.sqrt(np.maximum(eigenvalues, 1e-300))
    a = (past - centre) @ whiten
    b = (now - centre) @ whiten
    squared = np.sum(b**2, axis=1)[:, None] + np.sum(a**2, axis=1)[None, :] - 2.0 * b @ a.T
    distance = np.sqrt(np.maximum(squared, 0.0))
    k = min(settings.neighbours, a.shape[0])
    return np.asarray(np.partition(distance, k - 1, axis=1)[:, :k].mean(axis=1), dtype=np.float64)
