"""Reference windows and StatsSpec validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import ConfigError, Window
from vigil.stats.spec import Reference, StatsSpec, quantile_name, threshold_name

NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _hour(start: datetime) -> Window:
    return Window(start=start, end=start + HOUR)


def test_same_hour_reference_takes_that_hour_of_each_previous_day() -> None:
    reference = Reference.trailing_same_hour(days=7)
    current = _hour(NOON)
    for k in range(1, 8):
        assert reference.selects(current, _hour(NOON - k * DAY))
    assert not reference.selects(current, _hour(NOON - 8 * DAY))
    assert not reference.selects(current, _hour(NOON - DAY + HOUR))  # 13:00 yesterday
    assert not reference.selects(current, current)
    assert reference.earliest(NOON) == NOON - 7 * DAY


def test_same_hour_reference_of_a_daily_window_is_the_previous_days() -> None:
    reference = Reference.trailing_same_hour(days=3)
    today = Window(start=NOON.replace(hour=0), end=NOON.replace(hour=0) + DAY)
    chosen = [
        k
        for k in range(1, 6)
        if reference.selects(today, Window(start=today.start - k * DAY, end=today.end - k * DAY))
    ]
    assert chosen == [1, 2, 3]


def test_trailing_and_fixed_references() -> None:
    trailing = Reference.trailing(3 * HOUR)
    assert trailing.selects(_hour(NOON), _hour(NOON - 3 * HOUR))
    assert not trailing.selects(_hour(NOON), _hour(NOON - 4 * HOUR))
    baseline = Window(start=NOON - 10 * DAY, end=NOON - 9 * DAY)
    fixed = Reference.fixed(baseline)
    assert fixed.selects(_hour(NOON), _hour(baseline.start))
    assert not fixed.selects(_hour(NOON), _hour(NOON - HOUR))
    assert fixed.earliest(NOON) == baseline.start


def test_bad_settings_are_refused_with_their_value() -> None:
    with pytest.raises(ConfigError, match="0"):
        Reference.trailing_same_hour(days=0)
    with pytest.raises(ConfigError, match=r"0\.4"):
        StatsSpec(constant_share=0.4)
    with pytest.raises(ConfigError, match=r"1\.5"):
        StatsSpec(quantiles=(0.5, 1.5))
    with pytest.raises(ConfigError, match="inf"):
        StatsSpec(score_thresholds=(float("inf"),))


def test_statistic_names() -> None:
    assert [quantile_name(q) for q in (0.01, 0.5, 0.99, 0.999)] == ["p01", "p50", "p99", "p99.9"]
    assert threshold_name(0.5) == "share_above_0.5"
