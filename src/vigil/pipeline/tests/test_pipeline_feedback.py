"""Stored verdicts -> step masks on stored series: confirmed, rejected, and counted misses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import Feedback, Incident, IncidentState, Verdict
from vigil.pipeline import gather_feedback
from vigil.stats import Series
from vigil.store import MemoryStore

START = datetime(2026, 3, 2, tzinfo=UTC)
KEY = SeriesKey(model="m", version="1", family="feature", column="age", statistic="mean")


def _anomaly(hours: float, key: SeriesKey = KEY) -> Anomaly:
    return Anomaly(
        key=key,
        timestamp=START + timedelta(hours=hours),
        value=9.0,
        expected=1.0,
        lower=0.0,
        upper=2.0,
        score=4.0,
        severity=4.0,
        detector="same-hour",
    )


def _incident(name: str, *anomalies: Anomaly) -> Incident:
    at = anomalies[0].timestamp
    return Incident(
        id=name,
        model="m",
        version="1",
        state=IncidentState.OPEN,
        opened_at=at,
        updated_at=at,
        last_anomaly_at=at,
        severity=4.0,
        summary=name,
        anomalies=anomalies,
    )


def test_verdicts_become_masks_on_the_stored_steps_and_misses_are_counted() -> None:
    store = MemoryStore()
    stamps = np.datetime64("2026-03-02T00:00", "s") + np.arange(6) * np.timedelta64(3600, "s")
    store.series.put([Series(key=KEY, timestamps=stamps, values=np.arange(6, dtype=np.float64))])
    other = SeriesKey(model="m", version="1", family="feature", column="gone", statistic="mean")
    store.incidents.put(
        [
            _incident("kept", _anomaly(1), _anomaly(4)),
            _incident("dropped", _anomaly(2)),
            # Off the grid (half past) and on a series that was never stored: two misses.
            _incident("strays", _anomaly(3.5), _anomaly(5, other)),
            _incident("no verdict", _anomaly(0)),
        ]
    )
    for name, verdict in (
        ("kept", Verdict.CONFIRMED),
        ("dropped", Verdict.FALSE_ALARM),
        ("strays", Verdict.CONFIRMED),
    ):
        store.feedback.put(Feedback(incident_id=name, verdict=verdict, at=START))
    store.feedback.put(Feedback(incident_id="unknown", verdict=Verdict.CONFIRMED, at=START))

    gathered = gather_feedback(store)

    assert (gathered.labels, gathered.unmatched) == (5, 2)
    (one,) = gathered.series
    assert one.series.key == KEY
    assert np.flatnonzero(one.confirmed).tolist() == [1, 4]
    assert np.flatnonzero(one.rejected).tolist() == [2]


def test_a_store_without_feedback_gathers_nothing() -> None:
    gathered = gather_feedback(MemoryStore())
    assert (gathered.series, gathered.labels, gathered.unmatched) == ((), 0, 0)
