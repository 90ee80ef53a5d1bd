"""Logger behaviour: records follow the schema, buffers stay bounded, nothing is lost silently."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import datetime, timezone

import pytest

from vigil_sdk import (
    ConfigError,
    FlushReport,
    Logger,
    LoggerStats,
    Losses,
    MemorySink,
    Sink,
    SinkError,
)

START = datetime(2026, 11, 20, 14, 3, 11, 123456, tzinfo=timezone.utc).timestamp()


class StepClock:
    """Returns START, START+step, ... so every record has a known timestamp."""

    def __init__(self, step_s: float = 0.5) -> None:
        self.calls = 0
        self.step_s = step_s

    def __call__(self) -> float:
        value = START + self.calls * self.step_s
        self.calls += 1
        return value


class BlockingSink:
    """Blocks in ``write`` until released, like a sink stuck on a slow disk or network."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.lines: list[bytes] = []

    def write(self, lines: list[bytes]) -> None:
        if not lines:
            return
        self.entered.set()
        self.release.wait(10)
        self.lines.extend(lines)

    def close(self) -> None:
        """Nothing to release."""


class FailingSink:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, lines: list[bytes]) -> None:
        if lines:
            self.calls += 1
            raise SinkError("disk full")

    def close(self) -> None:
        raise OSError("cannot close")


def parse_timestamp(text: str) -> float:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1] + "+00:00").timestamp()  # Python 3.9 reads no "Z"


def test_every_event_kind_is_written_as_a_valid_record() -> None:
    sink = MemorySink()
    clock = StepClock()
    with Logger("ranker", "v3", sink=sink, clock=clock, close_at_exit=False) as logger:
        first = logger.log({"age": 31, "country": "DE"}, {"score": 0.82}, 12.5, tags={"r": "eu"})
        second = logger.log_arrival({"age": 40, "is_new": False, "geo": None})
        logger.log_completion(second, {"ranked": [0.9, 0.7]}, latency_ms=3.0)
        logger.log_label(first, 1)
    records = sink.records()
    assert [r["event"] for r in records] == ["prediction", "arrival", "completion", "label"]
    for index, record in enumerate(records):
        assert record["model"] == "ranker"
        assert record["version"] == "v3"
        assert record["host"] == socket.gethostname()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", record["timestamp"])
        assert parse_timestamp(record["timestamp"]) == pytest.approx(START + index * 0.5, abs=1e-6)
        assert re.fullmatch(r"[0-9a-f]{32}", record["request_id"])
    prediction, arrival, completion, label = records
    assert prediction["features"] == {"age": 31, "country": "DE"}
    assert prediction["outputs"] == {"score": 0.82}
    assert prediction["latency_ms"] == 12.5
    assert prediction["tags"] == {"r": "eu"}
    assert "label" not in prediction
    assert arrival["features"] == {"age": 40, "is_new": False, "geo": None}
    assert "outputs" not in arrival and "latency_ms" not in arrival
    assert completion["request_id"] == arrival["request_id"]
    assert completion["outputs"] == {"ranked": [0.9, 0.7]}
    assert "features" not in completion
    assert label["request_id"] == prediction["request_id"]
    assert label["label"] == 1


def test_request_ids_are_unique_and_given_ids_are_kept() -> None:
    sink = MemorySink()
    with Logger("m", sink=sink, close_at_exit=False) as logger:
        ids = {logger.log({"x": i}) for i in range(1000)}
        other = Logger("m", sink=MemorySink(), close_at_exit=False)
        ids |= {other.log({"x": i}) for i in range(1000)}
        other.close()
        assert logger.log({"x": 0}, request_id="req-7") == "req-7"
    assert len(ids) == 2000
    assert sink.records()[-1]["request_id"] == "req-7"
    assert sink.records()[0]["version"] == ""


def test_close_flushes_everything_across_many_batches() -> None:
    sink = MemorySink()
    logger = Logger("m", "v", sink=sink, batch_size=64, max_buffer=5000, close_at_exit=False)
    for i in range(4321):
        logger.log({"i": i})
    assert logger.close(timeout_s=10)
    assert sorted(r["features"]["i"] for r in sink.records()) == list(range(4321))
    assert sink.closed
    stats = logger.stats()
    assert stats == LoggerStats(logged=4321, delivered=4321, spilled=0, pending=0, lost=Losses())


def test_flush_waits_for_the_records_already_logged() -> None:
    sink = MemorySink()
    with Logger("m", sink=sink, flush_interval_s=60, close_at_exit=False) as logger:
        for i in range(10):
            logger.log({"i": i})
        assert logger.flush(timeout_s=5)
        assert len(sink.lines) == 10
        assert logger.stats().pending == 0


def test_full_buffer_drops_and_counts_without_blocking() -> None:
    sink = BlockingSink()
    logger = Logger(
        "m", sink=sink, max_buffer=10, batch_size=1, flush_interval_s=0.05, close_at_exit=False
    )
    logger.log({"i": -1})
    assert sink.entered.wait(5), "the background thread never reached the sink"
    started = time.perf_counter()
    for i in range(100):
        logger.log({"i": i})
    elapsed = time.perf_counter() - started
    # The sink holds the thread for up to 10 s: a blocking log() would take that long.
    assert elapsed < 2.0
    report = logger.flush(timeout_s=0.05)
    assert not report
    assert (report.pending, report.lost) == (11, Losses(buffer_full=90))
    stats = logger.stats()
    assert stats.lost == Losses(buffer_full=90)
    assert stats.logged == 11
    assert stats.pending == 11
    sink.release.set()
    assert logger.close(timeout_s=5) == FlushReport(
        delivered=11, spilled=0, lost=Losses(), pending=0
    )
    assert logger.stats() == LoggerStats(
        logged=11, delivered=11, spilled=0, pending=0, lost=Losses(buffer_full=90)
    )
    assert [int(line.split(b'"i":')[1].split(b"}")[0]) for line in sink.lines] == [-1, *range(10)]


def test_sink_failures_are_counted_never_raised() -> None:
    sink = FailingSink()
    logger = Logger("m", sink=sink, batch_size=5, close_at_exit=False)
    for i in range(12):
        logger.log({"i": i})
    report = logger.flush(timeout_s=5)
    assert not report
    assert report == FlushReport(delivered=0, spilled=0, lost=Losses(sink_failed=12), pending=0)
    assert logger.close(timeout_s=5).lost == Losses()  # reported once, by the flush
    stats = logger.stats()
    assert (stats.delivered, stats.lost) == (0, Losses(sink_failed=12))
    # one error per failed batch, plus the failing close
    assert stats.sink_errors == sink.calls + 1
    assert sink.calls >= 3
    assert stats.last_error == "OSError: cannot close"


def test_values_that_cannot_be_encoded_are_counted_and_the_rest_written() -> None:
    class NumpyLikeScalar:
        def item(self) -> float:
            return 2.5

    class BrokenArray:
        def tolist(self) -> list[float]:
            raise RuntimeError("buffer was freed")

    sink = MemorySink()
    with Logger("m", sink=sink, close_at_exit=False) as logger:
        logger.log({"x": 1})
        bad = logger.log({"x": object()})
        logger.log({"x": NumpyLikeScalar(), "y": float("inf")})
        assert logger.flush(5).lost == Losses(unencodable=1)
        error = logger.stats().last_error
        assert error is not None and bad in error and "not JSON-serializable" in error
        broken = logger.log({"x": BrokenArray()})
        assert logger.flush(5).lost == Losses(unencodable=1)
        assert logger.stats().last_error == f"request {broken}: buffer was freed"
        logger.log({"x": 3})
    stats = logger.stats()
    assert (stats.delivered, stats.lost, stats.sink_errors, stats.nonfinite) == (
        3,
        Losses(unencodable=2),
        0,
        1,
    )
    # strict JSON: the infinite value became null, the rest of the record survived
    assert sink.lines[1].count(b'"features":{"x":2.5,"y":null}') == 1


def test_logging_after_close_is_counted_as_lost() -> None:
    logger = Logger("m", sink=MemorySink(), close_at_exit=False)
    logger.close()
    logger.log({"x": 1})
    logger.log_label("r", 0)
    stats = logger.stats()
    assert (stats.logged, stats.lost) == (0, Losses(after_close=2))
    assert logger.close().lost == Losses(after_close=2)


def test_caller_may_reuse_its_dicts() -> None:
    sink = BlockingSink()
    logger = Logger("m", sink=sink, flush_interval_s=0.05, close_at_exit=False)
    features = {"x": 1}
    logger.log({"warm": 0})
    assert sink.entered.wait(5)
    logger.log(features)
    features["x"] = 2
    sink.release.set()
    logger.close()
    assert sink.lines[1].count(b'"features":{"x":1}') == 1


def test_concurrent_serving_threads_lose_nothing() -> None:
    sink = MemorySink()
    logger = Logger("m", sink=sink, max_buffer=100_000, close_at_exit=False)
    ids: list[set[str]] = [set() for _ in range(4)]

    def serve(slot: int) -> None:
        for i in range(2000):
            ids[slot].add(logger.log({"slot": slot, "i": i}))

    threads = [threading.Thread(target=serve, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logger.close(timeout_s=10)
    assert len(set().union(*ids)) == 8000
    assert logger.stats().delivered == 8000
    assert len({r["request_id"] for r in sink.records()}) == 8000


def test_memory_sink_satisfies_the_protocol() -> None:
    assert isinstance(MemorySink(), Sink)
    assert isinstance(BlockingSink(), Sink)


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"model": ""}, "''"),
        ({"model": "m", "version": 3}, "3"),
        ({"model": "m", "max_buffer": 0}, "0"),
        ({"model": "m", "batch_size": -1}, "-1"),
        ({"model": "m", "flush_interval_s": 0.0}, "0.0"),
    ],
)
def test_bad_settings_are_refused_with_the_value(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(quoted)):
        Logger(sink=MemorySink(), close_at_exit=False, **kwargs)  # type: ignore[arg-type]


def test_nonfinite_values_become_null_in_strict_json() -> None:
    sink = MemorySink()
    with Logger("m", sink=sink, close_at_exit=False) as logger:
        logger.log({"a": float("nan"), "b": 1.5}, {"ranked": [float("-inf"), 0.2]}, 2.0)
        logger.log({"a": 0.5})
    (first, second) = sink.lines
    record = json.loads(first, parse_constant=lambda name: pytest.fail(f"{name} in {first!r}"))
    assert record["features"] == {"a": None, "b": 1.5}
    assert record["outputs"] == {"ranked": [None, 0.2]}
    assert record["latency_ms"] == 2.0
    assert json.loads(second)["features"] == {"a": 0.5}
    assert logger.stats().nonfinite == 1


def test_a_circular_value_fails_only_its_record() -> None:
    looped: dict[str, object] = {}
    looped["self"] = looped
    sink = MemorySink()
    with Logger("m", sink=sink, close_at_exit=False) as logger:
        logger.log({"a": 1}, {"nested": looped})
        logger.log({"a": 2})
    stats = logger.stats()
    assert (stats.delivered, stats.lost) == (1, Losses(unencodable=1))
    assert stats.last_error is not None and "Circular reference" in stats.last_error
