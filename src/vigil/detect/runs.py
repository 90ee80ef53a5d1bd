"""How surprising a run of a discrete event is on one series: repeats, exact zeros, gaps.

A statistic that normally moves and then repeats its value for hours is stuck; a rate that has
never been 0 and reads 0 points at a dead pipeline; a series with values every step and then
none lost its feed. These are not outliers in value, so residual and novelty scores miss them.
Each is a run of a flag, and its probability comes from the series' own history as a Markov
chain: ``P(run >= L) = q_start · q_continue^(L-1)``, where ``q_start`` is how often a run
started on a step that was not in one, and ``q_continue`` how often a run went on, both counted
on the steps before the run began (with half a pseudo-count, so a never-seen event is rare, not
impossible). A series that is often constant, or often zero, keeps these probabilities high;
one constant from its start has no evidence against constancy and is left alone.

A proportion of rows (a null rate, a share: values in [0, 1] whose ``value · n`` are whole
counts) repeats by sampling alone when few rows stand behind it: a 2% null rate on one row an
hour reads 0 for days. Its repeats and zeros are therefore never less likely than the binomial
probability of those exact values on those rows, at the rate of the steps before them.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.stats.series import Series

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def run_probability(flag: BoolArray, valid: BoolArray, *, settle: int = 100) -> FloatArray:
    """Per step: the probability of a run of ``flag`` at least as long as the one ending here
    (1 where the flag is off or the step is not ``valid``).

    The rates are counted on the steps *before the run began*: counted inside it, a long run
    would make itself likely. A run that began within the first ``settle`` valid steps (a
    series constant from its start) is no evidence of anything and keeps probability 1.
    """
    out = np.ones(flag.size)
    starts = continued = 0
    free = inside = 0  # steps where a run could start / could go on
    run = 0
    q_start = q_continue = 1.0
    for seen, step in enumerate(np.flatnonzero(valid)):
        if flag[step]:
            if run == 0:
                q_start = (starts + 0.5) / (free + 1.0)
                q_continue = (continued + 0.5) / (inside + 1.0)
                began = seen
            run += 1
            if began >= settle:
                out[step] = min(1.0, q_start * q_continue ** (run - 1))
        else:
            if run > 0:
                starts += 1
                free += 1
                continued += run - 1
                inside += run
            else:
                free += 1
            run = 0
    return out


def event_runs(series: Series, *, quiet_gaps: bool = False) -> dict[str, FloatArray]:
    """``repeat`` (the value equals the previous one), ``zero`` (the value is exactly 0) and
    ``gap`` (the steps just before had no value) as run probabilities; 1 where the event is
    not defined. A missing value has no score (the Detector protocol: NaN never flags), so a gap
    is judged on the first step with a value after it, with the probability of the whole gap."""
    values = series.values.astype(np.float64)
    present = ~np.isnan(values)
    change = np.abs(np.diff(values, prepend=np.nan))
    same = (change <= 1e-12 * (np.abs(values) + 1.0)) & present
    zero = (values == 0) & present
    repeat = run_probability(same, present)
    zeros = run_probability(zero, present)
    chance = _sampling_log_probability(series)
    if chance is not None:
        repeat = np.fmax(repeat, np.exp(_run_sums(chance, same, present)))
        zeros = np.fmax(zeros, np.exp(_run_sums(chance, zero, present)))
    gaps = run_probability(~present, np.ones(values.size, dtype=bool))
    if quiet_gaps:
        empty = empty_steps_probability(series)
        if empty is not None:
            gaps = np.fmax(gaps, empty)
    return {"repeat": repeat, "zero": zeros, "gap": _after_gaps(gaps, present)}


def empty_steps_probability(
    series: Series, *, window: int = 24, span_s: float = 3600.0
) -> FloatArray | None:
    """Per step of a gap whose steps had no rows (``n`` = 0), the chance that no row arrives
    over the gap so far, Poisson at the most lenient of three expectations of each step's rows:
    the rate the same time the day before and the week before (the mean rows per step within
    ``span_s / 2`` of that time), and the mean rows of the steps that had rows among the
    ``window`` steps before the gap began (at least a quarter of them). 0 elsewhere; None when
    the series carries no sample sizes. A rate on a few rows an hour has no value when no row
    comes: on a weekend the same time last week had none either, while a feed that dies at a
    busy hour had rows at every one of the three.

    Every expectation is a rate: rows arriving as Poisson(λ) a step leave ``k`` steps empty with
    chance ``e^(-λk)``. On a feed of a row a minute or less the median step, and the single
    minute yesterday, hold no row, and the least of such draws called any gap routine, a
    24-minute outage after 8 rows in the 24 minutes before included. The recent rate leaves out
    the empty steps, which may be the outage flapping (then it would excuse itself); counted
    in, a flapping outage lost on ``payments`` (``BENCHMARKS.md``, session 10)."""
    if series.support is None:
        return None
    from vigil.detect.residual import DAY_S, lagged

    n = series.support.astype(np.float64)
    empty = np.isnan(series.values) & (n == 0)
    if not empty.any():
        return None
    stamps = series.timestamps.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    step = float(np.median(np.diff(stamps))) if stamps.size > 1 else DAY_S
    # The recent rate counts the steps that had rows: an empty step before the gap may be the
    # same outage flapping, and counted it would excuse the outage (a stricter recent rate only
    # keeps the gap run's own evidence; a feed that is sparse by nature was sparse yesterday).
    before = _mean_before(np.where(n > 0, n, np.nan), window)
    began = empty & ~np.concatenate([[False], empty[:-1]])
    start = np.maximum.accumulate(np.where(began, np.arange(n.size), 0))
    local = np.where(empty, before[start], np.nan)
    # Yesterday's and last week's rows as rates too: a sparse feed's single step is a Poisson
    # draw, 0 more often than not, and the least of several draws per step is biased low.
    half = min(round(span_s / 2 / step), max(int(DAY_S / step) - 1, 0))
    then = _mean_around(n, half)
    rows = np.vstack([lagged(stamps, then, DAY_S, step), lagged(stamps, then, 7 * DAY_S, step)])
    rows = np.vstack([rows, local])
    rate = np.nanmin(np.where(np.isnan(rows), np.inf, rows), axis=0)
    rate = np.where(np.isfinite(rate), rate, np.nan)
    # Summed over the gap so far; a step without an expectation adds nothing and proves nothing.
    total = np.zeros(n.size)
    running = 0.0
    for i in np.flatnonzero(empty).tolist():
        running = (0.0 if began[i] else running) + float(np.nan_to_num(rate[i], nan=0.0))
        total[i] = running
    known = empty & np.isfinite(rate)
    return np.asarray(np.where(known, np.exp(-total), 0.0), dtype=np.float64)


def _mean_before(values: FloatArray, window: int) -> FloatArray:
    """Per step, the mean of the known values among the ``window`` steps before it; NaN while
    fewer than ``max(3, window // 4)`` are known (a step whose rows are unknown proves nothing)."""
    steps = np.arange(values.size)
    return _known_mean(values, steps - window, steps, least=max(3, window // 4))


def _mean_around(values: FloatArray, half: int) -> FloatArray:
    """Per step, the mean of the known values among the steps at most ``half`` away (NaN where
    none is known); the values themselves when ``half`` is 0."""
    if half <= 0:
        return values
    steps = np.arange(values.size)
    return _known_mean(values, steps - half, steps + half + 1, least=1)


def _known_mean(
    values: FloatArray, first: npt.NDArray[np.int64], last: npt.NDArray[np.int64], *, least: int
) -> FloatArray:
    """Per step, the mean of the known values at ``first`` up to (not including) ``last``,
    both clipped to the series; NaN where fewer than ``least`` are known."""
    known = ~np.isnan(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])
    seen = np.concatenate([[0], np.cumsum(known)])
    first = np.clip(first, 0, values.size)
    last = np.clip(last, 0, values.size)
    count = seen[last] - seen[first]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total[last] - total[first]) / count
    return np.asarray(np.where(count >= least, mean, np.nan), dtype=np.float64)


def _sampling_log_probability(series: Series) -> FloatArray | None:
    """For a proportion of rows (values in [0, 1] whose ``value · n`` are whole counts), the
    log-probability of each step's exact value under sampling alone: binomial with its ``n``
    and the rate of the steps before it; -inf on steps where the series so far (at least 20
    known values, none outside [0, 1], 99% whole counts) does not look like one, so a series
    cut short scores as the whole series' first steps. None when no step qualifies."""
    if series.support is None:
        return None
    values = series.values.astype(np.float64)
    n = series.support.astype(np.float64)
    known = ~np.isnan(values) & ~np.isnan(n) & (n > 0)
    k = values * n
    whole = np.abs(k - np.round(k)) <= 1e-6 * np.maximum(n, 1.0)
    outside = known & ((values < 0) | (values > 1))
    seen = np.cumsum(known)
    proportion = (
        (seen >= 20) & (np.cumsum(outside) == 0) & (np.cumsum(known & whole) >= 0.99 * seen)
    )
    if not proportion.any():
        return None
    from scipy import special

    counts = np.where(known, np.round(k), 0.0)
    rows = np.where(known, n, 0.0)
    rate = (np.cumsum(counts) - counts + 0.5) / (np.cumsum(rows) - rows + 1.0)
    rate = np.clip(rate, 1e-9, 1 - 1e-9)
    log_pmf = (
        special.gammaln(rows + 1)
        - special.gammaln(counts + 1)
        - special.gammaln(rows - counts + 1)
        + counts * np.log(rate)
        + (rows - counts) * np.log1p(-rate)
    )
    chance = np.where(known, log_pmf, np.where(np.isnan(values), np.nan, 0.0))
    return np.where(proportion, chance, -np.inf)


def _run_sums(log_p: FloatArray, flag: BoolArray, valid: BoolArray) -> FloatArray:
    """Per flagged step, the sum of ``log_p`` over its run so far (runs counted over valid steps,
    as :func:`run_probability` does); -inf where the flag is off. The loop runs on Python floats
    and lists: a numpy scalar per step cost a third of the detector's time."""
    out = np.full(flag.size, -np.inf)
    terms = np.nan_to_num(log_p, nan=0.0).tolist()
    on = flag.tolist()
    steps: list[int] = []
    sums: list[float] = []
    total = 0.0
    for step in np.flatnonzero(valid).tolist():
        if on[step]:
            total += terms[step]
            steps.append(step)
            sums.append(total)
        else:
            total = 0.0
    out[steps] = sums
    return out


def _after_gaps(missing: FloatArray, present: BoolArray) -> FloatArray:
    out = np.ones(missing.size)
    resumed = np.flatnonzero(present[1:] & ~present[:-1]) + 1
    out[resumed] = missing[resumed - 1]
    return out
