"""Simulated event streams with injected faults, for tests and benchmarks of the monitors.

Traffic is an inhomogeneous Poisson process with a diurnal cycle (and a weaker weekly one),
spread over hosts; each request gets a champion score, a paired canary and challenger score,
a log-normal latency and maybe a delayed outcome. Faults are values describing what breaks and
when; :func:`simulate_stream` applies them and :func:`replay` feeds the stream to monitors in
time steps, as the ingest server would, collecting their alerts. Everything is seeded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime.base import Monitor, MonitorAlert
from vigil.detect.realtime.events import Events, epoch_seconds, utc_datetime

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.str_]
DAY_S = 86400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SlowHost:
    """From ``start``, a ``fraction`` of ``host``'s requests take ``factor`` times longer."""

    host: str
    start: datetime
    fraction: float = 0.5
    factor: float = 20.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamStop:
    """No ``arrivals`` (or, with ``completions``, no responses) during ``[start, end)``."""

    start: datetime
    end: datetime
    completions_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRollout:
    """From ``start`` the champion is ``version``, its scores shifted by ``score_shift`` logits."""

    version: str
    start: datetime
    score_shift: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class CanaryDivergence:
    """From ``start`` the canary's scores stray from the champion's by ``noise`` extra logits."""

    start: datetime
    noise: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class AbTest:
    """From ``start`` a ``share`` of requests is served by ``version``, converting
    ``conversion_factor`` times as often as the champion."""

    version: str
    start: datetime
    share: float = 0.5
    conversion_factor: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RateChange:
    """During ``[start, end)`` requests arrive ``factor`` times as often as usual."""

    start: datetime
    end: datetime
    factor: float


Fault = SlowHost | StreamStop | VersionRollout | CanaryDivergence | AbTest | RateChange


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficSpec:
    """What normal traffic looks like."""

    model: str = "ranker"
    version: str = "v1"
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)
    duration: timedelta = timedelta(days=7)
    mean_rate_per_s: float = 2.0
    daily_amplitude: float = 0.6
    weekly_amplitude: float = 0.1
    hosts: int = 50
    median_latency_ms: float = 20.0
    conversion_rate: float = 0.05
    median_outcome_delay_s: float = 1200.0

    def __post_init__(self) -> None:
        if self.mean_rate_per_s <= 0 or not 0 <= self.daily_amplitude < 1:
            raise ConfigError(
                f"bad traffic rate {self.mean_rate_per_s!r} / amplitude {self.daily_amplitude!r}"
            )
        if self.start.tzinfo is None or self.duration <= timedelta(0) or self.hosts < 1:
            raise ConfigError(
                f"bad traffic window {self.start!r}+{self.duration!r} or hosts {self.hosts!r}"
            )

    def rate_per_s(self, seconds_since_start: FloatArray) -> FloatArray:
        day = 2 * np.pi * seconds_since_start / DAY_S
        week = day / 7.0
        return (
            self.mean_rate_per_s
            * (1 + self.daily_amplitude * np.sin(day))
            * (1 + self.weekly_amplitude * np.sin(week))
        )


def _no_faults() -> tuple[Fault, ...]:
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedStream:
    """One simulated stream: per request columns, sorted by arrival."""

    spec: TrafficSpec
    arrival_s: FloatArray
    completion_s: FloatArray  # NaN when the request never completed
    request_id: StrArray
    host: StrArray
    version: StrArray
    score: FloatArray
    canary_score: FloatArray
    challenger_score: FloatArray
    latency_ms: FloatArray
    outcome_s: FloatArray  # NaN when there is no outcome
    faults: tuple[Fault, ...] = field(default_factory=_no_faults)
    _orders: dict[str, tuple[npt.NDArray[np.int64], FloatArray]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Orders by completion and by outcome time, so a replay step is two binary searches.
        # NaN sorts last: requests never completed (or never converted) are never found.
        orders = {}
        for name in ("completion_s", "outcome_s"):
            order = np.argsort(getattr(self, name), kind="stable")
            orders[name] = (order, getattr(self, name)[order])
        object.__setattr__(self, "_orders", orders)

    def _between(self, name: str, start_s: float, end_s: float) -> npt.NDArray[np.int64]:
        order, times = self._orders[name]
        lo, hi = np.searchsorted(times, [start_s, end_s])
        return order[int(lo) : int(hi)]

    def __len__(self) -> int:
        return len(self.arrival_s)

    def events(self, start_s: float, end_s: float) -> list[Events]:
        """All events with timestamps in ``[start_s, end_s)``: arrivals, completions (champion,
        canary, challenger) and outcomes, each kind in its own batch."""
        model = self.spec.model
        lo, hi = np.searchsorted(self.arrival_s, [start_s, end_s])
        arrived = slice(int(lo), int(hi))
        batches = [
            Events(
                model=model,
                kind=EventKind.ARRIVAL,
                timestamp_s=self.arrival_s[arrived],
                request_id=self.request_id[arrived],
                tags={"host": self.host[arrived]},
            )
        ]
        done = self._between("completion_s", start_s, end_s)
        done_s, done_ids = self.completion_s[done], self.request_id[done]
        batches.append(
            Events(
                model=model,
                kind=EventKind.COMPLETION,
                version=self.version[done],
                score=self.score[done],
                latency_ms=self.latency_ms[done],
                tags={"host": self.host[done], "version": self.version[done]},
                timestamp_s=done_s,
                request_id=done_ids,
            )
        )
        for suffix, scores in (
            ("canary", self.canary_score),
            ("challenger", self.challenger_score),
        ):
            batches.append(
                Events(
                    model=f"{model}-{suffix}",
                    kind=EventKind.COMPLETION,
                    score=scores[done],
                    timestamp_s=done_s,
                    request_id=done_ids,
                )
            )
        came = self._between("outcome_s", start_s, end_s)
        batches.append(
            Events(
                model=model,
                kind=EventKind.LABEL,
                timestamp_s=self.outcome_s[came],
                request_id=self.request_id[came],
                version=self.version[came],
                score=np.ones(came.size),
            )
        )
        return batches


def _arrivals(spec: TrafficSpec, faults: Sequence[Fault], rng: np.random.Generator) -> FloatArray:
    seconds = spec.duration.total_seconds()
    minute_starts = np.arange(0.0, seconds, 60.0, dtype=np.float64)
    rate = spec.rate_per_s(minute_starts + 30.0)
    for fault in faults:
        if isinstance(fault, RateChange):
            start = (fault.start - spec.start).total_seconds()
            end = (fault.end - spec.start).total_seconds()
            inside = (minute_starts >= start) & (minute_starts < end)
            rate = np.where(inside, rate * fault.factor, rate)
    counts = rng.poisson(rate * 60.0)
    offsets = np.repeat(minute_starts, counts) + rng.uniform(0.0, 60.0, int(counts.sum()))
    return np.sort(offsets) + epoch_seconds(spec.start)


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def simulate_stream(
    spec: TrafficSpec, faults: Sequence[Fault] = (), *, seed: int
) -> SimulatedStream:
    """A seeded stream of ``spec`` traffic with ``faults`` applied."""
    rng = np.random.default_rng(seed)
    arrival = _arrivals(spec, faults, rng)
    n = arrival.size
    host_index = rng.integers(0, spec.hosts, n)
    host = np.array([f"h-{index}" for index in range(spec.hosts)], dtype=np.str_)[host_index]
    logit = rng.normal(-1.0, 1.2, n)
    version = np.full(n, spec.version, dtype="<U32")
    canary_noise = np.full(n, 0.1)
    host_speed = np.exp(rng.normal(0.0, 0.1, spec.hosts))
    latency = spec.median_latency_ms * host_speed[host_index] * np.exp(rng.normal(0.0, 0.4, n))
    conversion = np.full(n, spec.conversion_rate)
    keep = np.ones(n, dtype=bool)
    completed = np.ones(n, dtype=bool)
    for fault in faults:
        after = arrival >= epoch_seconds(fault.start)
        if isinstance(fault, SlowHost):
            slow = after & (host == fault.host) & (rng.uniform(size=n) < fault.fraction)
            latency = np.where(slow, latency * fault.factor, latency)
        elif isinstance(fault, StreamStop):
            inside = after & (arrival < epoch_seconds(fault.end))
            if fault.completions_only:
                completed &= ~inside
            else:
                keep &= ~inside
        elif isinstance(fault, VersionRollout):
            version = np.where(after, fault.version, version)
            logit = np.where(after, logit + fault.score_shift, logit)
        elif isinstance(fault, RateChange):
            continue  # applied to the arrival process itself
        elif isinstance(fault, AbTest):
            served = after & (rng.uniform(size=n) < fault.share)
            version = np.where(served, fault.version, version)
            conversion = np.where(served, conversion * fault.conversion_factor, conversion)
        else:
            canary_noise = np.where(after, math.hypot(0.1, fault.noise), canary_noise)
    score = _sigmoid(logit)
    canary = _sigmoid(logit + rng.normal(0.0, 1.0, n) * canary_noise)
    challenger = _sigmoid(logit + 0.1 + rng.normal(0.0, 0.2, n))
    converts = rng.uniform(size=n) < conversion * 2 * score
    delay = spec.median_outcome_delay_s * np.exp(rng.normal(0.0, 1.0, n))
    completion = np.where(completed, arrival + latency / 1000.0, np.nan)
    outcome = np.where(converts & completed, arrival + delay, np.nan)
    ids = np.arange(n).astype(np.str_)
    return SimulatedStream(
        spec=spec,
        arrival_s=arrival[keep],
        completion_s=completion[keep],
        request_id=ids[keep],
        host=host[keep],
        version=version[keep].astype(np.str_),
        score=score[keep],
        canary_score=canary[keep],
        challenger_score=challenger[keep],
        latency_ms=latency[keep],
        outcome_s=outcome[keep],
        faults=tuple(faults),
    )


def time_steps(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[float, float]]:
    """Consecutive ``[start_s, end_s)`` epoch-second steps covering ``[start, end)``."""
    first, last, width = epoch_seconds(start), epoch_seconds(end), step.total_seconds()
    edges = np.append(np.arange(first, last, width), last)
    yield from zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)


def replay(
    stream: SimulatedStream,
    monitors: Sequence[Monitor],
    *,
    step: timedelta = timedelta(minutes=1),
    until: datetime | None = None,
) -> list[MonitorAlert]:
    """Feed ``stream`` to ``monitors`` step by step, asking for alerts at the end of each step."""
    end = until or stream.spec.start + stream.spec.duration
    found: list[MonitorAlert] = []
    for start_s, end_s in time_steps(stream.spec.start, end, step):
        batches = stream.events(start_s, end_s)
        now = utc_datetime(end_s)
        for monitor in monitors:
            for batch in batches:
                monitor.update(batch)
            found.extend(monitor.alerts(now))
    return found
