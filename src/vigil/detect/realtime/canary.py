"""Canary, champion, challenger: per-request differences between models scoring the same request.

Dunning's canary is an old, trusted model kept scoring live traffic: the champion's per-request
differences from it are a stable baseline, so a change in their size means one of the two
changed. A challenger is judged against both: the champion (how different would switching be?)
and the canary (is it more different than the champion is from a model we trust?).

Scores are paired by ``request_id``, per pair of roles: a score waits in a bounded table until
its partner arrives, or is counted as unpaired after ``pairing_window`` (or when the table
exceeds ``max_pending``). Pairing is vectorized (sorted-array joins), never a Python loop per
request. Per pair of roles the monitor keeps the mean absolute difference per interval
(the monitored statistic, as a z-score against its own long-run mean and spread), a KLL sketch
of the absolute differences (their distribution) and the ``top_k`` requests where the two
disagree most, for inspection.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.base import MonitorAlert
from vigil.detect.realtime.events import (
    Events,
    FloatArray,
    StrArray,
    epoch_seconds,
    utc_datetime,
)
from vigil.detect.realtime.threshold import (
    AlarmRate,
    ScoreThreshold,
    two_sided_normal_quantile,
)
from vigil.profile import QuantileSketch

CHAMPION, CANARY, CHALLENGER = "champion", "canary", "challenger"
PAIRS = ((CHAMPION, CANARY), (CHAMPION, CHALLENGER), (CANARY, CHALLENGER))


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Disagreement:
    """One request where two models disagree: kept for a person to look at."""

    gap: float
    request_id: str
    timestamp_s: float
    first: float
    second: float


_Matched = tuple[StrArray, FloatArray, FloatArray, FloatArray]


@dataclass(slots=True, kw_only=True)
class _Side:
    """Scores of one role waiting for their partner, as columns."""

    ids: StrArray
    times: FloatArray
    scores: FloatArray

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> _Side:
        return _Side(ids=self.ids[index], times=self.times[index], scores=self.scores[index])

    def append(self, other: _Side) -> _Side:
        return _Side(
            ids=np.concatenate([self.ids, other.ids]),
            times=np.concatenate([self.times, other.times]),
            scores=np.concatenate([self.scores, other.scores]),
        )


def _empty_side() -> _Side:
    return _Side(ids=np.zeros(0, dtype=np.str_), times=np.zeros(0), scores=np.zeros(0))


def _empty_sides() -> list[_Side]:
    return [_empty_side(), _empty_side()]


@dataclass(slots=True, kw_only=True)
class _PairTable:
    """Unmatched scores of both roles of one pair."""

    sides: list[_Side] = field(default_factory=_empty_sides)

    def match(self, batch: _Side, mine: int) -> _Matched:
        """Join ``batch`` (role ``mine``: 0 first, 1 second) with the partner's waiting scores;
        return the pairs as (ids, times, first scores, second scores) and keep the rest."""
        other = self.sides[1 - mine]
        _, in_batch, in_other = np.intersect1d(
            batch.ids, other.ids, assume_unique=False, return_indices=True
        )
        left = np.ones(len(batch.ids), dtype=bool)
        left[in_batch] = False
        rest = np.ones(len(other.ids), dtype=bool)
        rest[in_other] = False
        self.sides[mine] = self.sides[mine].append(batch.take(left))
        self.sides[1 - mine] = other.take(rest)
        mine_scores, other_scores = batch.scores[in_batch], other.scores[in_other]
        first, second = (mine_scores, other_scores) if mine == 0 else (other_scores, mine_scores)
        times = np.minimum(batch.times[in_batch], other.times[in_other])
        return batch.ids[in_batch], times, first, second

    def expire(self, before_s: float) -> int:
        """Drop scores that waited since before ``before_s``; return how many."""
        dropped = 0
        for index, side in enumerate(self.sides):
            fresh = side.times >= before_s
            dropped += int((~fresh).sum())
            self.sides[index] = side.take(fresh)
        return dropped

    def trim(self, limit: int) -> int:
        """Keep at most ``limit`` waiting scores per side (the newest); return how many went."""
        dropped = 0
        for index, side in enumerate(self.sides):
            if len(side.ids) > limit:
                order = np.argsort(side.times)[-limit:]
                dropped += len(side.ids) - limit
                self.sides[index] = side.take(order)
        return dropped


@dataclass(slots=True, kw_only=True)
class PairTrack:
    """The running record of one pair of roles (e.g. champion vs canary)."""

    sketch: QuantileSketch
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    interval_n: int = 0
    interval_total: float = 0.0
    interval_total_sq: float = 0.0
    top: list[Disagreement] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def std(self) -> float:
        if self.n < 2:
            return math.nan
        return math.sqrt(max(self.total_sq / self.n - self.mean**2, 0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengerRisk:
    """How far a challenger strays from the champion, compared with how far the canary does."""

    mad_vs_champion: float
    mad_vs_canary: float
    baseline_mad: float
    p99_vs_champion: float
    ratio: float
    pairs: int

    def summary(self) -> str:
        return (
            f"challenger differs from the champion by {self.mad_vs_champion:.3g} on average "
            f"({self.ratio:.1f}x the champion-canary baseline {self.baseline_mad:.3g}; "
            f"{self.mad_vs_canary:.3g} from the canary); 99% of its differences within "
            f"{self.p99_vs_champion:.3g} over {self.pairs} requests"
        )


class PairedScoreMonitor:
    """Tracks per-request score differences between a champion, a canary and a challenger.

    ``models`` maps each role to the model name whose events carry its scores (the canary and
    challenger are typically deployed as models of their own).
    """

    name = "canary"

    def __init__(
        self,
        models: Mapping[str, str],
        *,
        alarm_rate: AlarmRate | None = None,
        interval: timedelta = timedelta(minutes=5),
        pairing_window: timedelta = timedelta(minutes=2),
        max_pending: int = 200_000,
        min_pairs: int = 30,
        top_k: int = 20,
        cooldown: timedelta = timedelta(hours=1),
        k: int = 200,
    ) -> None:
        unknown = set(models) - {CHAMPION, CANARY, CHALLENGER}
        if CHAMPION not in models or len(models) < 2 or unknown:
            raise ConfigError(
                f"roles must include champion and one of canary/challenger, got {dict(models)!r}"
            )
        self.roles = {model: role for role, model in models.items()}
        self.models = dict(models)
        self.alarm_rate = alarm_rate or AlarmRate()
        self.interval_s = interval.total_seconds()
        self.window_s = pairing_window.total_seconds()
        self.max_pending = max_pending
        self.min_pairs = min_pairs
        self.top_k = top_k
        self.cooldown_s = cooldown.total_seconds()
        self.last_alarm_s_: dict[tuple[str, str], float] = {}
        self.unpaired_ = 0
        self.tracks_ = {
            pair: PairTrack(sketch=QuantileSketch.empty(k))
            for pair in PAIRS
            if pair[0] in models and pair[1] in models
        }
        self.pending_ = {pair: _PairTable() for pair in self.tracks_}
        self.interval_: int | None = None
        self.thresholds_ = {
            pair: ScoreThreshold(two_sided_normal_quantile, memory=5_000) for pair in self.tracks_
        }

    def update(self, events: Events) -> None:
        role = self.roles.get(events.model)
        if (
            role is None
            or events.kind not in (EventKind.COMPLETION, EventKind.PREDICTION)
            or len(events) == 0
        ):
            return
        events.require("request_id", "score")
        assert events.request_id is not None and events.score is not None
        batch = _Side(ids=events.request_id, times=events.timestamp_s, scores=events.score)
        for pair, table in self.pending_.items():
            if role in pair:
                mine = 0 if role == pair[0] else 1
                self._record(pair, table.match(batch, mine))
                self.unpaired_ += table.trim(self.max_pending)

    def _record(self, pair: tuple[str, str], matched: _Matched) -> None:
        ids, times, first, second = matched
        gaps = np.abs(second - first)
        finite = np.isfinite(gaps)
        if not finite.any():
            return
        ids, times, first, second, gaps = (x[finite] for x in (ids, times, first, second, gaps))
        track = self.tracks_[pair]
        track.sketch = track.sketch.update(gaps)
        track.interval_n += int(gaps.size)
        track.interval_total += float(gaps.sum())
        track.interval_total_sq += float((gaps**2).sum())
        if len(track.top) >= self.top_k:
            candidates = np.flatnonzero(gaps > track.top[0].gap)
        else:
            candidates = np.arange(gaps.size)
        best = candidates[np.argsort(gaps[candidates])[-self.top_k :]]
        for index in best.tolist():
            item = Disagreement(
                gap=float(gaps[index]),
                request_id=str(ids[index]),
                timestamp_s=float(times[index]),
                first=float(first[index]),
                second=float(second[index]),
            )
            if len(track.top) < self.top_k:
                heapq.heappush(track.top, item)
            elif item > track.top[0]:
                heapq.heapreplace(track.top, item)

    def disagreements(self, first: str, second: str) -> list[Disagreement]:
        """The requests where ``first`` and ``second`` disagreed most, largest first."""
        return sorted(self.tracks_[(first, second)].top, reverse=True)

    def challenger_risk(self) -> ChallengerRisk:
        """The challenger's differences from champion and canary against the canary baseline."""
        if (CHAMPION, CHALLENGER) not in self.tracks_:
            raise ConfigError("challenger_risk needs a challenger (and a canary for the baseline)")
        vs_champion = self.tracks_[(CHAMPION, CHALLENGER)]
        baseline = self.tracks_.get((CHAMPION, CANARY))
        vs_canary = self.tracks_.get((CANARY, CHALLENGER))
        base = baseline.mean if baseline else math.nan
        return ChallengerRisk(
            mad_vs_champion=vs_champion.mean,
            mad_vs_canary=vs_canary.mean if vs_canary else math.nan,
            baseline_mad=base,
            p99_vs_champion=vs_champion.sketch.quantile(0.99),
            ratio=vs_champion.mean / base if base and base > 0 else math.nan,
            pairs=vs_champion.n,
        )

    def alerts(self, now: datetime) -> list[MonitorAlert]:
        now_s = epoch_seconds(now)
        for table in self.pending_.values():
            self.unpaired_ += table.expire(now_s - self.window_s)
        current = int(now_s // self.interval_s)
        if self.interval_ is None:
            self.interval_ = current
        if current <= self.interval_:
            return []
        found = [
            alert
            for pair, track in self.tracks_.items()
            if (alert := self._judge(pair, track, now_s)) is not None
        ]
        self.interval_ = current
        return found

    def _judge(self, pair: tuple[str, str], track: PairTrack, now_s: float) -> MonitorAlert | None:
        n, total, total_sq = track.interval_n, track.interval_total, track.interval_total_sq
        track.interval_n, track.interval_total, track.interval_total_sq = 0, 0.0, 0.0
        alert = None
        if n >= self.min_pairs and track.n >= 10 * self.min_pairs and track.std > 0:
            mad = total / n
            z = (mad - track.mean) / (track.std / math.sqrt(n))
            p = self.alarm_rate.probability_per_interval(timedelta(seconds=self.interval_s))
            threshold = self.thresholds_[pair].threshold(p)
            if abs(z) > threshold:
                if now_s - self.last_alarm_s_.get(pair, -math.inf) < self.cooldown_s:
                    return None  # still the incident already raised; not learned as normal
                self.last_alarm_s_[pair] = now_s
                word = "grew" if z > 0 else "shrank"
                first, second = pair
                alert = MonitorAlert(
                    monitor=self.name,
                    model=self.models[CHAMPION],
                    version="",
                    statistic=f"mad_{first}_{second}",
                    timestamp=utc_datetime(now_s),
                    score=abs(z),
                    threshold=threshold,
                    message=(
                        f"{second} ({self.models[second]}) and {first} "
                        f"({self.models[first]}) disagree: mean absolute difference {word} "
                        f"to {mad:.3g} from {track.mean:.3g} ({z:+.1f} sd)"
                    ),
                    evidence={"observed": mad, "expected": track.mean, "pairs": float(n)},
                )
                return alert
            self.thresholds_[pair].update([abs(z)])
        if n:
            track.n += n
            track.total += total
            track.total_sq += total_sq
        return alert
