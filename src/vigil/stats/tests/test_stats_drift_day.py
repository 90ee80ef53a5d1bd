"""``drift_day_series``: the trailing day tested against the week before it, which sees a
change an hour of a few dozen rows cannot, and keeps a one-day incident out of its reference."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigil.core import ProfileKey, Window
from vigil.ingest import Column, RecordBatch
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.profile.synthetic import prediction_meta
from vigil.stats import Reference, StatsSpec
from vigil.stats.drift import drift_series
from vigil.stats.drift_day import changed_windows, drift_day_series
from vigil.stats.series import Series

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PER_HOUR = 40
DAYS = 12


def _hour(hour: int, rng: np.random.Generator, *, shift: float, constant: bool) -> list[Profile]:
    meta = prediction_meta(PER_HOUR, start=START + hour * HOUR, span=HOUR)
    age = np.full(PER_HOUR, 40.0) if constant else rng.normal(40.0 + shift, 10.0, PER_HOUR)
    batch = RecordBatch(
        meta=meta,
        features={"age": Column.from_numbers(age)},
        outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, PER_HOUR))},
    )
    return list(profile_batch(batch, ProfileSpec()).values())


def _month(
    seed: int,
    *,
    shift_from_day: int | None = None,
    constant_day: int | None = None,
    constant_days: range = range(0),
) -> list[Profile]:
    rng = np.random.default_rng(seed)
    found = []
    for hour in range(24 * DAYS):
        day = hour // 24
        shift = 3.0 if shift_from_day is not None and day >= shift_from_day else 0.0
        constant = day == constant_day or day in constant_days
        found += _hour(hour, rng, shift=shift, constant=constant)
    return found


def _flagged_days(series: list[Series], statistic: str) -> set[int]:
    """Days with an ``age`` point outside its band."""
    by_name = {s.key.statistic: s for s in series if s.key.column == "age"}
    values = by_name[statistic].values
    lower, upper = by_name[statistic + "_lower"].values, by_name[statistic + "_upper"].values
    times = by_name[statistic].timestamps
    start = np.datetime64(START.replace(tzinfo=None), "s")
    with np.errstate(invalid="ignore"):
        outside = (values < lower) | (values > upper)
    return {int((t - start) // np.timedelta64(1, "D")) for t in times[outside]}


def test_a_third_of_a_standard_deviation_is_seen_within_a_day_not_in_an_hour() -> None:
    """An hour of 40 rows has a mean's standard error of 0.16 sd; a day of 960, 0.035 sd."""
    profiles = _month(seed=1, shift_from_day=10)
    day_series = drift_day_series(profiles, StatsSpec(), since=START + 9 * DAY)
    assert _flagged_days(day_series, "mean_1d") == {10, 11}
    by_name = {s.key.statistic: s for s in day_series if s.key.column == "age"}
    first_flag = np.argmax(
        by_name["mean_1d"].values > by_name["mean_1d_upper"].values  # hours into day 9
    )
    # The band is 4.9 standard errors (alpha 1e-6), 1.7 units: the trailing day's mean passes
    # it after 14 of its 24 hours are shifted by 3; one shifted hour moves it by 0.125.
    assert 24 + 12 < first_flag < 24 + 16
    assert {s.key.family for s in day_series} == {"drift", "output"}


def test_an_unchanged_column_stays_inside_its_bands() -> None:
    day_series = drift_day_series(_month(seed=2), StatsSpec(), since=START + 8 * DAY)
    statistics = ("mean_1d", "recent_mean_1d", "std_1d", "p05_1d", "p50_1d", "p95_1d", "ks_1d")
    for statistic in statistics:
        assert _flagged_days(day_series, statistic) == set(), statistic


def test_a_day_long_incident_does_not_leak_into_the_next_weeks_reference() -> None:
    """``age`` is constant on day 8; days 10 and 11 have it in their reference week."""
    profiles = _month(seed=3, constant_day=8)
    since = START + 10 * DAY
    kept_out = drift_day_series(profiles, StatsSpec(), since=since)
    statistics = ("mean_1d", "recent_mean_1d", "std_1d", "p05_1d", "p50_1d", "p95_1d", "ks_1d")
    assert all(_flagged_days(kept_out, s) == set() for s in statistics)
    pooled = drift_day_series(profiles, StatsSpec(reference_tolerance=None), since=since)
    assert _flagged_days(pooled, "ks_1d") == {10, 11}  # a step of 1/7 in the reference's CDF


def test_windows_an_hourly_test_found_changed_stay_out_of_the_daily_reference() -> None:
    """``age`` is constant on days 2 to 6: most of day 9's reference week. Left in, the broken
    days are the majority and the normal day 9 reads as changed; the hourly drift found those
    windows changed, and left out of the reference they no longer decide it."""
    profiles = _month(seed=4, constant_days=range(2, 7))
    spec = StatsSpec(exclude_changed=True)
    hourly = drift_series(profiles, None, spec, since=START + 2 * DAY)
    changed = changed_windows(hourly, spec)
    age = {(t - START) // DAY for v, f, c, t in changed if (f, c) == ("feature", "age")}
    assert {2, 3, 4, 5, 6} <= age
    since = START + 9 * DAY
    kept = drift_day_series(profiles, spec, since=since)
    assert _flagged_days(kept, "ks_1d") == {9, 10, 11}
    left_out = drift_day_series(profiles, spec, since=since, excluded=changed)
    statistics = ("mean_1d", "std_1d", "p05_1d", "p50_1d", "p95_1d", "ks_1d")
    assert all(_flagged_days(left_out, s) == set() for s in statistics)
    assert changed_windows(hourly, StatsSpec()) == set()  # nothing asked for, nothing left out


def _shifted_month(seed: int, *, shift_from_day: int, days: int) -> list[Profile]:
    rng = np.random.default_rng(seed)
    found = []
    for hour in range(24 * days):
        shift = 5.0 if hour // 24 >= shift_from_day else 0.0
        found += _hour(hour, rng, shift=shift, constant=False)
    return found


def test_a_fixed_baseline_keeps_a_lasting_change_flagged_where_the_trailing_week_learns_it() -> (
    None
):
    """``age`` moves up by half a standard deviation on day 8 and stays. The trailing week holds
    the new level as its majority from day 14 on (days 6..12 of day 14's reference are
    shifted from day 8), and the change stops being news; against the first week it never
    does."""
    profiles = _shifted_month(seed=5, shift_from_day=8, days=18)
    since = START + 7 * DAY
    trailing = _flagged_days(drift_day_series(profiles, StatsSpec(), since=since), "mean_1d")
    assert {8, 9, 10} <= trailing
    assert not trailing & {15, 16, 17}
    first_week = Reference.fixed(Window(start=START, end=START + 7 * DAY))
    fixed = drift_day_series(profiles, StatsSpec(reference=first_week), since=since)
    assert _flagged_days(fixed, "mean_1d") == set(range(8, 18))
    unchanged = drift_day_series(_month(seed=6), StatsSpec(reference=first_week), since=since)
    for statistic in ("mean_1d", "std_1d", "p05_1d", "p50_1d", "p95_1d", "ks_1d"):
        assert _flagged_days(unchanged, statistic) == set(), statistic


def test_a_reference_of_training_profiles_decides_from_the_first_day() -> None:
    """Profiles of training data are the reference of every day, the first ones too (no week of
    logs needed): the shifted column is flagged from its first full day, the unchanged output
    never, and a column the training data lacks gets no day-long points."""
    rng = np.random.default_rng(7)
    training = Profile.merge_all(
        [p for hour in range(48) for p in _hour(hour, rng, shift=0.0, constant=False)]
    )
    reference = Reference.of_profiles([training], source="training")
    profiles = _shifted_month(seed=8, shift_from_day=2, days=4)
    series = drift_day_series(profiles, StatsSpec(reference=reference))
    assert _flagged_days(series, "mean_1d") == {2, 3}
    score = [s for s in series if s.key.column == "score" and s.key.statistic == "drift_ks_1d"]
    assert score and np.isfinite(score[0].values).any()
    score_band = [s for s in series if s.key.statistic == "drift_ks_1d_upper"]
    with np.errstate(invalid="ignore"):
        assert not np.any(score[0].values > score_band[0].values)
    lacking = Reference.of_profiles([replace(training, features={})], source="no features")
    found = drift_day_series(profiles, StatsSpec(reference=lacking))
    assert found and not [s for s in found if s.key.column == "age"]


def _by_hour_days(seed: int, *, quiet_from: int, shift: float = 0.0) -> list[Profile]:
    """A feature that follows the hour of the day (a sine of 1 around 0, noise sd 0.5) and
    traffic of 400 rows an hour, a third of it from day ``quiet_from`` on (quieter days)."""
    rng = np.random.default_rng(seed)
    found: list[Profile] = []
    for hour in range(24 * DAYS):
        rows = 400 if hour // 24 < quiet_from else 133
        meta = prediction_meta(rows, start=START + hour * HOUR, span=HOUR)
        phase = np.sin((hour % 24) / 24 * 2 * np.pi)
        value = phase + rng.normal(shift if hour // 24 >= quiet_from else 0.0, 0.5, rows)
        batch = RecordBatch(
            meta=meta,
            features={"clock": Column.from_numbers(value)},
            outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, rows))},
        )
        found += profile_batch(batch, ProfileSpec()).values()
    return found


def _clock_flags(series: list[Series], statistic: str) -> int:
    by_name = {s.key.statistic: s for s in series if s.key.column == "clock"}
    values = by_name[statistic].values
    with np.errstate(invalid="ignore"):
        return int(
            np.sum(
                (values < by_name[statistic + "_lower"].values)
                | (values > by_name[statistic + "_upper"].values)
            )
        )


def test_a_trailing_day_that_mixes_busy_and_quiet_hours_is_weighted_like_its_reference() -> None:
    # From day 10 traffic drops to a third. The trailing days of day 10's hours hold busy hours
    # of day 9 and quiet hours of day 10 in unequal parts, so a feature that follows the hour of
    # the day has another mean, median and spread over them, with nothing changed: against
    # whole reference days of even traffic that read as drift. Weighted to each trailing day's
    # mix of hours, the reference agrees.
    profiles = _by_hour_days(seed=7, quiet_from=10)
    series = drift_day_series(profiles, StatsSpec(), since=START + 10 * DAY)
    for statistic in ("mean_1d", "recent_mean_1d", "p50_1d", "std_1d", "ks_1d"):
        assert _clock_flags(series, statistic) == 0, statistic


def test_weighting_the_mix_still_sees_a_shift_of_a_third_of_a_standard_deviation() -> None:
    # The same quiet days, now also shifted by 0.25: half the noise, a third of the feature's sd.
    profiles = _by_hour_days(seed=7, quiet_from=10, shift=0.25)
    series = drift_day_series(profiles, StatsSpec(), since=START + 10 * DAY)
    assert _clock_flags(series, "mean_1d") > 12


def test_the_reference_is_weighted_only_when_the_mix_differs_beyond_the_tolerance() -> None:
    from vigil.profile import ColumnProfile
    from vigil.profile import ProfileSpec as Spec
    from vigil.profile.column_stats import profile_column
    from vigil.stats.day_pools import MIX_TOLERANCE, Pooled, mixed

    def column(value: float, n: int) -> ColumnProfile:
        return profile_column(Column.from_numbers(np.full(n, value)), Spec())

    reference = Pooled([column(0.0, 100), column(10.0, 100)], [0, 3600])  # half and half
    # Total variation 0.01 and 0.05 around the tolerance of 0.02.
    near = [(0, column(0.0, 49)), (3600, column(10.0, 51))]
    far = [(0, column(0.0, 45)), (3600, column(10.0, 55))]
    assert MIX_TOLERANCE == 0.02
    assert mixed(reference, near) is reference
    weighted = mixed(reference, far)
    assert weighted is not reference
    assert weighted.moments.mean == pytest.approx(5.5)
    assert weighted.quantiles.n == reference.quantiles.n == 200


def test_a_pool_of_sorted_items_read_once_equals_the_pool_read_from_the_sketches() -> None:
    """The day-long drift reads each window's sketch once and pools its items sorted; a stable
    sort of sorted runs orders ties as the items read in place do, so the pool, and the pool
    weighted to another mix of the day, are exactly the same."""
    from vigil.profile import ColumnProfile
    from vigil.profile import ProfileSpec as Spec
    from vigil.profile.column_stats import profile_column
    from vigil.stats.day_pools import Pooled
    from vigil.stats.drift_day import _items, _Retained

    rng = np.random.default_rng(5)

    def column(n: int) -> ColumnProfile:  # rounded: many ties, within and across windows
        return profile_column(Column.from_numbers(np.round(rng.normal(5, 2, n))), Spec())

    keys = [
        ProfileKey(
            model="m",
            version="v1",
            window=Window(start=START + k * HOUR, end=START + (k + 1) * HOUR),
        )
        for k in range(4)
    ]
    columns = [column(n) for n in (3000, 1, 0, 700)]  # compacted, a single item, empty
    retained: _Retained = {}
    items = [_items(retained, k, "feature", "x", c) for k, c in zip(keys, columns, strict=True)]
    assert _items(retained, keys[0], "feature", "x", columns[0]) is items[0]  # read once
    slots = [0, 3600, 7200, 10800]
    read = Pooled(columns, slots)
    held = Pooled(columns, slots, items=items)
    np.testing.assert_array_equal(held.quantiles.values, read.quantiles.values)
    np.testing.assert_array_equal(held.quantiles.cumulative, read.quantiles.cumulative)
    assert held.quantiles.rank_error == read.quantiles.rank_error
    shares = {0: 0.1, 3600: 0.2, 10800: 0.7}
    np.testing.assert_array_equal(
        held.mixed_like(shares).quantiles.cumulative, read.mixed_like(shares).quantiles.cumulative
    )
