"""``recent_mean``: the trailing day's mean weighted toward its latest windows, compared slot by
slot with its reference, at ``alpha * recent_mean_alpha_ratio``; sees a slow drift before the
plain day-long mean does."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import special

from vigil.core import ConfigError
from vigil.ingest import Column, RecordBatch
from vigil.profile import Moments, Profile, ProfileSpec, profile_batch
from vigil.profile.synthetic import prediction_meta
from vigil.stats import StatsSpec
from vigil.stats.change import ChangeTest
from vigil.stats.drift_day import drift_day_series
from vigil.stats.recent_mean import RecentWindow, recent_mean_change, recent_z

SPAN = 24
ROWS = 300
REFERENCE_DAYS = 7


def _moments(count: int, mean: float, sd: float = 1.0) -> Moments:
    return Moments(count=count, mean=mean, m2=count * sd * sd, min=mean - 5.0, max=mean + 5.0)


def _day(means: list[float]) -> list[RecentWindow]:
    """24 windows of ``ROWS`` rows, ``means[age]`` for the window ``age`` hours before the
    latest, which sits in slot 23 (so age ``a`` is in slot ``23 - a``)."""
    return [
        RecentWindow(age=age, slot=(SPAN - 1 - age) * 3600, moments=_moments(ROWS, mean))
        for age, mean in enumerate(means)
    ]


def _slots(mean_of: dict[int, float]) -> dict[int, Moments]:
    return {
        slot * 3600: _moments(REFERENCE_DAYS * ROWS, mean_of.get(slot, 0.0)) for slot in range(SPAN)
    }


def _whole(slots: dict[int, Moments]) -> Moments:
    return Moments.merge_all(list(slots.values()))


def _half_width(test: ChangeTest) -> float:
    """The band's half-width for 24 equal windows of sd 1 against 7 days of the same slots:
    weights 1..24, se = sqrt(sum w² n + sum (w n)² / (7 n)) / sum w n."""
    weights = np.arange(1, SPAN + 1, dtype=float)
    total = float(np.sum(weights * ROWS))
    own = float(np.sum(weights**2 * ROWS))
    theirs = float(np.sum((weights * ROWS) ** 2 / (REFERENCE_DAYS * ROWS)))
    z = float(special.ndtri(1.0 - test.alpha * test.recent_mean_alpha_ratio / 2.0))
    return max(test.min_mean_sd, z * math.sqrt(own + theirs) / total)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_shift_just_beyond_the_band_is_flagged_and_just_inside_is_not(sign: float) -> None:
    test = ChangeTest()
    half = _half_width(test)
    assert 0.06 < half < 0.07  # z 4.42 (alpha 1e-5) times 0.0144 sd: the 0.05 floor is below
    slots = _slots({})
    for factor, changed in ((1.02, True), (0.98, False)):
        found = recent_mean_change(
            _day([sign * factor * half] * SPAN), _whole(slots), slots, test, span=SPAN
        )
        assert found is not None
        assert found.statistic == "recent_mean"
        assert found.band.upper == pytest.approx(half, rel=1e-9)
        assert found.changed is changed, factor


def test_the_floor_decides_when_the_test_is_looser() -> None:
    test = ChangeTest(min_mean_sd=0.1)
    slots = _slots({})
    for mean, changed in ((0.101, True), (0.099, False)):
        found = recent_mean_change(_day([mean] * SPAN), _whole(slots), slots, test, span=SPAN)
        assert found is not None and found.changed is changed


def test_the_latest_windows_weigh_most() -> None:
    """The same shift in the newest six windows is seen; in the oldest six it is not."""
    test = ChangeTest()
    slots = _slots({})
    newest = [0.3 if age < 6 else 0.0 for age in range(SPAN)]
    oldest = newest[::-1]
    seen = recent_mean_change(_day(newest), _whole(slots), slots, test, span=SPAN)
    unseen = recent_mean_change(_day(oldest), _whole(slots), slots, test, span=SPAN)
    assert seen is not None and unseen is not None
    # weights 19..24 of 300 against 1..6 of 300
    assert seen.value == pytest.approx(0.3 * sum(range(19, 25)) / 300)
    assert unseen.value == pytest.approx(0.3 * sum(range(1, 7)) / 300)
    assert seen.changed and not unseen.changed


def test_a_daily_rhythm_is_compared_slot_by_slot() -> None:
    """A mean that follows the hour (amplitude 0.5 sd) does not move against the same hours of
    the reference; against the whole reference the weighting alone reads it as drift."""
    rhythm = {slot: 0.5 * math.sin(2 * math.pi * slot / SPAN) for slot in range(SPAN)}
    means = [rhythm[SPAN - 1 - age] for age in range(SPAN)]
    slots = _slots(rhythm)
    test = ChangeTest()
    by_slot = recent_mean_change(_day(means), _whole(slots), slots, test, span=SPAN)
    as_whole = recent_mean_change(_day(means), _whole(slots), {}, test, span=SPAN)
    assert by_slot is not None and as_whole is not None
    assert by_slot.value - by_slot.band.expected == pytest.approx(0.0, abs=1e-12)
    assert not by_slot.changed
    assert as_whole.changed


def test_a_slot_the_reference_lacks_compares_the_whole_day() -> None:
    slots = _slots({})
    del slots[5 * 3600]
    found = recent_mean_change(_day([0.0] * SPAN), _whole(slots), slots, ChangeTest(), span=SPAN)
    assert found is not None
    # One comparison with the whole reference: its noise is (sum w n)² / n_ref.
    weights = np.arange(1, SPAN + 1, dtype=float) * ROWS
    n_ref = (SPAN - 1) * REFERENCE_DAYS * ROWS
    se = math.sqrt(float(np.sum(weights**2 / ROWS)) + float(weights.sum()) ** 2 / n_ref)
    se /= float(weights.sum())
    assert found.band.upper == pytest.approx(recent_z(ChangeTest()) * se, rel=1e-9)


def test_nothing_to_weigh_gives_no_test() -> None:
    slots = _slots({})
    one_window = recent_mean_change(_day([1.0]), _whole(slots), slots, ChangeTest(), span=1)
    assert one_window is None  # a day of one window: the plain mean at a looser alpha
    lone = recent_mean_change(_day([1.0]), _whole(slots), slots, ChangeTest(), span=SPAN)
    assert lone is None
    empty = recent_mean_change(_day([1.0] * SPAN), Moments(), {}, ChangeTest(), span=SPAN)
    assert empty is None


def test_the_alpha_ratio_is_checked_and_capped() -> None:
    assert recent_z(ChangeTest()) == pytest.approx(float(special.ndtri(1 - 5e-6)))
    assert recent_z(ChangeTest(recent_mean_alpha_ratio=1.0)) == pytest.approx(ChangeTest().z)
    # alpha 0.05 times 10 would be 0.5: capped at 0.1
    assert recent_z(ChangeTest(alpha=0.05)) == pytest.approx(float(special.ndtri(0.95)))
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ConfigError, match="recent_mean_alpha_ratio"):
            ChangeTest(recent_mean_alpha_ratio=bad)


START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _ramp_month(seed: int, *, from_day: int, sd_per_day: float, days: int) -> list[Profile]:
    """A feature of sd 1, ``ROWS`` rows an hour, drifting linearly from ``from_day`` on."""
    rng = np.random.default_rng(seed)
    found: list[Profile] = []
    for hour in range(24 * days):
        drift = max(0.0, (hour - 24 * from_day + 0.5) / 24 * sd_per_day)
        meta = prediction_meta(ROWS, start=START + hour * HOUR, span=HOUR)
        batch = RecordBatch(
            meta=meta,
            features={"slow": Column.from_numbers(rng.normal(drift, 1.0, ROWS))},
            outputs={"score": Column.from_numbers(rng.beta(2.0, 5.0, ROWS))},
        )
        found += profile_batch(batch, ProfileSpec()).values()
    return found


def _first_flag(profiles: list[Profile], statistic: str, since: datetime) -> int | None:
    series = drift_day_series(profiles, StatsSpec(), since=since)
    by_name = {s.key.statistic: s for s in series if s.key.column == "slow"}
    values = by_name[statistic].values
    with np.errstate(invalid="ignore"):
        outside = (values < by_name[statistic + "_lower"].values) | (
            values > by_name[statistic + "_upper"].values
        )
    return int(np.argmax(outside)) if outside.any() else None


def test_a_slow_drift_is_seen_by_the_recent_mean_hours_before_the_day_long_mean() -> None:
    """0.1 sd a day (issue 20's gradual drift) at 7,200 rows a day, from day 9; hours counted
    from day 9's start. Seeds 1-6 gave 23/29, 21/26, 22/26, 28/29, 24/28, 15/21 h (recent /
    plain): the recent mean first every time, by 1-6 h."""
    profiles = _ramp_month(seed=3, from_day=9, sd_per_day=0.1, days=12)
    since = START + 9 * 24 * HOUR
    recent = _first_flag(profiles, "recent_mean_1d", since)
    plain = _first_flag(profiles, "mean_1d", since)
    assert recent is not None and plain is not None
    assert recent + 1 < 24 < plain + 1  # within the day; the plain mean after it
    calm = _ramp_month(seed=3, from_day=99, sd_per_day=0.1, days=12)
    assert _first_flag(calm, "recent_mean_1d", since) is None
