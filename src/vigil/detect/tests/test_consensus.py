"""The default detector and its parts: runs, novelty, residual, and how they combine."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import DEFAULT_DETECTOR, DETECTORS, ConsensusDetector, ConsensusSettings
from vigil.detect.novelty import Novelty, novelty
from vigil.detect.residual import residual
from vigil.detect.runs import event_runs, run_probability
from vigil.stats import Series

WEEK = 24 * 7


def hourly(values: np.ndarray, support: np.ndarray | None = None, name: str = "s") -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        3600, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column=name, statistic="mean")
    return Series(key=key, timestamps=stamps, values=values, support=support)


def daily_cycle(days: int, seed: int, noise: float = 2.0) -> np.ndarray:
    hours = np.arange(days * 24)
    rng = np.random.default_rng(seed)
    return 100 + 10 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, noise, hours.size)


def alerts(values: np.ndarray, support: np.ndarray | None = None) -> np.ndarray:
    detector = ConsensusDetector().fit(
        [hourly(values[:WEEK], None if support is None else support[:WEEK])]
    )
    return detector.predict([hourly(values, support)])[0].flags


# --- runs -------------------------------------------------------------------------------------


def test_a_repeat_in_a_series_that_never_repeats_is_unlikely_and_more_so_as_it_lasts() -> None:
    values = daily_cycle(30, 1)
    values[600:612] = values[599]
    p = event_runs(hourly(values))["repeat"]
    assert p[600] < 2e-3  # q_start: half a pseudo-count over ~500 steps without a repeat
    assert np.all(np.diff(p[600:612]) < 0) and p[611] < 1e-6
    assert np.all(p[:600] == 1.0)


def test_a_series_that_repeats_often_keeps_repeats_likely() -> None:
    rng = np.random.default_rng(2)
    values = np.round(rng.normal(5, 0.6, 2000))  # quantised: repeats every few steps
    p = event_runs(hourly(values))["repeat"]
    # Long runs happen by chance here, and the probabilities say how rarely: below 1e-3 on
    # about 0.1% of the steps, not on every repeat.
    assert np.mean(p[200:] < 1e-3) < 0.004
    assert np.median(p[200:][p[200:] < 1]) > 0.05


def test_a_series_constant_from_its_start_is_left_alone() -> None:
    p = run_probability(np.ones(500, dtype=bool), np.ones(500, dtype=bool))
    assert np.all(p == 1.0)
    # ... but a run that begins after ``settle`` steps of variety is judged.
    flags = np.r_[np.zeros(100, dtype=bool), np.ones(20, dtype=bool)]
    judged = run_probability(flags, np.ones(120, dtype=bool), settle=100)
    assert judged[100] < 0.01 and judged[119] < judged[100]
    early = run_probability(flags, np.ones(120, dtype=bool), settle=101)
    assert np.all(early == 1.0)


def test_a_gap_is_judged_on_the_first_value_after_it() -> None:
    values = daily_cycle(30, 3)
    values[500:506] = np.nan
    p = event_runs(hourly(values))["gap"]
    assert p[506] < 1e-4 and np.all(p[500:506] == 1.0) and p[507] == 1.0


# --- novelty ----------------------------------------------------------------------------------


def test_a_routine_daily_spike_is_not_novel_and_a_new_level_is() -> None:
    values = np.random.default_rng(4).normal(10, 1, 24 * 40)
    values[np.arange(3, values.size, 24)] += 30  # a batch job every day at 03:00
    values[24 * 35 :] += 15  # a level never seen
    score = novelty(values, Novelty())
    routine = score[np.arange(24 * 30 + 3, 24 * 35, 24)]
    assert np.nanmax(routine) < np.nanmin(score[24 * 35 : 24 * 35 + 8])


def test_novelty_is_nan_where_its_window_has_a_hole() -> None:
    values = np.random.default_rng(5).normal(size=400)
    values[300] = np.nan
    score = novelty(values, Novelty(window=8))
    assert np.all(np.isnan(score[300:308])) and not np.isnan(score[308])


# --- residual ---------------------------------------------------------------------------------


def night_and_day_rates(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A null rate of 5% over 30 rows at night (00-06) and 3,000 by day."""
    hours = np.arange(days * 24) % 24
    rows = np.where(hours < 6, 30, 3000)
    rates = np.random.default_rng(seed).binomial(rows, 0.05) / rows
    return rates, rows.astype(np.float64)


def test_with_the_sample_size_a_quiet_night_is_as_calm_as_a_busy_day() -> None:
    rates, rows = night_and_day_rates(42, 6)
    night = (np.arange(rates.size) % 24) < 6
    informed = residual(hourly(rates, rows)).z
    blind = residual(hourly(rates)).z
    later = np.arange(rates.size) >= WEEK * 2
    # Knowing n, |z| has the same spread at night and by day (ratio near 1); not knowing
    # it, the night's sampling noise (about 10x the day's) reads as a large deviation.
    ratio_informed = np.nanstd(informed[later & night]) / np.nanstd(informed[later & ~night])
    ratio_blind = np.nanstd(blind[later & night]) / np.nanstd(blind[later & ~night])
    assert 0.6 < ratio_informed < 1.6
    assert ratio_blind > 3.0


def test_business_hours_pick_the_weekly_baseline() -> None:
    hours = np.arange(24 * 42)
    weekday = (hours // 24) % 7 < 5
    busy = weekday & (hours % 24 >= 9) & (hours % 24 < 17)
    values = np.where(busy, 50.0, 1.0) + np.random.default_rng(7).normal(0, 1, hours.size)
    z = residual(hourly(values)).z
    monday = hours[(hours // 24) % 7 == 0]
    monday_late = monday[monday >= 24 * 35]
    assert np.nanmax(np.abs(z[monday_late])) < 6  # yesterday was a quiet Sunday; last week was not


# --- the detector -----------------------------------------------------------------------------


def test_consensus_is_the_registered_default() -> None:
    assert DEFAULT_DETECTOR == "consensus" and DETECTORS[DEFAULT_DETECTOR] is ConsensusDetector


def test_quiet_nights_do_not_page_when_the_detector_knows_n() -> None:
    night = (np.arange(42 * 24) % 24) < 6
    knowing, blind = 0, 0
    for seed in range(6):
        rates, rows = night_and_day_rates(42, seed)
        knowing += int((alerts(rates, rows) & night)[WEEK:].sum())
        blind += int((alerts(rates) & night)[WEEK:].sum())
    # Six clean series of five weeks: a night alarm at most once knowing n; without n, the
    # series' own calibration already learns most nights, but not all of them.
    assert knowing <= 1 < blind


@pytest.mark.parametrize(
    ("kind", "where"),
    [("stuck", slice(720, 732)), ("zero", slice(720, 723)), ("shift", slice(720, 840))],
)
def test_a_stuck_value_a_drop_to_zero_and_a_level_shift_page(kind: str, where: slice) -> None:
    values = daily_cycle(35, 8)
    if kind == "stuck":
        values[where] = values[719]
    elif kind == "zero":
        values[where] = 0.0
    else:
        values[where] += 25.0
    flags = alerts(values)
    assert flags[where.start : where.start + 12].any()
    assert flags[WEEK:700].sum() == 0  # nothing before it


def test_alpha_is_the_detector_s_own_decision() -> None:
    values = daily_cycle(35, 9)
    values[720] += 14.0  # a 7-sigma spike

    def scores(alpha: float) -> np.ndarray:
        detector = ConsensusDetector(settings=ConsensusSettings(alpha=alpha))
        return detector.fit([hourly(values[:WEEK])]).score([hourly(values)])[0].score

    assert scores(3e-4)[720] > 0
    assert scores(1e-12)[720] == 0.0


def test_a_missing_value_has_no_score() -> None:
    values = daily_cycle(30, 10)
    values[600] = np.nan
    score = ConsensusDetector().score([hourly(values)])[0].score
    assert np.isnan(score[600]) and not np.isnan(score[601])


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="alpha"):
        ConsensusSettings(alpha=0.0)
    with pytest.raises(ConfigError, match="suppress"):
        ConsensusSettings(suppress=-1)
    with pytest.raises(ConfigError, match="memory_days"):
        ConsensusSettings(memory_days=0.0)
    assert ConsensusSettings(memory_days=None).memory_days is None


def test_the_global_reference_is_the_two_sided_student_t_tail() -> None:
    """consensus reads the tail through scipy.special (scipy.stats stays unimported); it must
    be the same number scipy.stats gives, in the body and far out in the tail."""
    from scipy import special, stats

    size = np.array([0.0, 0.5, 2.0, 6.0, 40.0, np.inf])
    for df in (1.0, 3.0, 10.0, 1e6):
        np.testing.assert_allclose(
            2.0 * special.stdtr(df, -size), 2.0 * stats.t.sf(size, df), rtol=1e-12, atol=0
        )


@pytest.mark.parametrize("steps", [1, 5, 8, 9])
def test_a_series_shorter_than_the_novelty_window_scores_without_error(steps: int) -> None:
    """A model with a few hours of data (the watch scores a series from its first value)."""
    values = np.arange(steps, dtype=np.float64)
    assert np.isnan(novelty(values, Novelty())).all()
    key = SeriesKey(model="m", version="v", family="auxiliary", column="", statistic="requests")
    times = np.datetime64("2026-11-02T00:00", "s") + np.arange(steps) * np.timedelta64(3600, "s")
    (scores,) = ConsensusDetector().score([Series(key=key, timestamps=times, values=values)])
    assert len(scores.score) == steps


# --- combining the evidence -------------------------------------------------------------------


def test_fisher_combines_the_probabilities_present_with_two_degrees_of_freedom_each() -> None:
    from scipy import stats

    from vigil.detect.consensus import _fisher

    p = np.array([0.5, 1e-3, 1e-6, 0.02])
    q = np.array([0.5, 0.2, 1e-5, np.nan])
    r = np.array([0.9, 1e-4, np.nan, np.nan])
    statistic = -2 * (np.log(p) + np.log(q))
    np.testing.assert_allclose(_fisher(p, q)[:3], stats.chi2.sf(statistic, 4)[:3], rtol=1e-10)
    # One probability alone is itself, not doubled: a missing novelty leaves the residual whole.
    assert _fisher(p, q)[3] == pytest.approx(0.02, rel=1e-12)
    three = -2 * (np.log(p) + np.log(q) + np.log(r))
    np.testing.assert_allclose(_fisher(p, q, r)[:2], stats.chi2.sf(three, 6)[:2], rtol=1e-10)
    assert _fisher(p, q, r)[2] == pytest.approx(stats.chi2.sf(statistic[2], 4), rel=1e-10)
    assert np.isnan(_fisher(np.array([np.nan]), np.array([np.nan]))[0])


def test_where_novelty_has_no_value_the_residual_speaks_alone() -> None:
    values = daily_cycle(35, 11)
    values[700] = np.nan  # novelty's window holds the hole for the next 8 steps
    values[703] += 20.0
    detector = ConsensusDetector().fit([hourly(values[:WEEK])])
    evidence = detector.evidence(hourly(values))
    alone = np.isnan(evidence.novelty) & ~np.isnan(evidence.residual)
    assert alone[701:708].all() and not alone[708]
    strongest = np.fmin.reduce([evidence.residual, *evidence.runs.values()])
    np.testing.assert_allclose(
        evidence.combined[alone], np.minimum(4 * strongest[alone], 1.0), rtol=1e-12
    )
    assert detector.predict([hourly(values)])[0].flags[703]


def test_steps_before_a_series_first_value_change_nothing() -> None:
    """A model laid out on a grid that starts two weeks before its first data: the leading
    missing steps neither score nor take the novelty's history away (they once counted as
    fitted history, and the novelty stayed uncalibrated past the end of the fit)."""
    values = daily_cycle(12, 12)
    values[24 * 9 + 14 : 24 * 9 + 16] -= 40.0
    pad = 24 * 14
    padded = np.r_[np.full(pad, np.nan), values]
    plain_scores = ConsensusDetector().fit([hourly(values[:WEEK])]).score([hourly(values)])[0]
    detector = ConsensusDetector().fit([hourly(padded[: pad + WEEK])])
    padded_scores = detector.score([hourly(padded)])[0]
    assert np.isnan(padded_scores.score[:pad]).all()
    np.testing.assert_array_equal(padded_scores.score[pad:], plain_scores.score)
    np.testing.assert_array_equal(padded_scores.expected[pad:], plain_scores.expected)
    assert padded_scores.score[pad + 24 * 9 + 14] > 0
    evidence = detector.evidence(hourly(padded))
    assert not np.isnan(evidence.novelty[pad + 24 * 9 + 14])
    assert np.all(evidence.runs["gap"][:pad] == 1.0) and len(evidence.combined) == len(padded)


# --- few rows -------------------------------------------------------------------------------


def test_a_step_resting_on_fewer_rows_than_the_global_degrees_has_a_heavier_tail() -> None:
    from scipy import special

    hours = np.arange(35 * 24) % 24
    rows = np.where(hours < 6, 1.0, np.where(hours < 8, 10.0, 1000.0))
    rates = np.random.default_rng(16).binomial(rows.astype(int), 0.005) / rows
    series = hourly(rates, rows)
    detector = ConsensusDetector().fit([hourly(rates[:WEEK], rows[:WEEK])])
    p = detector.evidence(series).residual
    z = np.abs(residual(series).z)
    scored = ~np.isnan(z)
    one, ten = scored & (rows == 1), scored & (rows == 10)
    assert np.all(p[one] >= 2 * special.stdtr(1.0, -z[one]) * (1 - 1e-12))
    assert np.all(p[ten] >= 2 * special.stdtr(10.0, -z[ten]) * (1 - 1e-12))
    # A rare event seen in a one-row hour happens one hour in 200, yet its z is in the hundreds
    # (the fitted variance rarely sees one): the Cauchy tail keeps it well above alpha (3e-4),
    # where the same z from 10 rows and more is far below it.
    seen = one & (rates == 1.0)
    assert seen.any() and np.all(p[seen] > 2e-3)
    assert np.all(2 * special.stdtr(10.0, -z[seen]) < 3e-4)


def test_a_count_carrying_itself_as_n_keeps_the_global_degrees() -> None:
    from vigil.detect.consensus import _degrees

    counts = np.array([40.0, 3.0, 0.0, 55.0])
    np.testing.assert_array_equal(_degrees(hourly(counts, counts.copy()), 10.0), [10] * 4)
    assert _degrees(hourly(counts), 10.0) == 10.0
    rows = np.array([40.0, 3.0, 0.0, np.nan])
    np.testing.assert_array_equal(_degrees(hourly(counts / 100, rows), 10.0), [10, 3, 1, 10])
    # Judged on the steps so far: from the first step that does not carry itself on, its n.
    stops = np.array([40.0, 3.0, 2.0, 5.0])
    np.testing.assert_array_equal(_degrees(hourly(counts, stops), 10.0), [10, 10, 2, 5])


def five_minute(values: np.ndarray) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        300, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="s", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values)


@pytest.mark.parametrize("jump", [0.0, 40.0, -15.0])
def test_a_jump_on_a_series_with_a_sharp_daily_edge_pages_and_the_edges_do_not(
    jump: float,
) -> None:
    """14 days of 5-minute steps, 20 by night and 80 by day, noise 2; from step 2,800 on
    (day 10), half a day raised or lowered. The daily edges are routine once the daily
    baseline learns them; a jump as large as a third of an edge is not. While the calibration
    learned from the first 3.5 days too (the local baseline alone, its error at every edge
    near z = 28), it took such jumps for routine for 2,000 steps, and neither jump paged."""
    steps = 14 * 288
    rng = np.random.default_rng(11)
    values = np.where(np.arange(steps) % 288 < 144, 80.0, 20.0) + rng.normal(0, 2, steps)
    values[2800:2950] += jump
    prefix = int(0.15 * steps)
    detector = ConsensusDetector().fit([five_minute(values[:prefix])])
    flags = detector.predict([five_minute(values)])[0].flags
    inside = flags[2800:2954].any()
    outside = flags[prefix:2800].any() or flags[2954:].any()
    assert inside == (jump != 0.0)
    assert not outside


@pytest.mark.parametrize(("rows", "pages"), [(1.0, False), (40.0, True)])
def test_a_null_rate_at_zero_for_three_days_pages_only_when_its_rows_make_that_unlikely(
    rows: float, pages: bool
) -> None:
    """A 2% null rate read hourly, on 40 rows by day and 1 by night, then three days on
    ``rows`` rows an hour with no null. On 1 row an hour, 72 hours without a null happen by
    sampling alone (0.98^72 = 23%), although a run of zeros that long is new to this series;
    on 40 rows an hour they do not (0.98^2880), and the run pages."""
    rng = np.random.default_rng(5)
    steps = 24 * 40
    support = np.where(np.arange(steps) % 24 < 12, 40.0, 1.0)
    support[700:772] = rows
    nulls = rng.binomial(support.astype(np.int64), 0.02).astype(np.float64)
    nulls[700:772] = 0.0
    found = alerts(nulls / support, support)
    assert found[700:776].any() == pages


def test_a_new_model_s_first_weekend_does_not_page_and_a_drop_two_weeks_later_does() -> None:
    """Hourly requests from a Monday: a daily cycle near 1,500, weekends at half. On day 6 the
    detector has never seen a weekend; its first days were judged by the local baseline alone
    (the seasonal ones compete after half a week), whose errors on the daily ramp are large.
    Those steps set the scale but are left out of the calibration's history once enough later
    steps exist, so the first weekend is judged as leniently as the local baseline's errors
    allow, and a weekday drop to half two weeks later is judged on the calibrated history."""
    rng = np.random.default_rng(3)
    hours = np.arange(24 * 21)
    weekend = (hours // 24) % 7 >= 5
    rate = (1500 + 500 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)) * np.where(weekend, 0.5, 1.0)
    rate[24 * 16 + 8 : 24 * 16 + 20] *= 0.5
    values = rng.poisson(rate).astype(np.float64)
    flags = ConsensusDetector().predict([hourly(values)])[0].flags
    assert not flags[: 24 * 7].any()
    assert flags[24 * 16 + 8 : 24 * 16 + 23].any()


# --- prefixes -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_a_prefix_with_sample_sizes_scores_as_the_whole_series_first_steps(seed: int) -> None:
    """The watch thresholds on the scores of the series before its period, taken from the whole
    series' scores: that needs every step's score, sample-size model included, to be exactly
    what the prefix alone gives (the variance model's scaling by a typical n once broke it in
    the 15th digit)."""
    rng = np.random.default_rng(seed)
    size = 24 * 40
    rows = np.round(200 + 150 * np.sin(np.arange(size) * 2 * np.pi / 24) + rng.normal(0, 20, size))
    rows = np.clip(rows, 0, None)
    # Odd seeds: a rate and the rows behind it; even seeds: a count carrying itself.
    rate = rng.binomial(rows.astype(int), 0.1) / np.maximum(rows, 1)
    values = rate if seed % 2 else rows.copy()
    values[rng.random(size) < 0.05] = np.nan
    whole = hourly(values, rows)
    for cut in (WEEK, 24 * 20 + 3, 24 * 39):
        prefix = whole.slice(0, cut)
        detector = ConsensusDetector(settings=ConsensusSettings(suppress=0)).fit([prefix])
        short, long = detector.score([prefix])[0], detector.score([whole])[0]
        np.testing.assert_array_equal(short.score, long.score[:cut])
        np.testing.assert_array_equal(short.upper, long.upper[:cut])


def test_run_sums_add_each_runs_terms_in_order_exactly_as_a_step_loop_does() -> None:
    from vigil.detect.runs import _run_sums

    def stepwise(log_p: np.ndarray, flag: np.ndarray, valid: np.ndarray) -> np.ndarray:
        out = np.full(flag.size, -np.inf)
        total = 0.0
        for step in np.flatnonzero(valid):
            if flag[step]:
                total += float(np.nan_to_num(log_p[step], nan=0.0))
                out[step] = total
            else:
                total = 0.0
        return out

    rng = np.random.default_rng(21)
    for size in (0, 1, 7, 500):
        log_p = -rng.exponential(3.0, size)
        log_p[rng.random(size) < 0.1] = np.nan
        log_p[rng.random(size) < 0.02] = -np.inf
        flag = rng.random(size) < 0.6
        valid = rng.random(size) < 0.9
        np.testing.assert_array_equal(
            _run_sums(log_p, flag, valid), stepwise(log_p, flag, valid), err_msg=str(size)
        )


def test_a_proportion_that_stops_being_one_scores_its_prefix_as_the_whole_series_does() -> None:
    """Whether a series is a proportion of rows is judged on its steps so far: a null rate on
    few rows whose later values leave [0, 1] (a column that became a mean) gives the same
    scores before that change, cut short or whole, and the quiet zeros of its first weeks stay
    explained by sampling either way."""
    rng = np.random.default_rng(8)
    steps = 24 * 30
    support = np.where(np.arange(steps) % 24 < 12, 40.0, 1.0)
    support[24 * 12 : 24 * 15] = 1.0  # three quiet days: a null rate of 0 throughout
    values = rng.binomial(support.astype(np.int64), 0.02) / support
    values[24 * 12 : 24 * 15] = 0.0
    values[24 * 25 :] = rng.normal(5.0, 1.0, steps - 24 * 25)
    whole = hourly(values, support)
    cut = 24 * 20
    detector = ConsensusDetector().fit([whole.slice(0, 24 * 7)])
    short = detector.score([whole.slice(0, cut)])[0].score
    long = detector.score([whole])[0].score
    np.testing.assert_array_equal(short, long[:cut])
    assert not np.nan_to_num(short[24 * 12 : 24 * 15 + 3]).any()


def test_a_shared_memo_scores_every_fit_as_a_fresh_detector_does() -> None:
    """The pipeline fits a new detector each day of a cycle on the same series and shares
    one memo: the scores must be the fresh detector's to the last bit, whatever the fit."""
    from vigil.detect import EvidenceMemo

    rng = np.random.default_rng(5)
    values = daily_cycle(21, 3)
    values[400:406] = values[399]  # a run, so the runs' evidence speaks
    values[450] += 40.0
    rows = rng.integers(20, 400, values.size).astype(np.float64)
    values[100:110] = np.nan  # a gap
    whole = [hourly(values, rows, "a"), hourly(values * 2.0, None, "b")]
    blanked = values.copy()
    blanked[440:460] = np.nan  # a calibration an incident blanked: its own content
    memo = EvidenceMemo()
    for day in (8, 12, 16, 20):
        fitted = [one.slice(0, day * 24) for one in whole] + [hourly(blanked[: day * 24])]
        fresh = ConsensusDetector().fit(fitted)
        shared = ConsensusDetector(memo=memo).fit(fitted)
        for one in [*whole, *fitted]:
            (expected,) = fresh.score([one])
            (found,) = shared.score([one])
            for name in ("score", "expected", "lower", "upper"):
                assert np.array_equal(getattr(found, name), getattr(expected, name), equal_nan=True)
    # Each whole series once; each day's fitted prefixes are new content.
    assert len(memo) == len(whole) + 4 * 3


def test_the_memos_evidence_is_read_only() -> None:
    from vigil.detect import EvidenceMemo

    series = hourly(daily_cycle(10, 4))
    raw = EvidenceMemo().raw(series, ConsensusSettings())
    with pytest.raises(ValueError, match="read-only"):
        raw.base.expected[0] = 0.0
