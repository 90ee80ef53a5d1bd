"""The same-hour median detector: daily seasonality is normal, a stop or a shift is not."""

from __future__ import annotations

import numpy as np

from vigil.core import SeriesKey
from vigil.detect import SameHourMedian
from vigil.stats.series import Series

KEY = SeriesKey(model="m", version="", family="auxiliary", column="", statistic="requests")


def _diurnal(days: int = 14, seed: int = 0) -> Series:
    steps = np.arange(24 * days)
    times = np.datetime64("2026-11-02T00:00", "s") + steps * np.timedelta64(3600, "s")
    rng = np.random.default_rng(seed)
    values = 100 + 40 * np.sin(2 * np.pi * steps / 24) + rng.normal(0, 3, len(steps))
    return Series(key=KEY, timestamps=times, values=values)


def test_daily_cycle_alone_raises_almost_no_flags() -> None:
    detections = SameHourMedian().predict([_diurnal(seed=s) for s in range(5)])
    flagged = sum(int(d.flags.sum()) for d in detections)
    steps = sum(len(d.flags) for d in detections)
    # level 0.999 -> about 0.1% of steps by construction; allow a few times that.
    assert flagged <= 0.005 * steps


def test_traffic_stop_and_level_shift_are_flagged() -> None:
    series = _diurnal()
    values = series.values.copy()
    values[250:256] = 0.0
    values[300:] *= 1.5
    shifted = Series(key=KEY, timestamps=series.timestamps, values=values)
    flags = SameHourMedian().predict([shifted])[0].flags
    assert flags[250:256].all()
    assert flags[300:306].any()
    assert flags[200:249].sum() <= 1  # level 0.999: a rare tail value may flag


def test_scores_are_causal() -> None:
    series = _diurnal()
    changed = series.values.copy()
    changed[200:] += 1000
    later = Series(key=KEY, timestamps=series.timestamps, values=changed)
    detector = SameHourMedian()
    before = detector.score([series])[0].score[:200]
    after = detector.score([later])[0].score[:200]
    np.testing.assert_array_equal(before, after)
