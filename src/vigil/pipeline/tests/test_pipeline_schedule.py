"""Where a replay ends: its last full window, judged against the same window a day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.ingest import records_to_chunk
from vigil.pipeline.schedule import data_end
from vigil.profile import Profile, ProfileSpec, profile_batch
from vigil.store import MemoryStore

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
END = datetime(2026, 3, 16, tzinfo=UTC)
"""The end of the last hour everyone logged; the edge hour is ``[END, END + 1h)``."""
LATER = END + 30 * DAY


def _store(hours: dict[datetime, int]) -> MemoryStore:
    """Profiles of one model with ``n`` prediction rows in each hour starting at the keys."""
    records = [
        {"model": "m", "timestamp": (start + i * HOUR / (n + 1)).isoformat(), "request_id": f"{i}"}
        for start, n in hours.items()
        for i in range(n)
    ]
    store = MemoryStore()
    chunk = records_to_chunk(records, source="t", now=LATER)
    store.profiles.put(profile_batch(chunk.batch, ProfileSpec()).values(), now=LATER)
    return store


def _replay_end(day_before: int, edge: int, *, now: datetime = LATER) -> datetime | None:
    """The edge hour after a full one, each with the same hour a day before."""
    full = dict.fromkeys((END - DAY - HOUR, END - DAY, END - HOUR), day_before)
    return data_end(_store({**full, END: edge}), window=HOUR, now=now, until=None)


@pytest.mark.parametrize(
    ("day_before", "edge", "end"),
    [
        (1000, 499, END),  # under half of many: the edge, left out
        (1000, 500, END + HOUR),  # half: a full window
        (10, 1, END),  # 1 of about 10: P(X <= 1) = 5e-4, improbable by chance
        (10, 2, END + HOUR),  # 2 of about 10: P(X <= 2) = 2.8e-3, a quiet hour by chance
    ],
)
def test_a_replay_ends_at_its_last_full_window(day_before: int, edge: int, end: datetime) -> None:
    assert _replay_end(day_before, edge) == end


def test_the_edge_is_at_most_two_hours() -> None:
    """Two thin hours are both left out; a third is a change in the data, not its edge."""
    hours = {END - DAY + h * HOUR: 1000 for h in range(-2, 1)}
    thin = {END - 2 * HOUR: 10, END - HOUR: 10, END: 10}
    store = _store({**hours, **thin})
    assert data_end(store, window=HOUR, now=LATER, until=None) == END - HOUR


def test_a_live_run_processes_a_thin_last_hour() -> None:
    """With the clock within two hours of the data, the clock decides what is complete."""
    now = END + 2 * HOUR + 30 * timedelta(minutes=1)
    assert _replay_end(1000, 100, now=now) == END + HOUR
    assert _replay_end(1000, 100, now=END + 3 * HOUR) == END


def test_no_day_before_keeps_the_last_window() -> None:
    store = _store({END - HOUR: 50, END: 3})
    assert data_end(store, window=HOUR, now=LATER, until=None) == END + HOUR


def test_the_end_is_read_from_the_profiles_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Request counts come from each profile's header: no sketch of a week of profiles is
    decoded to find where the data ends."""
    store = _store({END - DAY: 1000, END - HOUR: 1000, END: 499})

    def refuse(data: bytes) -> Profile:
        raise AssertionError("data_end decoded a whole profile")

    monkeypatch.setattr(Profile, "from_bytes", staticmethod(refuse))
    assert data_end(store, window=HOUR, now=LATER, until=None) == END
