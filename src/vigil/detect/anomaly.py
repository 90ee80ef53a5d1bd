"""``Anomaly``: one anomalous step of one series, the value every later stage carries.

Apart from :mod:`vigil.detect.base` (scores as NumPy arrays) so that reading stored anomalies
and incidents loads neither NumPy nor the stats stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigil.core import ConfigError, SeriesKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Anomaly:
    """One anomalous step of one series, with the evidence for it.

    ``severity`` says how far outside the band the value lies. :meth:`Detection.anomalies`
    gives ``|value - expected| / (upper - lower)``, band widths of the detector's own band; the
    pipeline's watch policy (:mod:`vigil.pipeline.watch`) gives every anomaly it raises in one
    unit, half-widths of the band that decided (above 1 outside it). ``note`` is evidence in
    words that the numbers cannot carry (``"constant at 0"``).
    """

    key: SeriesKey
    timestamp: datetime
    value: float
    expected: float
    lower: float
    upper: float
    score: float
    severity: float
    detector: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ConfigError(f"anomaly timestamp {self.timestamp} must be timezone-aware UTC")

    @property
    def direction(self) -> str:
        """``"up"`` when the value is above what was expected, ``"down"`` below."""
        return "up" if self.value >= self.expected else "down"
