"""The ``Series`` value: one health statistic over time, what detectors watch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """A named, time-ordered numeric series.

    ``timestamps`` are ``datetime64[s]`` in UTC (numpy has no zone; UTC is the convention),
    strictly increasing. ``values`` are float64; NaN marks a step with no value (no data in that
    window). ``support`` optionally holds, per step, the number of rows the value rests on, so a
    large drift score on 12 rows is not read as strong evidence. ``stderr`` optionally holds, per
    step, the standard error of the value from the rows behind it (a mean's ``s/sqrt(n)``, a
    rate's binomial ``sqrt(p(1-p)/n)``, a quantile's from its rank interval); NaN where the
    statistic has none (a count, a maximum), and None when the series never carries one.
    """

    key: SeriesKey
    timestamps: TimeArray
    values: FloatArray
    support: FloatArray | None = None
    stderr: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.timestamps.shape != self.values.shape or self.values.ndim != 1:
            raise ConfigError(
                f"series {self.key}: timestamps {self.timestamps.shape} and values "
                f"{self.values.shape} must be 1-d and of equal length"
            )
        if self.support is not None and self.support.shape != self.values.shape:
            raise ConfigError(f"series {self.key}: support has shape {self.support.shape}")
        if self.stderr is not None and self.stderr.shape != self.values.shape:
            raise ConfigError(f"series {self.key}: stderr has shape {self.stderr.shape}")
        if self.stderr is not None and bool(np.any(self.stderr < 0)):
            bad = float(self.stderr[self.stderr < 0][0])
            raise ConfigError(f"series {self.key}: stderr must be >= 0 or NaN, got {bad!r}")
        steps = np.diff(self.timestamps)
        if len(self.timestamps) > 1 and not bool(np.all(steps > np.timedelta64(0))):
            raise ConfigError(f"series {self.key}: timestamps must be strictly increasing")

    def __len__(self) -> int:
        return len(self.values)

    def slice(self, start: int, stop: int) -> Series:
        """Steps ``start..stop`` (Python slice semantics) as a new series."""
        return Series(
            key=self.key,
            timestamps=self.timestamps[start:stop],
            values=self.values[start:stop],
            support=None if self.support is None else self.support[start:stop],
            stderr=None if self.stderr is None else self.stderr[start:stop],
        )
