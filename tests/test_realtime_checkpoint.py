"""A restarted server resumes its real-time monitors from a signed checkpoint in the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime import Events, FakeMonitor
from vigil.ingest import RecordBatch, records_to_chunk
from vigil.lab.simulation.realtime import StreamStop, TrafficSpec, simulate_stream
from vigil.pipeline.realtime import MonitorHub
from vigil.pipeline.realtime_checkpoint import CHECKPOINT, restore_hub, save_hub
from vigil.server.realtime import RealtimeFeed
from vigil.store import MemoryStore, SqlStore

START = datetime(2026, 11, 2, tzinfo=UTC)
KEY = b"server-write-token"
CUT = START + timedelta(hours=3)  # the "restart"
STOP = StreamStop(start=CUT + timedelta(minutes=20), end=CUT + timedelta(minutes=50))


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _rows(batch: Events) -> Iterator[dict[str, Any]]:
    for i in range(len(batch)):
        row: dict[str, Any] = {
            "model": batch.model,
            "version": "v1",
            "timestamp": float(batch.timestamp_s[i]),
            "event": batch.kind.value,
        }
        if batch.kind is EventKind.COMPLETION:
            assert batch.score is not None and batch.latency_ms is not None
            row["outputs"] = {"score": float(batch.score[i])}
            row["latency_ms"] = float(batch.latency_ms[i])
        yield row


def _minutes(start: datetime, end: datetime) -> Iterator[tuple[datetime, RecordBatch]]:
    """Per minute of a seeded stream of 2 requests/s that stops for 30 minutes after ``CUT``."""
    spec = TrafficSpec(start=START, duration=timedelta(hours=5), hosts=5)
    stream = simulate_stream(spec, [STOP], seed=11)
    moment = start
    while moment < end:
        upto = moment + timedelta(minutes=1)
        lines = [
            orjson.dumps(row)
            for batch in stream.events(moment.timestamp(), upto.timestamp())
            if batch.model == spec.model  # not the simulated canary's shadow scores
            for row in _rows(batch)
        ]
        yield upto, records_to_chunk(lines, source="t", now=None, first_position=0).batch
        moment = upto


def _run(hub: MonitorHub, start: datetime, end: datetime) -> list[tuple[str, str, datetime, float]]:
    raised = []
    for upto, batch in _minutes(start, end):
        hub.feed(batch)
        raised += [(a.monitor, a.statistic, a.timestamp, a.score) for a in hub.evaluate(upto)]
    return raised


def test_a_restored_hub_raises_what_the_uninterrupted_one_raises() -> None:
    uninterrupted = MonitorHub(MemoryStore())
    _run(uninterrupted, START, CUT)
    checkpoints = MemoryStore().checkpoints
    size = save_hub(uninterrupted, checkpoints, key=KEY, now=CUT)
    assert 0 < size < 5_000_000
    restarted = MonitorHub(MemoryStore())
    restored = restore_hub(restarted, checkpoints, key=KEY)
    assert (restored.models, restored.saved_at, restored.refused) == (1, CUT, None)
    after = CUT + timedelta(hours=1)
    expected = _run(uninterrupted, CUT, after)
    assert any(alert[1] == "gap" for alert in expected)  # the stop is caught
    assert _run(restarted, CUT, after) == expected
    counts = [(m.monitor, m.events) for m in restarted.status().monitors]
    assert counts == [(m.monitor, m.events) for m in uninterrupted.status().monitors]
    cold = MonitorHub(MemoryStore())  # what a restart without a checkpoint would see
    assert _run(cold, CUT, after) != expected


def test_a_checkpoint_that_does_not_verify_is_refused_and_nothing_is_unpickled() -> None:
    hub = MonitorHub(MemoryStore())
    _run(hub, START, START + timedelta(minutes=5))
    store = MemoryStore()
    save_hub(hub, store.checkpoints, key=KEY, now=START)
    assert restore_hub(MonitorHub(MemoryStore()), store.checkpoints, key=b"another key").refused
    blob, saved_at = store.checkpoints.get(CHECKPOINT) or (b"", START)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    store.checkpoints.put(CHECKPOINT, tampered, now=saved_at)
    fresh = MonitorHub(MemoryStore())
    result = restore_hub(fresh, store.checkpoints, key=KEY)
    assert result.refused and result.models == 0 and fresh.status().monitors == ()
    assert (
        restore_hub(fresh, MemoryStore().checkpoints, key=KEY).models == 0
    )  # no checkpoint: cold start


def test_models_whose_monitors_changed_start_afresh() -> None:
    hub = MonitorHub(MemoryStore())
    _run(hub, START, START + timedelta(minutes=5))
    store = MemoryStore()
    save_hub(hub, store.checkpoints, key=KEY, now=START)
    other = MonitorHub(MemoryStore(), monitors=lambda model: [FakeMonitor()])
    assert restore_hub(other, store.checkpoints, key=KEY).models == 0


def test_checkpoints_round_trip_and_replace_in_every_store(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        assert store.checkpoints.get("x") is None
        store.checkpoints.put("x", b"\x00first", now=START)
        store.checkpoints.put("x", b"\x00second", now=CUT)
        store.checkpoints.put("y", b"other", now=START)
        assert store.checkpoints.get("x") == (b"\x00second", CUT)
        assert store.checkpoints.get("y") == (b"other", START)
    finally:
        store.close()


def test_the_server_feed_saves_on_stop_and_every_period_and_restores_on_start() -> None:
    store, clock = MemoryStore(), Clock(START + timedelta(minutes=1))
    feed = RealtimeFeed(
        MonitorHub(store), clock=clock, checkpoints=store.checkpoints, checkpoint_key=KEY,
        checkpoint_every=timedelta(minutes=5),
    )  # fmt: skip
    feed.start()
    line = orjson.dumps({"model": "a", "timestamp": START.timestamp() + 30, "event": "arrival"})
    assert feed.submit(records_to_chunk([line], source="t", now=None).batch)
    assert feed.flush()
    assert store.checkpoints.get(CHECKPOINT) is None  # the first cycle starts the period
    clock.now += timedelta(minutes=6)
    assert feed.flush()
    assert feed.last_checkpoint_ == clock.now
    clock.now += timedelta(minutes=1)
    feed.stop()
    assert store.checkpoints.get(CHECKPOINT) is not None
    assert feed.last_checkpoint_ == clock.now  # saved again on the way out
    again = RealtimeFeed(
        MonitorHub(store), clock=clock, checkpoints=store.checkpoints, checkpoint_key=KEY
    )
    again.start()
    try:
        assert again.restored_models_ == 1 and again.status()["restored_models"] == 1
    finally:
        again.stop()


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="signing key"):
        save_hub(MonitorHub(MemoryStore()), MemoryStore().checkpoints, key=b"", now=START)
