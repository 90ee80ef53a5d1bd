"""The capacity search and step verdicts of the load test, against a fake server (no HTTP)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from vigil.bench.load import LoadSettings, find_capacity, step_failure
from vigil.bench.load_client import PhaseResult
from vigil.core import ConfigError


def _result(
    *, throttled: int = 0, p99_ms: float = 20.0, late_ms: float = 1.0, errors: int = 0
) -> PhaseResult:
    return PhaseResult(
        name="step",
        target_rows_per_s=1000.0,
        rows_per_request=100,
        clients=4,
        seconds=1.0,
        requests=10 + throttled + errors,
        ok=10,
        throttled=throttled,
        throttled_with_retry_after=throttled,
        errors={"HTTP 500": errors} if errors else {},
        rows_accepted=1000,
        latency_p50_ms=p99_ms / 2,
        latency_p99_ms=p99_ms,
        latency_max_ms=p99_ms,
        throttle_latency_p50_ms=math.nan,
        late_p99_ms=late_ms,
    )


class FakeServer:
    """Accepts everything up to ``capacity`` rows/s and throttles above; records what it saw."""

    def __init__(self, capacity: float) -> None:
        self.capacity = capacity
        self.offered: list[float] = []

    def step(self, rate: float) -> PhaseResult:
        self.offered.append(rate)
        return _result(throttled=3 if rate > self.capacity else 0)


@pytest.mark.parametrize("capacity", [2_500.0, 9_999.0, 64_000.0, 130_000.0])
def test_search_brackets_the_capacity_within_the_bisection_width(capacity: float) -> None:
    settings = LoadSettings(start_rows_per_s=1_000.0, bisect_steps=5)
    server = FakeServer(capacity)
    found, steps = find_capacity(server.step, settings)
    assert found is not None
    # Doubling stops at the first failing rate b = 2a with a <= capacity < b; five halvings
    # of [a, b] leave the answer within a / 2**5 below the capacity, and never above it.
    last_good_doubling = max(r for r in server.offered[: len(steps) - 5] if r <= capacity)
    assert capacity - last_good_doubling / 2**5 <= found <= capacity
    assert [s.passed for s in steps] == [r <= capacity for r in server.offered]
    assert len(steps) == len(server.offered) == math.floor(math.log2(capacity / 1_000)) + 2 + 5


def test_search_halves_below_a_failing_start_rate_and_gives_up_when_nothing_passes() -> None:
    settings = LoadSettings(start_rows_per_s=8_000.0, bisect_steps=3)
    server = FakeServer(1_500.0)
    found, _ = find_capacity(server.step, settings)
    assert server.offered[:4] == [8_000.0, 4_000.0, 2_000.0, 1_000.0]
    assert found is not None and 1_000.0 <= found <= 1_500.0

    hopeless = FakeServer(10.0)
    found, steps = find_capacity(hopeless.step, settings)
    assert found is None
    assert hopeless.offered == [8_000.0, 4_000.0, 2_000.0, 1_000.0]
    assert not any(step.passed for step in steps)


def test_search_stops_doubling_at_the_maximum_rate() -> None:
    settings = LoadSettings(start_rows_per_s=1_000.0, max_rows_per_s=4_000.0)
    server = FakeServer(math.inf)
    found, _ = find_capacity(server.step, settings)
    assert server.offered == [1_000.0, 2_000.0, 4_000.0]
    assert found == 4_000.0


def test_a_step_fails_on_429s_errors_slow_answers_or_a_lagging_client() -> None:
    settings = LoadSettings(max_p99_ms=100.0, max_late_ms=10.0)
    assert step_failure(_result(), settings) is None
    assert "429" in (step_failure(_result(throttled=1), settings) or "")
    assert "HTTP 500" in (step_failure(_result(errors=2), settings) or "")
    assert "p99" in (step_failure(_result(p99_ms=101.0), settings) or "")
    assert "client" in (step_failure(_result(late_ms=11.0), settings) or "")


def test_settings_and_results_refuse_inconsistent_values() -> None:
    with pytest.raises(ConfigError, match="overload_factor"):
        LoadSettings(overload_factor=1.0)
    with pytest.raises(ConfigError, match="-1"):
        LoadSettings(duration_s=-1)
    with pytest.raises(ConfigError, match="queue_size"):
        LoadSettings(queue_size=0)
    with pytest.raises(ConfigError, match="12 requests"):
        dataclasses.replace(_result(), requests=12)
