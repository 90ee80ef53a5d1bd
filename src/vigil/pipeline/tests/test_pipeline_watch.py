"""The watch policy: what is watched, how it is decided, and that the band drawn is the band that
decided."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigil.core import ALL_VERSIONS, ConfigError, SeriesKey
from vigil.pipeline.policy import WATCHES
from vigil.pipeline.watch import DriftRule, WatchPolicy, natural_range, severity, watch
from vigil.stats import Series

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 10
TIMES = np.datetime64("2026-11-02T00:00", "s") + np.arange(24 * DAYS) * np.timedelta64(3600, "s")
EVALUATED = datetime(2026, 11, 9, tzinfo=UTC)
END = datetime(2026, 11, 12, tzinfo=UTC)


def _series(
    family: str, statistic: str, values: np.ndarray, column: str = "", version: str = "v1"
) -> Series:
    key = SeriesKey(model="m", version=version, family=family, column=column, statistic=statistic)
    return Series(
        key=key,
        timestamps=TIMES[: len(values)],
        values=values.astype(np.float64),
        support=np.full(len(values), 200.0),
    )


def _traffic(seed: int = 0) -> np.ndarray:
    hours = np.arange(24 * DAYS)
    rate = 150 * (1 + 0.6 * np.sin(2 * np.pi * (hours - 9) / 24))
    weekend = np.isin((hours // 24 + 0) % 7, [5, 6])  # 2026-11-02 is a Monday
    counts: np.ndarray = np.random.default_rng(seed).poisson(rate * np.where(weekend, 0.75, 1.0))
    return counts.astype(np.float64)


def _requests(values: np.ndarray) -> Series:
    return _series("auxiliary", "requests", values, version=ALL_VERSIONS)


SAME_HOUR = WatchPolicy(detector="same-hour")
"""The band detector, for the rules that are about a band (its edges, floors and bounds)."""


@pytest.mark.parametrize("detector", ["consensus", "same-hour"])
def test_a_night_time_traffic_stop_is_flagged_in_its_own_units(detector: str) -> None:
    values = _traffic()
    values[24 * 8 + 2 : 24 * 8 + 7] = 0.0
    policy = WatchPolicy(detector=detector)
    found = watch([_requests(values)], start=EVALUATED, end=END, policy=policy).anomalies
    flagged = {a.timestamp.hour for a in found if a.timestamp.day == 10}
    # consensus pages as the stop starts (a stop is kept at once by the filters); same-hour
    # flags every hour of it.
    assert {2, 3} <= flagged if detector == "consensus" else set(range(2, 7)) <= flagged
    first = next(a for a in found if a.timestamp.hour == 2 and a.timestamp.day == 10)
    assert first.value == 0.0 and first.expected > 10 and first.severity > 1
    assert first.detector == detector


def test_the_default_detector_is_consensus_and_its_severity_is_its_score_over_the_line() -> None:
    assert WatchPolicy().detector == "consensus"
    values = _traffic()
    values[24 * 8 + 2 : 24 * 8 + 7] = 0.0
    result = watch([_requests(values)], start=EVALUATED, end=END, policy=WatchPolicy())
    (decided,) = result.watched.values()
    assert not decided.banded and decided.threshold >= 3.0  # -log10(fpr) at least
    with np.errstate(invalid="ignore"):
        assert not np.any(decided.flags & ~(decided.score > decided.threshold))
    for anomaly in result.anomalies:
        assert anomaly.severity == pytest.approx(anomaly.score / decided.threshold)
        assert anomaly.severity > 1


def test_traffic_is_watched_for_the_model_not_per_version() -> None:
    """A rollout ends v1's traffic without a request going unserved: only the model's
    requests (over all versions) are watched."""
    values = _traffic()
    values[24 * 8 :] = 0.0
    version = _series("auxiliary", "requests", values)
    result = watch([version], start=EVALUATED, end=END, policy=WatchPolicy())
    assert result.anomalies == () and version.key not in result.watched
    whole = watch([_requests(values)], start=EVALUATED, end=END, policy=WatchPolicy())
    assert whole.anomalies


def test_weekly_dips_and_noise_stay_quiet() -> None:
    found = watch(
        [_requests(_traffic(seed=s)) for s in range(5)],
        start=EVALUATED,
        end=END,
        policy=WatchPolicy(),
    ).anomalies
    assert len(found) <= 2


def test_every_flag_lies_outside_the_band_that_is_drawn_and_no_other_step_does() -> None:
    rng = np.random.default_rng(5)
    values = 50 + rng.normal(0, 2, 24 * DAYS)
    values[24 * 9 + 3 :: 7] += rng.choice([-1, 1], 3) * rng.uniform(20, 40, 3)
    series = [_series("output", "mean", values, column="score"), _requests(_traffic(seed=1))]
    result = watch(series, start=EVALUATED, end=END, policy=SAME_HOUR)
    assert result.anomalies
    for one in result.watched.values():
        outside = (one.series.values < one.lower) | (one.series.values > one.upper)
        np.testing.assert_array_equal(one.flags, outside & ~np.isnan(one.lower))
    for anomaly in result.anomalies:
        one = result.watched[anomaly.key]
        step = int(
            np.flatnonzero(
                one.series.timestamps == np.datetime64(anomaly.timestamp.replace(tzinfo=None), "s")
            )[0]
        )
        assert (anomaly.lower, anomaly.upper) == (one.lower[step], one.upper[step])
        assert anomaly.severity > 1


def test_severity_is_one_at_the_edge_of_the_deciding_band_on_its_scale() -> None:
    assert severity(12.0, 10.0, 8.0, 12.0) == pytest.approx(1.0)
    assert severity(13.0, 10.0, 8.0, 12.0) == pytest.approx(1.5)
    assert severity(7.0, 10.0, 8.0, 12.0) == pytest.approx(1.5)
    # Decided on a log scale: the band's edge is severity 1 there too.
    from vigil.pipeline.watch import Scale

    upper = float(np.expm1(np.log1p(100.0) + 0.5))
    assert severity(upper, 100.0, 50.0, upper, Scale.LOG) == pytest.approx(1.0)


def _noise(df: int) -> list[Series]:
    rng = np.random.default_rng(2)
    return [
        _series("output", "mean", rng.standard_t(df, 24 * DAYS), column=f"o{i}") for i in range(8)
    ]


def _threshold(series: list[Series], fpr: float) -> float:
    policy = WatchPolicy(detector="same-hour", fpr=fpr)
    result = watch(series, start=EVALUATED, end=END, policy=policy)
    (threshold,) = {w.threshold for w in result.watched.values()}
    return threshold


def test_the_threshold_comes_from_infer_threshold_at_the_configured_fpr_within_bounds() -> None:
    heavy = _noise(df=2)
    assert _threshold(heavy, 0.2) == 2.0  # the 80% quantile lies below the lower bound
    assert 2.0 < _threshold(heavy, 0.0005) < 4.0  # inferred from the calibration scores
    assert _threshold(_noise(df=1), 0.0005) == 4.0  # Cauchy tails: held at the upper bound


@pytest.mark.parametrize("detector", ["consensus", "same-hour"])
def test_an_incident_longer_than_the_history_stays_judged_against_what_came_before(
    detector: str,
) -> None:
    """A series an open incident holds is judged against before the incident (by the band
    detector, when the policy's detector scores)."""
    policy = WatchPolicy(detector=detector)
    rng = np.random.default_rng(3)
    values = 100 + rng.normal(0, 1, 24 * DAYS)
    values[24 * 5 :] += 60.0  # broken from day 5 on: four days later, most of the history
    (series,) = [_series("output", "mean", values, column="score")]
    day = START + timedelta(days=9)
    adopted = watch([series], policy=policy, start=day, end=END).anomalies
    assert adopted == ()  # the baseline took the broken state for normal
    excluded = {series.key: START + timedelta(days=5)}
    held = watch([series], policy=policy, excluded=excluded, start=day, end=END)
    assert len(held.anomalies) == 24


def test_absolute_drift_levels_apply_only_where_the_policy_sets_them() -> None:
    ks = np.full(24 * DAYS, 0.05)
    ks[-10:] = 0.6
    linf = np.full(24 * DAYS, 0.02)
    linf[-5:] = 0.5
    psi = np.full(24 * DAYS, 3.0)  # not a watched drift statistic: unbounded on small samples
    series = [
        _series("drift", "ks", ks, column="age"),
        _series("drift", "linf", linf, column="country"),
        _series("drift", "psi", psi, column="age"),
    ]
    levels = WatchPolicy(drift=DriftRule(thresholds={"ks": 0.3, "linf": 0.2}))
    found = watch(series, start=EVALUATED, end=END, policy=levels).anomalies
    assert {(a.key.statistic, a.key.column) for a in found} == {("ks", "age"), ("linf", "country")}
    assert sum(a.key.statistic == "ks" for a in found) == 10
    assert all(a.severity == pytest.approx(a.value / 0.3) for a in found if a.key.statistic == "ks")
    assert watch(series, start=EVALUATED, end=END, policy=WatchPolicy()).anomalies == ()


def test_a_tested_statistic_pages_just_outside_its_band_on_enough_rows() -> None:
    """The band is the stored ``_expected/_lower/_upper`` series; a value on the bound is in."""
    n = 24 * DAYS
    mean = np.full(n, 10.0)
    mean[-3] = 11.0  # exactly on the upper bound: inside
    mean[-2] = 11.0 + 1e-9  # just outside
    mean[-1] = 9.0 - 1e-9  # just outside below
    bands = {"": mean, "_expected": np.full(n, 10.0), "_lower": np.full(n, 9.0)}
    bands["_upper"] = np.full(n, 11.0)
    series = [_series("drift", "mean" + s, v, column="age") for s, v in bands.items()]
    result = watch(series, start=EVALUATED, end=END, policy=WatchPolicy())
    found = result.anomalies
    assert [(a.key.statistic, a.detector) for a in found] == [("mean", "drift")] * 2
    assert [a.timestamp.hour for a in found] == [22, 23]
    assert found[0].lower == 9.0 and found[0].upper == 11.0 and found[0].severity > 1
    assert {k.statistic for k in result.watched} == {"mean"}  # the band parts are not watched
    too_few = WatchPolicy(drift=DriftRule(min_support=201.0))  # the series carry 200 rows
    assert watch(series, start=EVALUATED, end=END, policy=too_few).anomalies == ()
    enough = WatchPolicy(drift=DriftRule(min_support=200.0))
    assert len(watch(series, start=EVALUATED, end=END, policy=enough).anomalies) == 2


def test_quality_signals_are_events() -> None:
    missing = np.zeros(24 * DAYS)
    missing[-3:] = 1.0
    found = watch(
        [_series("feature", "missing", missing, column="geo")],
        start=EVALUATED,
        end=END,
        policy=WatchPolicy(),
    ).anomalies
    assert len(found) == 3 and all(a.detector == "quality" for a in found)


def test_the_deep_detector_is_picked_through_the_registry() -> None:
    values = _traffic()
    values[24 * 8 + 14 : 24 * 8 + 18] = 0.0  # an afternoon stop, when traffic is high
    policy = WatchPolicy(detector="deep")
    found = watch([_requests(values)], start=EVALUATED, end=END, policy=policy).anomalies
    assert found and all(a.detector == "deep" for a in found)
    stop = [a for a in found if a.timestamp.day == 10 and 14 <= a.timestamp.hour < 18]
    assert stop and stop[0].value == 0.0 and stop[0].expected > 10  # back in its own units
    quiet = watch(
        [_requests(_traffic(seed=s)) for s in range(5)], start=EVALUATED, end=END, policy=policy
    ).anomalies
    assert len(quiet) <= 2


@pytest.mark.parametrize("history", [timedelta(hours=36), timedelta(days=1), timedelta(hours=60)])
def test_a_history_that_is_not_whole_days_of_at_least_two_is_refused(history: timedelta) -> None:
    with pytest.raises(ConfigError, match="history"):
        WatchPolicy(history=history)


def test_two_whole_days_of_history_are_enough() -> None:
    assert WatchPolicy(history=timedelta(days=2)).history_days == 2


def test_an_unknown_detector_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown detector 'prophet'"):
        WatchPolicy(detector="prophet")


def test_rates_and_counts_have_natural_ranges() -> None:
    def key(family: str, statistic: str) -> SeriesKey:
        return SeriesKey(model="m", version="v", family=family, column="c", statistic=statistic)

    assert natural_range(key("feature", "null_rate")) == (0.0, 1.0)
    assert natural_range(key("output", "share_above_0.5")) == (0.0, 1.0)
    assert natural_range(key("drift", "ks")) == (0.0, 1.0)
    assert natural_range(key("auxiliary", "requests"))[0] == 0.0
    assert natural_range(key("feature", "mean")) == (-np.inf, np.inf)


def test_an_incident_in_the_calibration_does_not_blind_the_next_day() -> None:
    """Yesterday's traffic stop of one model, left in the calibration, sets a threshold no
    ordinary drop of another model reaches; left out, the drop is found."""
    stopped = _traffic(seed=1)
    stopped[24 * 8 + 2 : 24 * 8 + 10] = 0.0
    dropped = _traffic(seed=2)
    dropped[24 * 9 + 10 : 24 * 9 + 16] *= 0.25
    others = [_traffic(seed=s) for s in range(3, 8)]
    keys = ["a", "b", *"cdefg"]
    series = [
        Series(
            key=SeriesKey(
                model=k, version=ALL_VERSIONS, family="auxiliary", column="", statistic="requests"
            ),
            timestamps=TIMES,
            values=v,
        )
        for k, v in zip(keys, [stopped, dropped, *others], strict=True)
    ]
    day = START + timedelta(days=9)
    blind = watch(series, start=day, end=END, policy=SAME_HOUR)
    assert not [a for a in blind.anomalies if a.key.model == "b"]
    stop = (START + timedelta(days=8, hours=1), START + timedelta(days=8, hours=11))
    seeing = watch(series, start=day, end=END, policy=SAME_HOUR, abnormal={series[0].key: [stop]})
    assert len([a for a in seeing.anomalies if a.key.model == "b"]) >= 4


def test_a_held_series_needs_a_band_detector() -> None:
    assert WatchPolicy(held_detector="same-hour").held_detector == "same-hour"
    with pytest.raises(ConfigError, match="held_detector must be a band detector"):
        WatchPolicy(held_detector="consensus")


@pytest.mark.parametrize(("step", "pages"), [(0.15, False), (0.18, True)])
def test_a_scoring_detector_pages_only_past_the_watchs_floor(step: float, pages: bool) -> None:
    """An output mean of about 1 that barely moves: any step surprises consensus, but only one
    past the floor (z(0.999) x 5% of the expected value, about 0.164) is worth a page."""
    values = 1.0 + np.random.default_rng(8).normal(0, 0.001, 24 * DAYS)
    values[24 * 9 + 5 :] += step
    series = _series("output", "mean", values, column="score")
    result = watch([series], start=EVALUATED, end=END, policy=WatchPolicy())
    decided = result.watched[series.key]
    with np.errstate(invalid="ignore"):
        surprised = decided.score > decided.threshold
    assert surprised[24 * 9 + 5]  # the detector itself is surprised either way
    assert bool(result.anomalies) is pages


@pytest.mark.parametrize("detector", ["consensus", "same-hour", "deep"])
def test_steps_before_a_models_first_data_do_not_blind_the_detector(detector: str) -> None:
    """The pipeline lays a new model out on a grid that starts two weeks before its first data
    (NaN there). A drop to a fifth of the traffic, not a zero, is flagged with and without that
    prefix (with it, consensus' novelty had no history and the residual alone was too weak)."""
    values = _traffic()
    values[24 * 8 + 14 : 24 * 8 + 16] = np.round(values[24 * 8 + 14 : 24 * 8 + 16] * 0.2)
    padded = np.concatenate([np.full(24 * 14, np.nan), values])
    times = TIMES[0] - np.arange(24 * 14, 0, -1) * np.timedelta64(3600, "s")
    key = SeriesKey(
        model="m", version=ALL_VERSIONS, family="auxiliary", column="", statistic="requests"
    )
    policy = WatchPolicy(detector=detector)
    for series in (
        Series(key=key, timestamps=TIMES, values=values),
        Series(key=key, timestamps=np.concatenate([times, TIMES]), values=padded),
    ):
        result = watch([series], start=EVALUATED, end=END, policy=policy)
        flagged = {a.timestamp.hour for a in result.anomalies if a.timestamp.day == 10}
        assert {14, 15} <= flagged, (detector, len(series))
        assert len(result.watched[key].flags) == len(series)


@pytest.mark.parametrize("detector", ["consensus", "same-hour"])
def test_each_series_is_scored_once_and_decided_as_if_its_calibration_were_scored_alone(
    detector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The calibration's scores are the whole series' first steps, except where an incident
    blanked some of its steps: then it is scored on its own. Thresholds, bands and anomalies are
    exactly those of scoring every calibration alone."""
    from vigil.detect import ConsensusDetector
    from vigil.pipeline import watch as watch_module

    stopped = _traffic(seed=1)
    stopped[24 * 8 + 2 : 24 * 8 + 10] = 0.0
    dropped = _traffic(seed=2)
    dropped[24 * 9 + 10 : 24 * 9 + 16] *= 0.25
    series = [
        Series(
            key=SeriesKey(
                model=model,
                version=ALL_VERSIONS,
                family="auxiliary",
                column="",
                statistic="requests",
            ),
            timestamps=TIMES,
            values=values,
        )
        for model, values in (("a", stopped), ("b", dropped))
    ]
    abnormal = {series[0].key: [(START + timedelta(days=8), START + timedelta(days=8, hours=11))]}
    policy = WatchPolicy(detector=detector)
    day = START + timedelta(days=9)
    # A band detector is scored through the policy's band around it.
    kind = ConsensusDetector if detector == "consensus" else watch_module.PolicyBand
    seen: list[tuple[str, int]] = []
    score = kind.score

    def counted(self: object, batch: list[Series]) -> object:
        seen.extend((one.key.model, len(one)) for one in batch)
        return score(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(kind, "score", counted)
    once = watch(series, start=day, end=END, policy=policy, abnormal=abnormal)
    # The whole of each series once; the calibration the stop was blanked from on its own.
    assert sorted(seen) == [("a", 24 * 9), ("a", 24 * DAYS), ("b", 24 * DAYS)]
    monkeypatch.setattr(
        watch_module,
        "_calibration_scores",
        lambda detector, calibration, scored: detector.score(calibration),
    )
    alone = watch(series, start=day, end=END, policy=policy, abnormal=abnormal)
    assert once.anomalies == alone.anomalies and once.anomalies
    for key, decided in once.watched.items():
        other = alone.watched[key]
        assert decided.threshold == other.threshold
        for field in ("expected", "lower", "upper", "score", "flags"):
            np.testing.assert_array_equal(getattr(decided, field), getattr(other, field))


def test_a_log_scale_watch_carries_the_standard_error_through_log1p() -> None:
    """A watch on the log scale sees log1p(x): its standard error is se / (1 + x) to first
    order, so the step's sampling noise means the same on either scale."""
    from vigil.pipeline.watch import Scale, _on_scale

    key = SeriesKey(model="m", version="v", family="auxiliary", column="", statistic="p99")
    stamps = np.datetime64("2026-11-20T00:00:00") + np.arange(3) * np.timedelta64(3600, "s")
    values = np.array([99.0, 9.0, 0.0])
    stderr = np.array([1.0, 0.01, np.nan])
    series = Series(key=key, timestamps=stamps, values=values, support=np.ones(3), stderr=stderr)
    logged = _on_scale(series, Scale.LOG)
    assert logged.stderr is not None and logged.support is not None
    np.testing.assert_allclose(logged.stderr[:2], [0.01, 0.001])
    assert np.isnan(logged.stderr[2])
    # One standard error up on the value is about one standard error up on the log scale.
    assert np.log1p(100.0) - np.log1p(99.0) == pytest.approx(logged.stderr[0], rel=0.01)
    assert _on_scale(series, Scale.LINEAR) is series


def _p99(spike_se: float, seed: int = 3) -> Series:
    """The whole model's hourly p99 latency, about 75 ms on about 150 requests, with a quiet
    hour on day 9 at 140 ms whose standard error is ``spike_se``."""
    rng = np.random.default_rng(seed)
    values = 75.0 * np.exp(rng.normal(0.0, 0.08, 24 * DAYS))
    stderr = values * 0.08
    spike = 24 * 8 + 5
    values[spike], stderr[spike] = 140.0, spike_se
    key = SeriesKey(
        model="m", version=ALL_VERSIONS, family="auxiliary", column="", statistic="latency_p99"
    )
    return Series(
        key=key,
        timestamps=TIMES,
        values=values,
        support=np.full(len(values), 150.0),
        stderr=stderr,
    )


@pytest.mark.parametrize(
    ("spike_se", "floored", "pages"),
    [
        (60.0, True, False),  # its own rows say it wanders by 60: a p99 of 150 requests
        (60.0, False, True),  # the same step without the floor
        (4.0, True, True),  # a tight p99 that nearly doubled is news, floor or not
    ],
)
def test_the_latency_watch_judges_a_step_by_its_own_standard_error(
    spike_se: float, floored: bool, pages: bool
) -> None:
    watches = tuple(
        dataclasses.replace(w, stderr_floor=floored) if w.statistic == "latency_p99" else w
        for w in WATCHES
    )
    policy = WatchPolicy(watches=watches)
    rule = next(w for w in watches if w.statistic == "latency_p99")
    built = policy.build_detector(watch=rule)
    assert built.settings.stderr_floor is floored  # type: ignore[attr-defined]
    found = watch([_p99(spike_se)], start=EVALUATED, end=END, policy=policy).anomalies
    assert any(a.timestamp.day == 10 and a.timestamp.hour == 5 for a in found) is pages, found


def test_the_whole_models_latency_quantiles_are_floored_by_their_standard_error() -> None:
    floored = {w.statistic for w in WATCHES if w.stderr_floor}
    assert floored == {"latency_p50", "latency_p99"}
    assert all(w.model_level for w in WATCHES if w.stderr_floor)
    assert not WatchPolicy().build_detector().settings.stderr_floor  # type: ignore[attr-defined]


def test_a_floored_watch_pages_only_beyond_the_steps_own_error() -> None:
    from vigil.pipeline.watch import _beyond_own_error

    key = SeriesKey(model="m", version="*", family="auxiliary", column="", statistic="p99")
    stamps = TIMES[:5]
    values = np.array([4.0, 4.0, 4.0, 4.0, 4.0])
    expected = np.array([3.0, 3.0, 3.0, 3.0, 3.0])
    # 1 off: 2 se (inside z = 3.29), 0.3 se-wide steps (outside), no se, a stuck se of 0, NaN.
    stderr = np.array([0.5, 0.3, np.nan, 0.0, 0.304])
    series = Series(key=key, timestamps=stamps, values=values, stderr=stderr)
    z = 3.2905  # the policy's level 0.999
    assert _beyond_own_error(series, expected, z).tolist() == [False, True, True, True, False]
    # A series without standard errors is not gated at all.
    assert _beyond_own_error(dataclasses.replace(series, stderr=None), expected, z).all()
