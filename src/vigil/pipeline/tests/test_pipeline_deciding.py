"""Which of a day's windows stand as decided once an incident opens within them.

A replay decides the windows after an opening again, with the incident's series out of their
baselines (:func:`vigil.pipeline.deciding._opened_before_end`). These tests pin its boundaries:
an opening in the last window leaves nothing to decide again, one in the window before leaves
exactly the last, and incidents already open, or without series, cut nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import SeriesKey, Window
from vigil.detect import Anomaly
from vigil.incidents import Incident, IncidentState
from vigil.pipeline.deciding import _opened_before_end

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
WINDOWS = [Window(start=START + i * HOUR, end=START + (i + 1) * HOUR) for i in range(6)]
KEY = SeriesKey(model="m", version="1", family="auxiliary", column="", statistic="requests")


def _incident(
    name: str, opened_at: datetime, state: IncidentState = IncidentState.OPEN
) -> Incident:
    anomaly = Anomaly(
        key=KEY, timestamp=opened_at, value=0.0, expected=50.0, lower=40.0, upper=60.0,
        score=9.0, severity=9.0, detector="consensus",
    )  # fmt: skip
    resolved = opened_at + HOUR if state is IncidentState.RESOLVED else None
    return Incident(
        id=name, model="m", version="1", state=state, opened_at=opened_at,
        updated_at=opened_at, last_anomaly_at=opened_at, resolved_at=resolved, severity=9.0,
        summary=name, anomalies=(anomaly,),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("hour", "kept"),
    [
        (5.0, 6),  # opened in the last window: every window stands, nothing is decided again
        (5.5, 6),  # within the last window, not at its start
        (4.0, 5),  # in the window before: only the last is decided again
        (4.99, 5),
        (0.0, 1),  # in the first window: all the others are decided again
        (-3.0, 1),  # before the first (a late-arriving anomaly): the first still stands
    ],
)
def test_the_windows_up_to_the_opening_stand(hour: float, kept: int) -> None:
    opened = _incident("new", START + hour * HOUR)
    assert _opened_before_end([opened], [], WINDOWS) == kept


def test_an_opening_that_resolved_within_the_day_still_cuts() -> None:
    # While it was open, it held its series out of the baselines.
    gone = _incident("gone", START + 2 * HOUR, IncidentState.RESOLVED)
    assert _opened_before_end([gone], [], WINDOWS) == 3


def test_incidents_open_before_the_windows_cut_nothing() -> None:
    old = _incident("old", START - 10 * HOUR)
    assert _opened_before_end([old], [old], WINDOWS) == len(WINDOWS)
    assert _opened_before_end([], [], WINDOWS) == len(WINDOWS)


def test_the_earliest_new_opening_decides() -> None:
    old = _incident("old", START + 1 * HOUR)  # already live: it was decided before
    first, second = _incident("a", START + 2 * HOUR), _incident("b", START + 4 * HOUR)
    assert _opened_before_end([second, old, first], [old], WINDOWS) == 3
