"""Real-time monitors wired into the server: simulated streams posted over HTTP become
incidents in the store and in ``GET /v1/incidents``; the hub's bounds and failure handling."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from vigil.core import EventKind, SeriesKey, StoreError
from vigil.detect.realtime import Events, FakeMonitor, MonitorAlert, events_from_batch, utc_datetime
from vigil.incidents import Incident, IncidentState, Silence
from vigil.ingest import records_to_chunk
from vigil.lab.simulation.realtime import SimulatedStream, StreamStop, TrafficSpec, simulate_stream
from vigil.pipeline.realtime import ARROW_MIN_LINES, HubSettings, MonitorHub, rebuild_batch
from vigil.server import MemorySpool, ServerSettings, create_app, serve_in_background
from vigil.server.realtime import RealtimeFeed
from vigil.store import MemoryStore, SqlStore
from vigil.store.memory.incidents import MemoryIncidents

TOKEN = "realtime-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
START = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(minutes=1)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _records(batch: Events, version: str) -> list[dict[str, Any]]:
    assert batch.request_id is not None
    rows: list[dict[str, Any]] = []
    for i in range(len(batch)):
        row: dict[str, Any] = {
            "model": batch.model,
            "version": version,
            "timestamp": float(batch.timestamp_s[i]),
            "event": batch.kind.value,
            "request_id": str(batch.request_id[i]),
        }
        if "host" in batch.tags:
            row["host"] = str(batch.tags["host"][i])
        if batch.kind is EventKind.COMPLETION:
            assert batch.score is not None and batch.latency_ms is not None
            row["outputs"] = {"score": float(batch.score[i])}
            row["latency_ms"] = float(batch.latency_ms[i])
        if batch.kind is EventKind.LABEL:
            row["label"] = 1
        rows.append(row)
    return rows


def _steps(streams: Sequence[SimulatedStream], end: datetime) -> Iterator[tuple[datetime, bytes]]:
    """Per replay step: its end and a JSON-lines body with every stream's events of the step
    (arrivals, champion completions and outcomes: what serving code would log)."""
    moment = START
    while moment < end:
        upto = moment + STEP
        rows: list[dict[str, Any]] = []
        for stream in streams:
            for batch in stream.events(moment.timestamp(), upto.timestamp()):
                if batch.model == stream.spec.model:
                    rows.extend(_records(batch, stream.spec.version))
        yield upto, b"\n".join(orjson.dumps(row) for row in rows)
        moment = upto


def _settings(tmp_path: Path, clock: Clock, **changes: Any) -> ServerSettings:
    return ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'vigil.db'}",
        spool_dir=tmp_path / "spool",
        token=TOKEN,
        clock=clock,
        realtime_lateness=timedelta(0),
        **changes,
    )


@pytest.mark.slow
def test_a_stopped_stream_becomes_an_incident_and_a_clean_one_does_not(tmp_path: Path) -> None:
    """Two models at 0.5 req/s over HTTP for 2.5 hours; ``ranker`` stops at 2:10 (the arrival
    monitor judges gaps from its second full hour on), ``fraud`` runs clean throughout."""
    stop = START + timedelta(hours=2, minutes=10)
    end = START + timedelta(hours=2, minutes=30)
    spec = TrafficSpec(start=START, duration=end - START, mean_rate_per_s=0.5)
    broken = simulate_stream(spec, [StreamStop(start=stop, end=end)], seed=21)
    clean = simulate_stream(
        TrafficSpec(model="fraud", start=START, duration=end - START, mean_rate_per_s=0.5),
        seed=22,
    )
    clock = Clock(START)
    settings = _settings(tmp_path, clock)
    posted = 0
    app = create_app(settings, spool=MemorySpool())  # the spool's fsyncs are tested elsewhere
    feed = app.state.realtime
    assert isinstance(feed, RealtimeFeed)
    with serve_in_background(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for upto, body in _steps([broken, clean], end):
            answer = client.post("/v1/ingest", content=body, headers=AUTH)
            assert answer.status_code == 200 and answer.json()["rejected"] == []
            posted += answer.json()["accepted"]
            clock.now = upto  # after the post: everything before `upto` is queued
            assert feed.flush()
        incidents = client.get("/v1/incidents").json()
        status = client.get("/v1/realtime").json()

    assert [i["model"] for i in incidents] == ["ranker"]
    store = SqlStore(settings.store_url)
    try:
        stored = store.incidents.get()
    finally:
        store.close()
    assert [i.model for i in stored] == ["ranker"] and stored[0].id == incidents[0]["id"]
    gap = next(a for a in stored[0].anomalies if a.key.statistic == "gap")
    assert gap.detector == "realtime.arrivals" and gap.severity > 1.0
    # Nothing before the stop. Under Poisson traffic the gap threshold is about
    # ln(arrivals per week) ~ 13 expected gaps at the cautious rate (the last hour's mean
    # lowered by e^-0.5); at 0.5-0.65 req/s that is under a minute, plus one replay step.
    assert stop < stored[0].opened_at == min(a.timestamp for a in stored[0].anomalies)
    assert gap.timestamp - stop <= timedelta(minutes=3)

    assert status["enabled"] and status["skipped_rows"] == 0 and status["cycle_errors"] == 0
    assert status["fed_rows"] == posted
    models = {m["model"]: m["monitors"] for m in status["models"]}
    assert set(models) == {"ranker", "fraud"}
    arrivals = {m["monitor"]: m for m in models["ranker"]}["arrivals"]
    completed = int((broken.completion_s < end.timestamp()).sum())
    converted = int((broken.outcome_s < end.timestamp()).sum())
    assert arrivals["events"] == len(broken) + completed + converted
    latest_gap = next(a for a in arrivals["latest"] if a["statistic"] == "gap")
    assert latest_gap["score"] > latest_gap["threshold"]
    assert all(m["alerts"] == 0 for m in models["fraud"])


def test_ingest_stays_accepted_and_durable_when_the_monitor_queue_is_full(tmp_path: Path) -> None:
    """The worker is stopped, so nothing drains the queue: the second request finds it full."""
    spool = MemorySpool()
    settings = _settings(tmp_path, Clock(START + timedelta(hours=1)), realtime_queue_size=1)
    app = create_app(settings, store=MemoryStore(), spool=spool)
    rows = [{"model": "m", "timestamp": START.timestamp() + i, "event": "arrival"} for i in (1, 2)]
    with serve_in_background(app) as url, httpx.Client(base_url=url) as client:
        app.state.realtime.stop()
        for row in rows:
            answer = client.post("/v1/ingest", content=orjson.dumps(row), headers=AUTH)
            assert answer.json() == {"accepted": 1, "rejected": []}
        status = client.get("/v1/realtime").json()
    assert sum(len(lines) for lines in spool.lines.values()) == 2
    assert status["queued_requests"] == 1
    assert (status["skipped_requests"], status["skipped_rows"]) == (1, 1)


def test_realtime_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, Clock(START), realtime=False))
    assert app.state.realtime is None
    with serve_in_background(app) as url:
        assert httpx.get(f"{url}/v1/realtime").json() == {"enabled": False, "models": []}


def _alert(model: str, minute: int, statistic: str = "gap") -> MonitorAlert:
    return MonitorAlert(
        monitor="fake",
        model=model,
        version="",
        statistic=statistic,
        timestamp=START + timedelta(minutes=minute),
        score=30.0,
        threshold=10.0,
        message=f"{model} went quiet",
        evidence={"observed": 60.0, "expected": 2.0},
    )


def _batch(*models: str) -> Any:
    rows = [{"model": m, "timestamp": START.timestamp() + 1, "event": "arrival"} for m in models]
    return records_to_chunk(rows, source="test", now=None).batch


def test_hub_folds_alerts_of_each_model_into_its_open_incident() -> None:
    scripted = {"a": [_alert("a", 1), _alert("a", 2, "rate")], "b": [_alert("b", 1)]}
    store = MemoryStore()
    hub = MonitorHub(store, monitors=lambda model: [FakeMonitor(scripted=scripted.get(model, []))])
    assert hub.feed(_batch("a", "a", "b")) == 3
    assert hub.evaluate(START + timedelta(minutes=1)) == [_alert("a", 1), _alert("b", 1)]
    assert len(hub.evaluate(START + timedelta(minutes=3))) == 1
    incidents = {i.model: i for i in store.incidents.get()}
    assert set(incidents) == {"a", "b"}
    assert [a.key.statistic for a in incidents["a"].anomalies] == ["gap", "rate"]
    assert incidents["a"].state is IncidentState.OPEN
    status = {(s.model, s.monitor): s for s in hub.status().monitors}
    assert status[("a", "fake")].events == 2 and status[("a", "fake")].alerts == 2
    assert [a.statistic for a in status[("a", "fake")].latest] == ["gap", "rate"]


def test_hub_keeps_at_most_max_models_and_evicts_the_least_recently_fed() -> None:
    hub = MonitorHub(
        MemoryStore(), settings=HubSettings(max_models=2), monitors=lambda m: [FakeMonitor()]
    )
    hub.feed(_batch("a"))
    hub.feed(_batch("b"))
    hub.feed(_batch("a"))
    hub.feed(_batch("c"))
    status = hub.status()
    assert sorted(s.model for s in status.monitors) == ["a", "c"]
    assert status.evicted_models == 1


def test_hub_drops_silenced_alerts_and_counts_them() -> None:
    store = MemoryStore()
    store.silences.put(
        Silence(
            id="s1",
            matchers={"model": "a"},
            starts=START,
            expires=START + timedelta(hours=1),
            reason="deploy",
        )
    )
    hub = MonitorHub(store, monitors=lambda m: [FakeMonitor(scripted=[_alert(m, 1)])])
    hub.feed(_batch("a", "b"))
    hub.evaluate(START + timedelta(minutes=5))
    assert [i.model for i in store.incidents.get()] == ["b"]
    assert hub.status().silenced_alerts == 1


class FlakyIncidents(MemoryIncidents):
    """Fails the first incident write, like a database that is briefly away."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    def put(self, incidents: Any) -> int:
        if self.failures:
            self.failures -= 1
            raise StoreError("database is away")
        return super().put(incidents)


def test_hub_keeps_alerts_the_store_refused_and_saves_them_next_time() -> None:
    store = MemoryStore()
    store.incidents = FlakyIncidents()
    hub = MonitorHub(store, monitors=lambda m: [FakeMonitor(scripted=[_alert(m, 1)])])
    hub.feed(_batch("a"))
    with pytest.raises(StoreError):
        hub.evaluate(START + timedelta(minutes=2))
    assert hub.status().unsaved_alerts == 1 and store.incidents.get() == []
    assert hub.evaluate(START + timedelta(minutes=3)) == []
    saved: list[Incident] = store.incidents.get()
    assert len(saved) == 1 and saved[0].anomalies[0].key == SeriesKey(
        model="a", version="", family="auxiliary", column="fake", statistic="gap"
    )
    assert hub.status().unsaved_alerts == 0


def test_feed_cycle_feeds_queued_batches_before_judging_and_honours_lateness() -> None:
    clock = Clock(START + timedelta(minutes=10))
    monitor = FakeMonitor(scripted=[_alert("a", 9), _alert("a", 10, "rate")])
    hub = MonitorHub(MemoryStore(), monitors=lambda m: [monitor])
    feed = RealtimeFeed(hub, clock=clock, lateness=timedelta(minutes=1))
    line = orjson.dumps({"model": "a", "timestamp": START.timestamp() + 30, "event": "arrival"})
    assert feed.submit(records_to_chunk([line, line], source="t", now=None).batch)
    feed.cycle()
    assert (monitor.events_seen_, feed.fed_rows_) == (2, 2)
    # judged at 10:00 - 1 min: the 10-minute alert is not due yet
    assert hub.status().last_evaluated == utc_datetime(START.timestamp() + 540)
    assert [a.statistic for s in hub.status().monitors for a in s.latest] == ["gap"]


def test_rebuilt_batches_give_the_monitors_the_same_events_on_both_paths() -> None:
    """Above ARROW_MIN_LINES the arrow reader rebuilds the batch; below, the row validator."""
    stream = simulate_stream(
        TrafficSpec(start=START, duration=timedelta(minutes=10), mean_rate_per_s=2.0), seed=3
    )
    lines = [
        orjson.dumps(row)
        for batch in stream.events(START.timestamp(), START.timestamp() + 600)
        if batch.model == "ranker"
        for row in _records(batch, "v1")
    ]
    assert len(lines) >= ARROW_MIN_LINES  # arrow path
    rows = records_to_chunk(lines, source="test", now=None, first_position=0).batch
    for rebuilt in (rebuild_batch(lines), rebuild_batch(lines[: ARROW_MIN_LINES - 1])):
        expected = events_from_batch(rows.take(np.arange(rebuilt.num_rows)))
        got = events_from_batch(rebuilt)
        assert [(e.model, e.kind, len(e)) for e in got] == [
            (e.model, e.kind, len(e)) for e in expected
        ]
        for mine, theirs in zip(got, expected, strict=True):
            np.testing.assert_array_equal(mine.timestamp_s, theirs.timestamp_s)
            np.testing.assert_array_equal(mine.score, theirs.score)
            np.testing.assert_array_equal(mine.latency_ms, theirs.latency_ms)
            np.testing.assert_array_equal(mine.request_id, theirs.request_id)
