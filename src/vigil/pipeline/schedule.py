"""Data time: which windows a cycle processes, and where a cycle stops.

Due windows are the complete windows after the last one marked done, up to the end of the data
(the latest window with a request) or an explicit ``until``, never after the clock, never before
``[ingest] earliest`` and at most ``limit`` of them (see :mod:`vigil.pipeline.runner`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vigil.core import SerializationError, Window, windows_between
from vigil.ingest import EARLIEST
from vigil.profile import Profile
from vigil.store import RunStatus, Store

STAGE = "pipeline"
"""The stage name of the runs a finished cycle records, one per window."""


def due_windows(
    store: Store,
    *,
    window: timedelta,
    now: datetime,
    until: datetime | None = None,
    earliest: datetime = EARLIEST,
    limit: int | None = None,
) -> list[Window]:
    """Complete windows after the last one done, from the first profiled window (and never
    before ``earliest``) on, up to :func:`data_end`; the oldest ``limit`` of them when given."""
    end = data_end(store, window=window, now=now, until=until)
    return windows_due(
        store,
        window=window,
        end=end,
        last_done=last_done_end(store),
        earliest=earliest,
        limit=limit,
    )


def data_end(
    store: Store, *, window: timedelta, now: datetime, until: datetime | None
) -> datetime | None:
    """Where a cycle stops: ``until``, else the end of the latest window with a request; never
    after ``now`` (a window is complete only once the clock has passed it).

    Requests, not rows: labels arrive days after their predictions, and a replayed folder whose
    last files hold only labels (or a straggler or two) would otherwise end in days of "traffic
    stopped" for every model (found: 11 false incidents on one replay)."""
    end = until if until is not None else _last_traffic_end(store, window)
    return None if end is None else min(end, now)


TRAFFIC_TAIL = timedelta(days=7)
"""How far back from the latest data a replay looks for its last window with a request."""


def _last_traffic_end(store: Store, window: timedelta) -> datetime | None:
    last = store.profiles.last_window_end(duration=window)
    if last is None:
        return None
    busy = []
    for record in store.profiles.records(start=last - TRAFFIC_TAIL, duration=window):
        try:
            requests = Profile.from_bytes(record.blob).requests
        except SerializationError:  # its model's statistics stage reports it, by name
            continue
        if requests > 0:
            busy.append(record.key.window.end)
    return max(busy) if busy else last


def windows_due(
    store: Store,
    *,
    window: timedelta,
    end: datetime | None,
    last_done: datetime | None,
    earliest: datetime,
    limit: int | None,
) -> list[Window]:
    first = store.profiles.first_window_start(duration=window)
    if first is None or end is None:
        return []
    start = max(first, Window.containing(earliest, window).start)
    if last_done is not None:
        start = max(start, last_done)
    last_complete = Window.containing(end, window).start
    if start >= last_complete:
        return []
    if limit is not None:
        last_complete = min(last_complete, start + limit * window)
    return windows_between(start, last_complete, window)


def last_done_end(store: Store) -> datetime | None:
    """End of the last window a cycle finished.

    A cycle re-reads from there less the late-data margin (``[ingest] late_data``), or
    everything before the first cycle: without that, every cycle re-read every file ever
    spooled, a cost that grows with history. Rows of earlier windows met on the way are counted
    as skipped, not profiled: their windows' series were already computed and notified (a row
    later than the margin is lost to them).
    """
    done = [r.window.end for r in store.runs.get(stage=STAGE, status=RunStatus.SUCCEEDED)]
    return max(done, default=None)
