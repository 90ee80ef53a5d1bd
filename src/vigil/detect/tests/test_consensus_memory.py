"""``consensus``' memory: every calibration remembers at least a week of the series' steps, not
only its default 2,000 steps (33 hours of minute data)."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.core import SeriesKey
from vigil.detect import ConsensusDetector, ConsensusSettings
from vigil.stats import Series


def stepped(values: np.ndarray, seconds: int) -> Series:
    stamps = np.datetime64("2024-01-01T00:00:00") + np.arange(len(values)) * np.timedelta64(
        seconds, "s"
    )
    key = SeriesKey(model="m", version="", family="f", column="s", statistic="mean")
    return Series(key=key, timestamps=stamps, values=values)


@pytest.mark.parametrize(
    ("seconds", "history"),
    [(60, 10080), (300, 2016), (303, 2000), (3600, 2000)],
)
def test_every_calibration_remembers_a_week_of_steps_or_its_own_history_if_longer(
    seconds: int, history: int
) -> None:
    """A week of 5-minute steps is 2,016, just above the 2,000 steps remembered by default; at
    303 s it is 1,996, just below: the default stays. An hourly series is never touched."""
    settings = ConsensusSettings()
    now = settings.remembering(stepped(np.zeros(10), seconds))
    assert now.calibration.history == history
    assert now.runs_calibration.history == history
    assert now.calibration.min_history == settings.calibration.min_history
    assert now.runs_calibration.min_history == settings.runs_calibration.min_history
    off = ConsensusSettings(memory_days=None)
    assert off.remembering(stepped(np.zeros(10), seconds)) is off


@pytest.mark.parametrize("seed", [2, 5])
def test_a_minute_series_remembers_last_week_s_noisy_nights_and_still_sees_a_drop(
    seed: int,
) -> None:
    """Minute data with a noisy night (heavy-tailed, 02:00-05:00) every third day, and one hour
    150 below its usual level at noon on day 10, the day after a noisy night. Remembering 2,000
    steps (33 hours), the calibration holds that night and little else, so its tail excuses the
    drop; remembering a week, the noisy nights weigh what they weigh over the week and the drop
    pages. Measured on seeds 0-5: found on all six with a week, on 0, 1 and 4 only with 2,000
    steps (on Microsoft's minute series a week's memory also removed 60 of 181 false events:
    BENCHMARKS.md, session 9)."""
    day = 1440
    rng = np.random.default_rng(seed)
    minutes = np.arange(12 * day)
    values = 1000 + 200 * np.sin(2 * np.pi * minutes / day) + rng.normal(0, 20, minutes.size)
    for start in range(120, minutes.size, 3 * day):
        values[start : start + 180] += 40 * rng.standard_t(2, 180)
    drop = 10 * day + 12 * 60
    values[drop : drop + 60] -= 150
    found = {}
    for memory in (None, 7.0):
        detector = ConsensusDetector(settings=ConsensusSettings(memory_days=memory))
        detector.fit([stepped(values[:750], 60)])
        flags = detector.predict([stepped(values, 60)])[0].flags
        found[memory] = bool(flags[drop : drop + 63].any())
    assert found == {None: False, 7.0: True}
