"""``consensus``: the default detector. Several kinds of evidence, each calibrated on the series'
own history, combined into one tail probability per step.

Evidence per step (each turned into a probability by :mod:`vigil.detect.calibration`, so 3
always means "one step in a thousand on this series"):

- **residual**: ``|z|`` from the best of a local, daily and weekly baseline, scaled by the
  sample size when the series carries it (:mod:`vigil.detect.residual`), calibrated on the steps
  since the seasonal baselines began to compete (once there are enough of them: the local
  baseline's errors on a sharp daily edge would teach it that jumps of their size are routine,
  for 2,000 steps); its probability is the larger of the calibrated one and a global
  Student-t(10) one, so a smooth series whose history never strayed does not page on a 4-sigma
  step just because it is its largest yet (with ``n < 10`` rows behind a step, a
  Student-t(``n``): few rows are far from Gaussian); and for a proportion of rows or a count
  with its sample size, never below what exact sampling (binomial, Poisson) at the expected
  rate gives the step's value (:mod:`vigil.detect.sampling`): 1 in 10 rows where 1 in 200 is
  usual is four standard errors, and one step in twenty; (``stderr_floor``, off) for a series
  carrying standard errors (``Series.stderr``), where no exact law applies (a mean, a quantile),
  never below the Student-t(``n - 1``) tail at the step's own standard error;
- **novelty**: the distance of the last 8 values to the nearest shapes of the series' past
  (:mod:`vigil.detect.novelty`): routine spikes score low, new levels and shapes high
  (``typical_size_novelty``, off, first draws steps on fewer rows than typical toward their
  expected value: :func:`at_typical_size`);
- **runs**: a value repeated, an exact zero, a gap without values, for as long as they last
  (:mod:`vigil.detect.runs`), each also calibrated on the series' own history of such runs;
- **stretch** (series carrying standard errors): deviations from a forecast made before the
  stretch, each standardized by its own sampling variance, summed over the last 4, 12 and 48
  steps (:mod:`vigil.detect.stretch`): an incident smaller than one step's sampling noise is
  plain over two days. Each length calibrated on the series' own history (never below the
  normal tail of the sum), the smallest times 3; silenced where the novelty score finds the
  shapes familiar (a series back from an incident);
- **first zero** (``first_zeros``, off): a count carrying itself as its sample size that reads 0
  for the first time, judged by its shortfall in logs (:func:`vigil.detect.residual.first_zeros`);
- **routine zeros** (``routine_zeros``, off): once a series has shown 3 episodes of zeros that
  sampling cannot explain, the residual and novelty evidence of another is never below how often
  they began (:func:`vigil.detect.sampling.routine_zeros`);
- **quiet gaps** (``quiet_gaps``, off): a gap whose steps had no rows is never rarer than no row
  arriving, Poisson at the most lenient of the rates of rows the day before, the week before
  and the steps before the gap had (:func:`vigil.detect.runs.empty_steps_probability`).

Every calibration remembers at least ``memory_days`` (7) days of the series' steps, and at least
its own ``history`` (2,000 steps): 2,000 steps are 83 days of hourly data but 33 hours of minute
data, a memory that forgets the routine of the day before yesterday, never sees a weekend, and
after one noisy night excuses everything for a day and a half.

Residual and novelty are combined by Fisher's method (``-2 Σ ln p``, chi-square with 2 degrees
of freedom per probability): what both find odd becomes very unlikely, what one finds odd alone
stays moderate; where one has no value (novelty needs history), the other speaks alone. The
three run probabilities (and the stretch's) join with Bonferroni (the minimum of four
probabilities times four; five with the stretch).
Steps before the series' first value are left out (they carry nothing). A step alerts only
when that probability is below ``alpha`` (its score is 0 otherwise), and after an alert only a
higher score alerts within ``suppress`` steps.

Why these choices, and what else was tried: ``BENCHMARKS.md`` and ``docs/detection.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Self

import numpy as np
import numpy.typing as npt

from vigil.core import ConfigError, SeriesKey
from vigil.detect.base import Detection, Scores
from vigil.detect.calibration import (
    Calibration,
    calibrate,
    calibrated_threshold,
    fitted_steps,
    fitted_until,
    suppress,
    to_score,
)
from vigil.detect.interval import Thresholded, flag, z_for_level
from vigil.detect.novelty import Novelty, novelty
from vigil.detect.residual import Residual, first_zeros, residual
from vigil.detect.runs import event_runs
from vigil.detect.sampling import routine_zeros, sampling_probability, stderr_probability
from vigil.detect.stretch import Stretch, stretch_sums
from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsensusSettings:
    """The detector's settings; the defaults are the ones chosen leave-one-data-set-out."""

    calibration: Calibration = field(default_factory=Calibration)
    runs_calibration: Calibration = field(default_factory=lambda: Calibration(min_history=20))
    novelty: Novelty = field(default_factory=Novelty)
    global_df: float = 10.0
    typical_size_novelty: bool = False  # off: it lowered the business family (BENCHMARKS.md)
    sampling_floor: bool = True
    stderr_floor: bool = False  # off: it lowered marketplace on held-out seeds (BENCHMARKS.md)
    stretch: Stretch | None = field(default_factory=Stretch)  # None: off (BENCHMARKS.md, s. 8)
    first_zeros: bool = False  # off: fresh seeds +0.009, the rule asked 0.010 (BENCHMARKS.md)
    routine_zeros: bool = False  # off: held-out rule failed with quiet_gaps (BENCHMARKS.md, s. 10)
    quiet_gaps: bool = False  # off: as rates, +0.003 on held-out seeds 81/82 (s. 10, wave 2)
    memory_days: float | None = 7.0  # None: calibrations remember a number of steps only (s. 9)
    alpha: float = 3e-4
    suppress: int = 12
    level: float = 0.999

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"consensus alpha must be in (0, 1), got {self.alpha!r}")
        if self.global_df <= 0:
            raise ConfigError(f"consensus global_df must be > 0, got {self.global_df!r}")
        if self.suppress < 0:
            raise ConfigError(f"consensus suppress must be >= 0, got {self.suppress!r}")
        if self.memory_days is not None and not self.memory_days > 0:
            raise ConfigError(f"consensus memory_days must be > 0, got {self.memory_days!r}")

    def remembering(self, series: Series) -> ConsensusSettings:
        """These settings with every calibration's history at least ``memory_days`` of
        ``series``' steps: 2,000 steps are 83 days of hourly data but 33 hours of minute data,
        which forget the day before yesterday's routine and never see a weekend (see
        :func:`steps_per_day`)."""
        if self.memory_days is None:
            return self
        steps = int(self.memory_days * steps_per_day(series))
        if steps <= min(self.calibration.history, self.runs_calibration.history):
            return self
        return replace(
            self,
            calibration=_remembering(self.calibration, steps),
            runs_calibration=_remembering(self.runs_calibration, steps),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Per step, the probability each kind of evidence gives and the combined one."""

    residual: FloatArray
    novelty: FloatArray
    runs: dict[str, FloatArray]
    combined: FloatArray
    stretch: FloatArray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RawEvidence:
    """What one series' evidence rests on before calibration: the residual, the global
    Student-t tail of its ``z``, the raw novelty and the runs' Markov probabilities with their
    surprise. None of it depends on the fit (how much of the series is fitted history)."""

    base: Residual
    global_residual: FloatArray
    chance: FloatArray | None
    """The sampling floor of the residual's probability (None: off, or not a sampled series):
    exact binomial/Poisson, and the Student-t tail at the step's own standard error."""
    novelty: FloatArray
    runs: dict[str, tuple[FloatArray, FloatArray]]
    first_zeros: tuple[FloatArray, BoolArray, int] | None = None
    """A count's shortfall in logs and its first zero (:func:`vigil.detect.residual.first_zeros`);
    None when off or the series is no count carrying itself as its sample size."""
    routine_zeros: FloatArray | None = None
    """Per step reading a zero sampling cannot explain, how often such zeros began before
    (:func:`vigil.detect.sampling.routine_zeros`); None when off or not a sampled series."""
    stretch: tuple[FloatArray, ...] | None = None
    """Per stretch length, ``|S|`` (:func:`vigil.detect.stretch.stretch_sums`); None when off or
    the series carries no standard errors."""


class EvidenceMemo:
    """Raw evidence by series content, shared by detectors that score the same series.

    ``vigil run`` decides a cycle's windows a day at a time, each day with a new detector
    fitted up to that day, on the same series: the fit only moves the calibration, so the
    residual, novelty and runs of a series are computed once a cycle instead of once a day.
    Keyed by the series' key, times, values, support and stderr (their bytes), so a series that
    differs in any step (a calibration an incident blanked) is computed on its own."""

    def __init__(self) -> None:
        self._found: dict[tuple[object, ...], RawEvidence] = {}

    def raw(self, series: Series, settings: ConsensusSettings) -> RawEvidence:
        support = None if series.support is None else series.support.tobytes()
        stderr = None if series.stderr is None else series.stderr.tobytes()
        key = (
            series.key,
            series.timestamps.tobytes(),
            series.values.tobytes(),
            support,
            stderr,
            settings,
        )
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = raw_evidence(series, settings)
        return found

    def __len__(self) -> int:
        return len(self._found)


def raw_evidence(series: Series, settings: ConsensusSettings) -> RawEvidence:
    """See :class:`RawEvidence`."""
    # scipy.special, imported here, not scipy.stats (0.8 CPU s), which every command that
    # imports the detectors paid.
    from scipy import special

    base = residual(series)
    size = np.abs(base.z)
    # Until the series has a calibration, the global reference alone speaks: the two-sided
    # Student-t tail, 2 * t.sf(|z|) = 2 * stdtr(df, -|z|).
    global_residual = 2.0 * special.stdtr(_degrees(series, settings.global_df), -size)
    present = ~np.isnan(series.values)
    runs = {}
    for name, markov in event_runs(series, quiet_gaps=settings.quiet_gaps).items():
        surprise = np.where(present, -np.log10(np.maximum(markov, 1e-300)), np.nan)
        runs[name] = (markov, surprise)
    chance = sampling_probability(series, base.expected) if settings.sampling_floor else None
    if settings.stderr_floor:
        chance = _exact_else(chance, stderr_probability(series, base.expected))
    shapes = at_typical_size(series, base) if settings.typical_size_novelty else series.values
    found = RawEvidence(
        base=base,
        global_residual=global_residual,
        chance=chance,
        novelty=novelty(shapes, settings.novelty),
        runs=runs,
        stretch=None if settings.stretch is None else stretch_sums(series, settings.stretch),
        first_zeros=first_zeros(series) if settings.first_zeros else None,
        routine_zeros=routine_zeros(series, base.expected) if settings.routine_zeros else None,
    )
    # Shared by every score of the series that a memo serves: nobody may write into it.
    for array in (base.expected, base.scale, base.z, found.global_residual, found.novelty):
        array.setflags(write=False)
    for shared in (chance, found.routine_zeros, *(found.stretch or ())):
        if shared is not None:
            shared.setflags(write=False)
    for markov, surprise in runs.values():
        markov.setflags(write=False)
        surprise.setflags(write=False)
    return found


class ConsensusDetector(Thresholded):
    """See the module docstring. ``fit`` remembers, per series, up to when the history it saw
    reaches: those steps are calibrated in-sample against all of it when scored (the bench fits
    on each series' probationary prefix and then scores the whole series). With a ``memo``,
    each series' raw evidence is computed once for every detector sharing it (it holds them
    until it is dropped: the pipeline keeps one a cycle)."""

    name = "consensus"

    def __init__(
        self, *, settings: ConsensusSettings | None = None, memo: EvidenceMemo | None = None
    ) -> None:
        self.settings = settings or ConsensusSettings()
        self.memo = memo
        self.threshold_ = 0.0  # the detector's own decision: every step below alpha alerts
        self.fitted_until_: dict[SeriesKey, np.datetime64] = {}

    def fit(self, history: Sequence[Series]) -> Self:
        self.fitted_until_ = fitted_until(history)
        return self

    def evidence(self, series: Series) -> Evidence:
        """The probabilities behind one series' scores (for explanations and tests)."""
        first = _first_value(series)
        trimmed = series.slice(first, len(series))
        found = self._evidence(trimmed, self._raw(trimmed))
        return Evidence(
            residual=_padded(found.residual, first),
            novelty=_padded(found.novelty, first),
            runs={name: _padded(p, first, fill=1.0) for name, p in found.runs.items()},
            combined=_padded(found.combined, first),
            stretch=None if found.stretch is None else _padded(found.stretch, first),
        )

    def _evidence(self, series: Series, raw: RawEvidence) -> Evidence:
        s = self.settings.remembering(series)
        fitted = self._fitted_steps(series)
        size = np.abs(raw.base.z)
        own = calibrate(size, s.calibration, fitted=fitted, learn_from=raw.base.settled)
        p_residual = np.fmax(own, raw.global_residual)
        if raw.chance is not None:
            p_residual = np.where(np.isnan(p_residual), p_residual, np.fmax(p_residual, raw.chance))
        p_novelty = calibrate(raw.novelty, s.calibration, fitted=fitted)
        runs = {}
        for name, (markov, surprise) in raw.runs.items():
            learned = calibrate(surprise, s.runs_calibration, fitted=fitted)
            runs[name] = np.fmax(markov, np.nan_to_num(learned, nan=1.0))
        p_stretch = None
        if raw.stretch is not None and s.stretch is not None:
            p_stretch = self._stretch(raw.stretch, s.calibration, fitted, raw.base.settled)
            # A stretch back among shapes the series has shown (novelty finds nothing new) is
            # the end of an incident, or the series as usual: it is not news.
            familiar = np.nan_to_num(p_novelty, nan=0.0) > s.stretch.familiar
            p_stretch = np.where(familiar & ~np.isnan(p_stretch), 1.0, p_stretch)
        fisher = _fisher(p_residual, p_novelty)
        if raw.routine_zeros is not None:
            # A zero like those the series has shown before is no rarer than they have been.
            floor = raw.routine_zeros
            fisher = np.where(np.isnan(floor) | np.isnan(fisher), fisher, np.fmax(fisher, floor))
        rows = [fisher, *runs.values(), *(() if p_stretch is None else (p_stretch,))]
        if raw.first_zeros is not None:
            rows.append(self._first_zero(raw.first_zeros, s.calibration, fitted))
        stacked = np.vstack(rows)
        least = np.nanmin(np.where(np.isnan(stacked), np.inf, stacked), 0)
        combined = np.minimum(least * len(rows), 1.0)
        combined = np.where(np.isnan(stacked).all(axis=0), np.nan, combined)
        return Evidence(
            residual=p_residual, novelty=p_novelty, runs=runs, combined=combined, stretch=p_stretch
        )

    def _stretch(
        self, sums: tuple[FloatArray, ...], calibration: Calibration, fitted: int, settled: int
    ) -> FloatArray:
        """The stretch evidence's probability per step: each length's ``|S|`` calibrated on the
        series' own history, never below the two-sided normal tail of ``S`` (a standardized
        sum: a series whose sums never strayed does not page on its first 4-sigma one), and
        none before the calibration has history (the normal tail alone trusts a variance
        estimated on a few dozen steps); the smallest over the lengths times their number."""
        from scipy import special

        each = []
        for signed in sums:
            size = np.abs(signed)
            own = calibrate(size, calibration, fitted=fitted, learn_from=settled)
            floored = np.fmax(own, 2.0 * special.ndtr(-size))
            each.append(np.where(np.isnan(own), np.nan, floored))
        stacked = np.vstack(each)
        least = np.nanmin(np.where(np.isnan(stacked), np.inf, stacked), 0)
        out = np.minimum(least * len(sums), 1.0)
        return np.asarray(np.where(np.isnan(stacked).all(axis=0), np.nan, out), dtype=np.float64)

    def _first_zero(
        self, found: tuple[FloatArray, BoolArray, int], calibration: Calibration, fitted: int
    ) -> FloatArray:
        """A count's first zero: its shortfall in logs calibrated on the series' own history of
        shortfalls (none before the calibration has history); 1 on every other step."""
        shortfall, first, settled = found
        own = calibrate(shortfall, calibration, fitted=fitted, learn_from=settled)
        return np.asarray(np.where(np.isnan(own), np.nan, np.where(first, own, 1.0)))

    def score(self, series: Sequence[Series]) -> list[Scores]:
        return [self._score_one(one) for one in series]

    def infer_threshold_from_scores(self, calibration: Sequence[Scores], fpr: float) -> Self:
        """At most ``fpr`` of the calibration steps above the threshold, and never a step whose
        combined tail probability is above ``fpr`` (see :func:`calibrated_threshold`)."""
        scores = [one.score for one in calibration]
        self.threshold_ = calibrated_threshold(scores, fpr, name=self.name)
        return self

    def predict(self, series: Sequence[Series]) -> list[Detection]:
        return [flag(scores, self.threshold_) for scores in self.score(series)]

    def _score_one(self, whole: Series) -> Scores:
        """Scored from the series' first value on: the steps before it carry nothing, and a
        long run of them (a model laid out on a grid before its first data) would leave the
        calibration too little history in the fitted span and silence the novelty."""
        first = _first_value(whole)
        if first:
            found = self._score_one(whole.slice(first, len(whole)))
            return Scores(
                series=whole,
                score=_padded(found.score, first),
                expected=_padded(found.expected, first),
                lower=_padded(found.lower, first),
                upper=_padded(found.upper, first),
            )
        series = whole
        s = self.settings
        raw = self._raw(series)
        base = raw.base
        combined = self._evidence(series, raw).combined
        score = to_score(combined)
        score = np.where(np.isnan(score), np.nan, np.where(combined < s.alpha, score, 0.0))
        score[np.isnan(series.values)] = np.nan  # a missing value has no score; its gap does
        half = z_for_level(s.level) * base.scale
        return Scores(
            series=series,
            score=suppress(score, s.suppress),
            expected=base.expected,
            lower=base.expected - half,
            upper=base.expected + half,
        )

    def _raw(self, series: Series) -> RawEvidence:
        if self.memo is None:
            return raw_evidence(series, self.settings)
        return self.memo.raw(series, self.settings)

    def _fitted_steps(self, series: Series) -> int:
        return fitted_steps(self.fitted_until_, series)


def steps_per_day(series: Series) -> float:
    """Steps per day at the series' median step (1 for a series of fewer than two steps)."""
    if len(series) < 2:
        return 1.0
    stamps = series.timestamps.astype("datetime64[s]").astype(np.int64)
    step = float(np.median(np.diff(stamps)))
    return 86400.0 / step if step > 0 else 1.0


def _remembering(calibration: Calibration, steps: int) -> Calibration:
    return replace(calibration, history=max(calibration.history, steps))


def _degrees(series: Series, most: float) -> FloatArray | float:
    """The global reference's degrees of freedom per step: ``most``, or the step's sample size
    when it is smaller. A rate from 2 rows is far from Gaussian (a rare event seen in a one-row
    night hour happens one hour in 200, and its ``z`` is in the tens or hundreds), so a step
    resting on ``n < most`` rows is judged with a Student-t tail of ``n`` degrees of freedom
    (at least 1, the Cauchy). A count carrying itself as its ``n`` (requests with ``n`` =
    requests) keeps ``most``: its few-row steps are the news, not noise. That is judged on the
    steps so far (every step with a value carried itself), so a step's degrees of freedom, like
    its score, do not depend on the future."""
    support = series.support
    if support is None:
        return most
    present = ~np.isnan(series.values) & ~np.isnan(support)
    carried = np.logical_and.accumulate(np.where(present, support == series.values, True))
    own = np.clip(np.nan_to_num(support, nan=most), 1.0, most)
    return np.asarray(np.where(carried, most, own), dtype=np.float64)


def at_typical_size(series: Series, base: Residual, *, window: int = 500) -> FloatArray:
    """The values the novelty score compares, with each step's sampling noise cut to what a
    typical step carries: a step whose residual scale (which follows the rows behind it) is
    larger than the median scale of the last ``window`` steps is drawn toward its expected
    value by the ratio of the two. The novelty score compares shapes of raw values and knows
    nothing of sample sizes: a null rate of 2 in 5 on a quiet night is a shape no busy hour
    ever showed, though its rows make it routine. Steps on more rows than typical keep their
    values (stretching their deviations to a typical size was tried: more false alarms on 9 of
    10 development sets). Off by default: on fresh seeds it raised payments, marketplace and
    service but lowered business, and business:1, a development set. A series without sample
    sizes keeps its values (its scale carries no sampling noise to undo), as do steps without
    a residual (warm-up, missing values)."""
    if series.support is None:
        return series.values
    import pandas as pd  # on first use (0.2 CPU s to import): rolling windows only

    typical = pd.Series(base.scale).rolling(window, min_periods=1).median().to_numpy()
    values = base.expected + base.z * np.fmin(typical, base.scale)
    return np.asarray(np.where(np.isfinite(values), values, series.values), dtype=np.float64)


def _exact_else(exact: FloatArray | None, by_stderr: FloatArray | None) -> FloatArray | None:
    """Per step, the exact sampling floor where its law is known (a proportion's binomial, a
    count's Poisson), else the Student-t floor at the step's standard error: the binomial on
    ``n`` rows at the expected rate knows a rate of 4 in 13 where 0 is usual is news, and the
    plug-in ``sqrt(p(1-p)/n)`` of the observed rate (0.13, t = 2.4) does not."""
    if exact is None or by_stderr is None:
        return exact if by_stderr is None else by_stderr
    return np.asarray(np.where(np.isnan(exact), by_stderr, exact), dtype=np.float64)


def _first_value(series: Series) -> int:
    """Index of the first step with a value (0 when there is none)."""
    known = np.flatnonzero(~np.isnan(series.values))
    return int(known[0]) if known.size else 0


def _padded(values: FloatArray, steps: int, *, fill: float = np.nan) -> FloatArray:
    """``values`` after ``steps`` leading ``fill`` steps."""
    return np.concatenate([np.full(steps, fill), values]) if steps else values


def _fisher(*probabilities: FloatArray) -> FloatArray:
    """Fisher's combination, per step, of the probabilities that exist there: with ``k`` of them,
    ``-2 Σ ln p`` is chi-square with ``2k`` degrees of freedom, whose tail is
    ``e^{-x/2} Σ_{j<k} (x/2)^j / j!``. One alone is itself (``k = 1``); none is NaN. A missing
    novelty (too little history, a hole in its window) leaves the residual's evidence whole."""
    stacked = np.clip(np.vstack(probabilities), 1e-300, 1.0)
    present = ~np.isnan(stacked)
    half = -np.sum(np.where(present, np.log(stacked), 0.0), axis=0)  # x / 2
    count = present.sum(axis=0)
    term = np.ones(half.shape)
    tail = np.zeros(half.shape)
    for j in range(len(probabilities)):
        tail += np.where(j < count, term, 0.0)
        term = term * half / (j + 1)
    combined = np.where(count > 0, np.exp(-half) * tail, np.nan)
    return np.asarray(np.minimum(combined, 1.0), dtype=np.float64)
