"""``vigil bench sdk``: what ``Logger.log`` costs the serving thread, and what the sink sustains.

Per-call overhead is timed with ``time.perf_counter_ns`` around batches of calls (one timer read
per call would cost as much as the call), while the background thread runs and encodes: its
competition for the GIL is part of what a serving thread pays, and shows up in the p99. The
buffer is made large enough for every call, so each call takes the append path rather than the
cheaper drop path, and ``dropped`` is reported to prove it. A second run with the background
thread parked in its sink (``parked_*``) measures the call alone.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass

from vigil.core import ConfigError
from vigil.sdk import DiscardSink, JsonLinesSink, Logger

_COUNTRIES = ("DE", "FR", "US", "BR", "IN", "JP")


@dataclass(frozen=True, slots=True, kw_only=True)
class SdkBenchResult:
    """Measured numbers of one ``vigil bench sdk`` run."""

    calls: int
    batch_calls: int
    median_us: float
    p99_us: float
    parked_median_us: float
    parked_p99_us: float
    dropped: int
    sink_records: int
    sink_seconds: float
    sink_records_per_s: float


def sample_requests(count: int) -> list[tuple[dict[str, object], dict[str, object]]]:
    """Typical tabular requests: 12 features of every kind, a score and a ranked list."""
    requests = []
    for i in range(count):
        features: dict[str, object] = {f"num_{k}": (i * 31 + k * 7) % 997 / 10 for k in range(8)}
        features |= {
            "country": _COUNTRIES[i % len(_COUNTRIES)],
            "is_new": i % 3 == 0,
            "age": 18 + i % 60,
            "geo_id": None if i % 10 == 0 else f"g{i % 500}",
        }
        outputs: dict[str, object] = {"score": (i % 100) / 100, "ranked": [0.9, 0.5, 0.1]}
        requests.append((features, outputs))
    return requests


class _ParkedSink:
    """Holds the background thread in ``write`` (where it does not hold the GIL) until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, lines: list[bytes]) -> None:
        if lines:
            self.entered.set()
            self.release.wait()

    def close(self) -> None:
        """Nothing to release."""


def measure_log_overhead(
    *, calls: int, batch_calls: int, park_thread: bool = False
) -> tuple[list[float], int]:
    """Per-call microseconds of ``Logger.log`` for each batch, and how many calls were dropped.

    With ``park_thread`` the background thread waits in the sink the whole time, isolating the
    call itself from the GIL competition of encoding.
    """
    requests = sample_requests(1000)
    parked = _ParkedSink()
    sink = parked if park_thread else DiscardSink()
    logger = Logger("bench", "v1", sink=sink, max_buffer=calls + 1, close_at_exit=False)
    if park_thread:
        logger.log({"park": True})
        logger.flush(timeout_s=0)  # wakes the thread, which then parks in write()
        parked.entered.wait(10)
    tags = {"region": "eu-west"}
    per_call_us: list[float] = []
    clock = time.perf_counter_ns
    log = logger.log
    try:
        for start in range(0, calls - batch_calls + 1, batch_calls):
            batch = [requests[(start + k) % 1000] for k in range(batch_calls)]
            began = clock()
            for features, outputs in batch:
                log(features, outputs, 12.5, tags=tags)
            per_call_us.append((clock() - began) / batch_calls / 1000)
    finally:
        parked.release.set()
        logger.close(timeout_s=120)
    return per_call_us, logger.stats().lost.buffer_full


def measure_sink_throughput(records: int) -> tuple[float, int]:
    """Seconds for ``records`` logged records to be encoded and written to a JsonLinesSink."""
    requests = sample_requests(1000)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-sdk-") as root:
        logger = Logger(
            "bench", "v1", sink=JsonLinesSink(root), max_buffer=records + 1, close_at_exit=False
        )
        began = time.perf_counter()
        for i in range(records):
            features, outputs = requests[i % 1000]
            logger.log(features, outputs, 12.5)
        logger.close(timeout_s=600)
        elapsed = time.perf_counter() - began
        written = logger.stats().delivered
    return elapsed, written


def run_sdk_bench(
    *, calls: int = 100_000, batch_calls: int = 100, sink_records: int = 20_000
) -> SdkBenchResult:
    if calls < batch_calls or batch_calls < 1:
        raise ConfigError(f"calls ({calls!r}) must be at least batch_calls ({batch_calls!r}) >= 1")
    if sink_records < 1:
        raise ConfigError(f"sink_records must be at least 1, got {sink_records!r}")
    per_call_us, dropped = measure_log_overhead(calls=calls, batch_calls=batch_calls)
    parked_us, _ = measure_log_overhead(calls=calls, batch_calls=batch_calls, park_thread=True)
    parked = sorted(parked_us)
    sink_seconds, written = measure_sink_throughput(sink_records)
    ordered = sorted(per_call_us)
    return SdkBenchResult(
        calls=len(per_call_us) * batch_calls,
        batch_calls=batch_calls,
        median_us=statistics.median(ordered),
        p99_us=_p99(ordered),
        parked_median_us=statistics.median(parked),
        parked_p99_us=_p99(parked),
        dropped=dropped,
        sink_records=written,
        sink_seconds=sink_seconds,
        sink_records_per_s=written / sink_seconds,
    )


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def result_json(result: SdkBenchResult) -> dict[str, float | int]:
    return asdict(result)


def format_result(result: SdkBenchResult) -> str:
    return "\n".join(
        [
            f"Logger.log overhead over {result.calls:,} calls (batches of {result.batch_calls}):",
            f"  median {result.median_us:.2f} µs/call, p99 {result.p99_us:.2f} µs/call, "
            f"dropped {result.dropped}",
            f"  with the background thread parked (the call alone): median "
            f"{result.parked_median_us:.2f} µs/call, p99 {result.parked_p99_us:.2f} µs/call",
            f"JsonLinesSink background throughput: {result.sink_records:,} records in "
            f"{result.sink_seconds:.2f} s = {result.sink_records_per_s:,.0f} records/s",
        ]
    )
