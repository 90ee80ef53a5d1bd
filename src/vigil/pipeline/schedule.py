"""Data time: which windows a cycle processes, and where a cycle stops.

Due windows are the complete windows after the last one marked done, up to the end of the data
(the latest full window with a request) or an explicit ``until``, never after the clock, never
before ``[ingest] earliest`` and at most ``limit`` of them (see :mod:`vigil.pipeline.runner`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from vigil.core import SerializationError, Window, windows_between
from vigil.ingest import EARLIEST
from vigil.profile import ProfileSummary
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
    """Where a cycle stops: ``until``, else the end of the latest full window with a request;
    never after ``now`` (a window is complete only once the clock has passed it).

    Requests, not rows: labels arrive days after their predictions, and a replayed folder whose
    last files hold only labels (or a straggler or two) would otherwise end in days of "traffic
    stopped" for every model (found: 11 false incidents on one replay). Full windows: see
    :func:`_full_end`."""
    end = until if until is not None else _last_traffic_end(store, window, now)
    return None if end is None else min(end, now)


TRAFFIC_TAIL = timedelta(days=7)
"""How far back from the latest data a replay looks for its last window with a request."""
RAGGED_EDGE = timedelta(hours=2)
"""How much of a replay's end may be its ragged edge (see :func:`_full_end`)."""
RAGGED_SHARE = 0.5
"""A window at the edge is partial below this share of the same window's requests a day
before ..."""
RAGGED_ALPHA = 1e-3
"""... and when so few requests are improbable by chance: P(X <= n) < this for X Poisson with
the day before's count as mean (a quiet hour of a few requests halves by chance)."""
_DAY = timedelta(days=1)


def _last_traffic_end(store: Store, window: timedelta, now: datetime) -> datetime | None:
    last = store.profiles.last_window_end(duration=window)
    if last is None:
        return None
    requests: dict[datetime, int] = {}
    for record in store.profiles.records(start=last - TRAFFIC_TAIL, duration=window):
        try:  # the header's counts: decoding a week of sketches to count requests cost seconds
            count = ProfileSummary.from_bytes(record.blob).requests
        except SerializationError:  # its model's statistics stage reports it, by name
            continue
        end = record.key.window.end
        requests[end] = requests.get(end, 0) + count
    busy = [end for end, count in requests.items() if count > 0]
    if not busy:
        return last
    return _full_end(requests, max(busy), window=window, now=now)


def _full_end(
    requests: Mapping[datetime, int], last: datetime, *, window: timedelta, now: datetime
) -> datetime:
    """The end of the last full window of a replay whose latest request ends at ``last``.

    A log folder ends raggedly: a host whose clock runs fast writes a few requests into the
    hour after everyone else's last one, and lines still on their way are missing from the last
    hour. Processing such a window reads as traffic stopped for the models that have no
    requests there (found: two false "traffic stopped" incidents at the end of a replay whose
    one host ran 17 minutes fast). So windows in the last :data:`RAGGED_EDGE` of the data
    whose requests (all models) are below :data:`RAGGED_SHARE` of the same window a day before
    and improbably so for their count (:data:`RAGGED_ALPHA`) are left for a later cycle, with
    more data, to judge.

    Only in a replay, where the data ends :data:`RAGGED_EDGE` or more before ``now``: in a live
    run the clock says which windows are complete, and a real drop in the last hour is news.
    """
    if last + RAGGED_EDGE > now:
        return last
    end = last
    while end > last - RAGGED_EDGE:
        before, count = requests.get(end - _DAY, 0), requests.get(end, 0)
        if count >= RAGGED_SHARE * before or _poisson_at_most(count, before) >= RAGGED_ALPHA:
            break
        end -= window
    return end


def _poisson_at_most(count: int, mean: float) -> float:
    """P(X <= count) for X Poisson with ``mean`` (summed in log space: no overflow)."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return min(
        1.0, sum(math.exp(k * log_mean - mean - math.lgamma(k + 1)) for k in range(count + 1))
    )


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
