"""Record batches -> mergeable profiles: the sketches Vigil keeps per model, version and window."""

from vigil.profile.histogram import LogHistogram
from vigil.profile.quantiles import QuantileSketch

__all__ = ["LogHistogram", "QuantileSketch"]
