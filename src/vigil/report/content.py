"""What a report shows, as plain values: built by the pipeline, rendered here.

The report stage never reads the store; the pipeline gathers series, bands, incidents and drift
values into these dataclasses and hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError
from vigil.incidents import CoMovement, Incident
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]


class Light(StrEnum):
    """A traffic light per family of health statistics."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    GREY = "grey"
    """No data for this family in the period."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """One series with its expected band and anomalous steps, for plotting.

    ``expected``, ``lower`` and ``upper`` may be absent (no band), else align with the series.
    ``estimate`` is a realised performance metric's label-free estimate, drawn beside it: it has
    no band of its own, the realised value is what decides.
    """

    title: str
    series: Series
    expected: FloatArray | None = None
    lower: FloatArray | None = None
    upper: FloatArray | None = None
    anomalous: npt.NDArray[np.bool_] | None = None
    estimate: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.series)
        for name in ("expected", "lower", "upper", "anomalous", "estimate"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ConfigError(f"chart {self.title!r}: {name} has {len(values)} points, not {n}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftTable:
    """Drift values per column (rows) and window (columns), shown as a heat map."""

    statistic: str
    columns: tuple[str, ...]
    windows: tuple[datetime, ...]
    values: FloatArray
    """Shape ``(len(columns), len(windows))``; NaN where not computed."""

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.columns), len(self.windows)):
            raise ConfigError(
                f"drift table values have shape {self.values.shape}, expected "
                f"{(len(self.columns), len(self.windows))}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentEvidence:
    """An incident with the charts of its implicated series and what moved with it."""

    incident: Incident
    charts: tuple[Chart, ...] = ()
    charts_omitted: int = 0
    """Implicated series not charted (the report charts up to a stated number)."""
    co_movements: tuple[CoMovement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelReport:
    """Everything the holistic report of one model shows."""

    model: str
    generated_at: datetime
    period_start: datetime
    period_end: datetime
    lights: dict[str, Light] = field(default_factory=dict)
    """Traffic light per family name (feature, output, auxiliary, drift; performance for a
    model with labels)."""
    incidents: tuple[IncidentEvidence, ...] = ()
    drift: DriftTable | None = None
    traffic: tuple[Chart, ...] = ()
    latency: tuple[Chart, ...] = ()
    performance: tuple[Chart, ...] = ()
    """Realised performance over the trailing day with the band that decided it and the
    label-free estimate beside it; empty for a model without labels."""
    versions: tuple[str, ...] = ()
    owner: str = ""
    notices: tuple[str, ...] = ()
    """What the report cannot see or vouch for, in words (no requests counted, a family with
    no values, a history too short to judge, quarantined rows): said, never left green."""
