"""Delayed feedback: compare models on outcomes that arrive long after the prediction.

Clicks and conversions trickle in for minutes or days. Comparing two versions on "outcomes so
far" favours whichever served earlier; Dunning's fix is to align every outcome to the time since
its impression and normalise by impressions that are at least that old, so the response rate
``r(t)`` of each version is compared at equal elapsed time ``t``. A comparison at ``t`` is only
worth acting on once ``t`` covers most eventual responses: the monitor estimates the delay
distribution from mature impressions (older than ``horizon``) and reports the elapsed time by
which ``reliable_share`` (60%) of responses have arrived.

State is bounded: impressions wait in a table for at most ``horizon`` (and ``max_pending``
entries); counts live in a ring of impression-time bins by log-spaced delay bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.base import MonitorAlert
from vigil.detect.realtime.events import Events, epoch_seconds
from vigil.detect.realtime.threshold import (
    AlarmRate,
    ScoreThreshold,
    two_sided_normal_quantile,
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackComparison:
    """Two versions' response rates at the same elapsed time since impression."""

    elapsed_s: float
    version_a: str
    version_b: str
    rate_a: float
    rate_b: float
    impressions_a: int
    impressions_b: int
    z: float


@dataclass(slots=True, kw_only=True)
class _Counts:
    impressions: npt.NDArray[np.int64]  # per impression-time bin
    outcomes: npt.NDArray[np.int64]  # per impression-time bin x delay bin


class DelayedFeedbackMonitor:
    """Response rates per version, aligned to time since impression."""

    name = "feedback"

    def __init__(
        self,
        model: str,
        *,
        alarm_rate: AlarmRate | None = None,
        horizon: timedelta = timedelta(hours=12),
        bin_width: timedelta = timedelta(minutes=10),
        delay_bins: int = 40,
        reliable_share: float = 0.6,
        interval: timedelta = timedelta(hours=1),
        min_impressions: int = 1000,
        max_pending: int = 2_000_000,
    ) -> None:
        if horizon <= bin_width or not 0 < reliable_share < 1:
            raise ConfigError(
                f"bad horizon {horizon!r} / bin width {bin_width!r} / share {reliable_share!r}"
            )
        self.model = model
        self.alarm_rate = alarm_rate or AlarmRate()
        self.horizon_s = horizon.total_seconds()
        self.bin_s = bin_width.total_seconds()
        self.ring = math.ceil(2 * self.horizon_s / self.bin_s) + 1
        self.delay_edges_s = np.geomspace(1.0, self.horizon_s, delay_bins)
        self.reliable_share = reliable_share
        self.interval_s = interval.total_seconds()
        self.min_impressions = min_impressions
        self.max_pending = max_pending
        self.pending_: dict[str, tuple[float, str]] = {}
        self.counts_: dict[str, _Counts] = {}
        self.bin_of_slot_ = np.full(self.ring, -1, dtype=np.int64)
        self.dropped_outcomes_ = 0
        self.stale_impressions_ = 0
        self.newest_bin_ = -(2**62)
        self.next_interval_: int | None = None
        self.threshold_ = ScoreThreshold(two_sided_normal_quantile, memory=5_000)

    def _counts(self, version: str) -> _Counts:
        if version not in self.counts_:
            self.counts_[version] = _Counts(
                impressions=np.zeros(self.ring, dtype=np.int64),
                outcomes=np.zeros((self.ring, self.delay_edges_s.size + 1), dtype=np.int64),
            )
        return self.counts_[version]

    def _slots(self, times: FloatArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Ring slots of impression times, and which of them still fit in the ring. A slot
        reused for a newer bin is cleared first; impressions older than its bin do not fit."""
        bins = (times // self.bin_s).astype(np.int64)
        slots = bins % self.ring
        self.newest_bin_ = max(self.newest_bin_, int(bins.max()))
        fits = bins > self.newest_bin_ - self.ring
        for bin_index in np.unique(bins[fits]).tolist():
            slot = bin_index % self.ring
            if self.bin_of_slot_[slot] < bin_index:
                self.bin_of_slot_[slot] = bin_index
                for counts in self.counts_.values():
                    counts.impressions[slot] = 0
                    counts.outcomes[slot] = 0
        return slots, fits & (self.bin_of_slot_[slots] == bins)

    def update(self, events: Events) -> None:
        if events.model != self.model or len(events) == 0:
            return
        if events.kind in (EventKind.COMPLETION, EventKind.PREDICTION):
            events.require("request_id")
            assert events.request_id is not None
            slots, fits = self._slots(events.timestamp_s)
            if not fits.all():
                self.stale_impressions_ += int((~fits).sum())  # counted, not silently dropped
                events, slots = events.select(fits), slots[fits]
            assert events.request_id is not None
            versions = events.versions()
            for version in np.unique(versions).tolist():
                mask = versions == version
                np.add.at(self._counts(version).impressions, slots[mask], 1)
            self.pending_.update(
                zip(
                    events.request_id.tolist(),
                    zip(events.timestamp_s.tolist(), versions.tolist(), strict=True),
                    strict=True,
                )
            )
            if len(self.pending_) > self.max_pending:
                for request in list(self.pending_)[: len(self.pending_) - self.max_pending]:
                    del self.pending_[request]
        elif events.kind == EventKind.LABEL:
            events.require("request_id")
            assert events.request_id is not None
            for request, moment in zip(
                events.request_id.tolist(), events.timestamp_s.tolist(), strict=True
            ):
                impression = self.pending_.pop(request, None)
                if impression is None:
                    self.dropped_outcomes_ += (
                        1  # counted: no impression known (too old, or never seen)
                    )
                    continue
                shown_s, version = impression
                slot = int(shown_s // self.bin_s) % self.ring
                if self.bin_of_slot_[slot] != int(shown_s // self.bin_s):
                    self.dropped_outcomes_ += 1
                    continue
                delay_bin = int(np.searchsorted(self.delay_edges_s, moment - shown_s))
                self._counts(version).outcomes[slot, delay_bin] += 1

    def _ages_s(self, now_s: float) -> FloatArray:
        """Age of each ring slot's *whole* bin at ``now_s`` (the bin's end), -inf when unused."""
        ends = (self.bin_of_slot_ + 1) * self.bin_s
        return np.where(self.bin_of_slot_ >= 0, now_s - ends, -np.inf)

    def response_curve(
        self, version: str, now: datetime
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(elapsed_s, rate, impressions)``: responses within ``elapsed`` per impression at least
        that old, at each delay edge."""
        counts = self._counts(version)
        ages = self._ages_s(epoch_seconds(now))
        cumulative = np.cumsum(counts.outcomes, axis=1)[:, : self.delay_edges_s.size]
        mature = ages[:, None] >= self.delay_edges_s[None, :]
        impressions = (counts.impressions[:, None] * mature).sum(axis=0).astype(np.float64)
        responses = (cumulative * mature).sum(axis=0).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(impressions > 0, responses / impressions, np.nan)
        return self.delay_edges_s, rate, impressions

    def reliable_after_s(self, now: datetime) -> float:
        """Elapsed time by which ``reliable_share`` of eventual responses have arrived (NaN until
        some impressions are older than the horizon and have responses)."""
        ages = self._ages_s(epoch_seconds(now))
        mature = ages >= self.horizon_s
        outcomes = sum(
            (c.outcomes[mature].sum(axis=0) for c in self.counts_.values()),
            np.zeros(self.delay_edges_s.size + 1),
        )
        total = outcomes.sum()
        if total == 0:
            return math.nan
        share = np.cumsum(outcomes)[: self.delay_edges_s.size] / total
        index = int(np.searchsorted(share, self.reliable_share))
        return float(self.delay_edges_s[min(index, self.delay_edges_s.size - 1)])

    def compare(self, version_a: str, version_b: str, now: datetime) -> FeedbackComparison | None:
        """Both versions at the reliable elapsed time, with a two-proportion z statistic."""
        elapsed = self.reliable_after_s(now)
        if math.isnan(elapsed) or version_a not in self.counts_ or version_b not in self.counts_:
            return None
        index = int(np.searchsorted(self.delay_edges_s, elapsed))
        _, rate_a, n_a = self.response_curve(version_a, now)
        _, rate_b, n_b = self.response_curve(version_b, now)
        ra, rb, na, nb = rate_a[index], rate_b[index], n_a[index], n_b[index]
        if min(na, nb) < self.min_impressions:
            return None
        pooled = (ra * na + rb * nb) / (na + nb)
        spread = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / na + 1 / nb))
        return FeedbackComparison(
            elapsed_s=elapsed,
            version_a=version_a,
            version_b=version_b,
            rate_a=float(ra),
            rate_b=float(rb),
            impressions_a=int(na),
            impressions_b=int(nb),
            z=float((rb - ra) / spread),
        )

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        current = int(epoch_seconds(now) // self.interval_s)
        if self.next_interval_ is not None and current <= self.next_interval_:
            return []
        self.next_interval_ = current
        versions = sorted(self.counts_)
        found = []
        p = self.alarm_rate.probability_per_interval(timedelta(seconds=self.interval_s))
        for i, version_a in enumerate(versions):
            for version_b in versions[i + 1 :]:
                comparison = self.compare(version_a, version_b, now)
                if comparison is None:
                    continue
                threshold = self.threshold_.threshold(p)
                if abs(comparison.z) <= threshold:
                    self.threshold_.update([abs(comparison.z)])
                    continue
                minutes = comparison.elapsed_s / 60.0
                message = (
                    f"{minutes:.0f} min after impression, {version_b} responds at "
                    f"{comparison.rate_b:.2%} against {comparison.rate_a:.2%} for {version_a} "
                    f"(z={comparison.z:+.1f}); comparisons are reliable from {minutes:.0f} min "
                    f"({self.reliable_share:.0%} of eventual responses)"
                )
                found.append(
                    MonitorAlert(
                        monitor=self.name,
                        model=self.model,
                        version=version_b,
                        statistic="response_rate",
                        timestamp=now,
                        score=abs(comparison.z),
                        threshold=threshold,
                        message=message,
                        evidence={
                            "observed": comparison.rate_b,
                            "expected": comparison.rate_a,
                            "elapsed_s": comparison.elapsed_s,
                        },
                    )
                )
        return found
