"""``ProfileSpec``: the parameters every sketch of a profile is built with.

Two profiles merge only when their sketches were built alike, so the spec travels with every
profile and its :meth:`ProfileSpec.fingerprint` is compared on merge. The window length is not
part of the fingerprint: rolling hourly profiles up into days changes it on purpose. Nor are the
segments (``segments``, ``max_segment_values``): they say which rows a profile also breaks down
by tag (:mod:`vigil.profile.segments`), not how a sketch is built, so adding a segment to a
running model does not make its stored history unmergeable.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta

from vigil.core import ConfigError, format_duration
from vigil.profile.quantiles import smallest_kll_k

DEFAULT_KLL_K = smallest_kll_k(0.01)
"""269 with DataSketches 5.2: the smallest ``k`` with single-quantile rank error <= 1%."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileSpec:
    window: timedelta = timedelta(hours=1)
    kll_k: int = DEFAULT_KLL_K
    hll_lg_k: int = 12
    frequent_lg_max: int = 7
    latency_bucket_ratio: float = 0.02
    max_hosts: int = 256
    segments: tuple[str, ...] = ()
    """Tags whose values split the profile into segment profiles (``region=eu``)."""
    max_segment_values: int = 20
    """Per segment tag, the most frequent values kept as their own segment; the rest are
    counted together in ``tag=(other)``."""

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.window % timedelta(seconds=1):
            raise ConfigError(f"window must be a positive whole number of seconds: {self.window}")
        if not 8 <= self.kll_k <= 65535:
            raise ConfigError(f"kll_k must be in [8, 65535], got {self.kll_k!r}")
        if not 4 <= self.hll_lg_k <= 18:
            raise ConfigError(f"hll_lg_k must be in [4, 18], got {self.hll_lg_k!r}")
        if not 3 <= self.frequent_lg_max <= 20:
            raise ConfigError(f"frequent_lg_max must be in [3, 20], got {self.frequent_lg_max!r}")
        ratio = self.latency_bucket_ratio
        if not (0.0 < ratio < 1.0 and math.isfinite(ratio)):
            raise ConfigError(f"latency_bucket_ratio must be in (0, 1), got {ratio!r}")
        if self.max_hosts < 1:
            raise ConfigError(f"max_hosts must be >= 1, got {self.max_hosts!r}")
        if not all(self.segments) or len(set(self.segments)) != len(self.segments):
            raise ConfigError(f"segments must be distinct non-empty tag names, got {self.segments}")
        if self.max_segment_values < 1:
            raise ConfigError(f"max_segment_values must be >= 1, got {self.max_segment_values!r}")

    def fingerprint(self) -> str:
        """A short stable hash of the sketch parameters (not the window, not the segments):
        equal means mergeable."""
        text = (
            f"kll_k={self.kll_k};hll_lg_k={self.hll_lg_k};frequent_lg_max={self.frequent_lg_max};"
            f"latency_bucket_ratio={self.latency_bucket_ratio!r};max_hosts={self.max_hosts}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def __str__(self) -> str:
        return f"ProfileSpec(window={format_duration(self.window)}, {self.fingerprint()})"
