"""Open-loop load on ``POST /v1/ingest``: requests leave on a schedule, not when the last returns.

A closed-loop client (send, wait, send) slows down with the server and so never sees the
server fall behind: it measures the server at whatever rate the server chooses. Here request
``i`` is due at ``start + i * rows_per_request / rows_per_s`` whatever happened before, and
its latency is counted from when it was *due*, so a client that had to wait for a free
thread (because the server was slow) shows up in the latency instead of vanishing
(coordinated omission). ``late_p99_ms`` says how far behind schedule requests left: large
values mean the client, not the server, was the limit. With ``rows_per_s=None`` every client
thread sends back to back (unpaced), the heaviest load this client can offer.

A 429 is counted, with whether it carried ``Retry-After``, and not retried: the rows it
refused are offered-but-refused, which is the number an overload test reports.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import httpx
import numpy as np

from vigil.core import ConfigError

ProgressCallback = Callable[[float, float], None]
"""Called about twice a second with ``(elapsed_s, total_s)`` of the running phase."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseResult:
    """What one phase of load did; latencies are of answered requests, from their due time."""

    name: str
    target_rows_per_s: float | None
    rows_per_request: int
    clients: int
    seconds: float
    requests: int
    ok: int
    throttled: int
    throttled_with_retry_after: int
    errors: Mapping[str, int] = field(default_factory=dict)
    rows_accepted: int
    latency_p50_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    throttle_latency_p50_ms: float
    late_p99_ms: float
    peak_rss_bytes: int | None = None
    server_cpu_s: float | None = None
    """CPU seconds the server process used during the phase (``None`` if unknown)."""
    client_cpu_s: float = 0.0
    """CPU seconds this (client) process used during the phase: on a shared machine the two
    compete for the same cores, so both are reported."""

    def __post_init__(self) -> None:
        if self.requests != self.ok + self.throttled + sum(self.errors.values()):
            raise ConfigError(
                f"phase {self.name!r}: {self.requests} requests but {self.ok} ok + "
                f"{self.throttled} throttled + {dict(self.errors)} errors"
            )

    @property
    def rows_offered(self) -> int:
        return self.requests * self.rows_per_request

    @property
    def offered_rows_per_s(self) -> float:
        return self.rows_offered / self.seconds if self.seconds > 0 else 0.0

    @property
    def accepted_rows_per_s(self) -> float:
        return self.rows_accepted / self.seconds if self.seconds > 0 else 0.0

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0


@dataclass(slots=True)
class _Tally:
    """Per-request outcomes, appended by the client threads under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_s: list[float] = field(default_factory=list)
    throttle_latencies_s: list[float] = field(default_factory=list)
    late_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    throttled_with_retry_after: int = 0
    rows_accepted: int = 0


@contextmanager
def ingest_clients(
    url: str, *, token: str, count: int, timeout_s: float = 30.0
) -> Iterator[tuple[httpx.Client, ...]]:
    """``count`` keep-alive HTTP clients for :func:`drive_ingest`, opened once for all phases.

    Opening a client builds an SSL context (tens of milliseconds of CPU); opened per phase,
    that cost would land in the first requests' latency and be blamed on the server.
    """
    if count < 1:
        raise ConfigError(f"need at least one client, got {count!r}")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    with ExitStack() as stack:
        yield tuple(
            stack.enter_context(httpx.Client(base_url=url, headers=headers, timeout=timeout_s))
            for _ in range(count)
        )


def drive_ingest(
    clients: Sequence[httpx.Client],
    *,
    body: bytes,
    rows_per_request: int,
    rows_per_s: float | None,
    seconds: float,
    name: str,
    rss: Callable[[], int | None] | None = None,
    server_cpu: Callable[[], float | None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> PhaseResult:
    """Offer ``body`` (``rows_per_request`` JSON lines) at ``rows_per_s`` for ``seconds``.

    One thread per client in ``clients`` (from :func:`ingest_clients`) takes the next due
    request, waits for its time and sends it.
    """
    if seconds <= 0 or not clients or rows_per_request < 1:
        raise ConfigError(
            f"need positive values, got {seconds=} clients={len(clients)} {rows_per_request=}"
        )
    if rows_per_s is not None and rows_per_s <= 0:
        raise ConfigError(f"rows_per_s must be positive or None (unpaced), got {rows_per_s!r}")
    interval = 0.0 if rows_per_s is None else rows_per_request / rows_per_s
    tally = _Tally()
    next_index = [0]
    start = time.perf_counter() + 0.05  # let every thread reach its first wait
    end = start + seconds

    def due_time() -> float | None:
        with tally.lock:
            index = next_index[0]
            next_index[0] += 1
        due = start + index * interval if interval else max(start, time.perf_counter())
        return due if due < end else None

    def client(http: httpx.Client) -> None:
        while (due := due_time()) is not None:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            _send(http, body, due, tally)

    cpu_before = (None if server_cpu is None else server_cpu(), time.process_time())
    threads = [
        threading.Thread(target=client, args=(http,), name=f"load-{i}")
        for i, http in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    peak_rss = _watch(threads, start, seconds, rss, on_progress)
    elapsed = max(time.perf_counter() - start, 1e-9)
    server_after = None if server_cpu is None else server_cpu()
    server_used = None
    if server_after is not None and cpu_before[0] is not None:
        server_used = server_after - cpu_before[0]
    return _result(
        tally, name=name, target=rows_per_s, rows_per_request=rows_per_request,
        clients=len(clients), seconds=elapsed, peak_rss=peak_rss,
        server_cpu_s=server_used, client_cpu_s=time.process_time() - cpu_before[1],
    )  # fmt: skip


def _send(http: httpx.Client, body: bytes, due: float, tally: _Tally) -> None:
    sent = time.perf_counter()
    try:
        response = http.post("/v1/ingest", content=body)
    except httpx.HTTPError as err:
        with tally.lock:
            tally.errors[type(err).__name__] += 1
        return
    answered = time.perf_counter()
    accepted = int(response.json()["accepted"]) if response.status_code == 200 else 0
    with tally.lock:
        tally.late_s.append(sent - due)
        if response.status_code == 200:
            tally.latencies_s.append(answered - due)
            tally.rows_accepted += accepted
        elif response.status_code == 429:
            tally.throttle_latencies_s.append(answered - due)
            tally.throttled_with_retry_after += "retry-after" in response.headers
        else:
            tally.errors[f"HTTP {response.status_code}"] += 1


def _watch(
    threads: list[threading.Thread],
    start: float,
    seconds: float,
    rss: Callable[[], int | None] | None,
    on_progress: ProgressCallback | None,
) -> int | None:
    """Wait for the client threads, sampling the server's memory and reporting progress."""
    peak: int | None = None
    while alive := [thread for thread in threads if thread.is_alive()]:
        if rss is not None and (sample := rss()) is not None:
            peak = max(peak or 0, sample)
        if on_progress is not None:
            on_progress(min(max(time.perf_counter() - start, 0.0), seconds), seconds)
        alive[0].join(timeout=0.5)
    return peak


def _result(
    tally: _Tally,
    *,
    name: str,
    target: float | None,
    rows_per_request: int,
    clients: int,
    seconds: float,
    peak_rss: int | None,
    server_cpu_s: float | None,
    client_cpu_s: float,
) -> PhaseResult:
    ok = len(tally.latencies_s)
    throttled = len(tally.throttle_latencies_s)
    return PhaseResult(
        name=name,
        target_rows_per_s=target,
        rows_per_request=rows_per_request,
        clients=clients,
        seconds=seconds,
        requests=ok + throttled + sum(tally.errors.values()),
        ok=ok,
        throttled=throttled,
        throttled_with_retry_after=tally.throttled_with_retry_after,
        errors=dict(tally.errors),
        rows_accepted=tally.rows_accepted,
        latency_p50_ms=_percentile_ms(tally.latencies_s, 50),
        latency_p99_ms=_percentile_ms(tally.latencies_s, 99),
        latency_max_ms=_percentile_ms(tally.latencies_s, 100),
        throttle_latency_p50_ms=_percentile_ms(tally.throttle_latencies_s, 50),
        late_p99_ms=_percentile_ms(tally.late_s, 99),
        peak_rss_bytes=peak_rss,
        server_cpu_s=server_cpu_s,
        client_cpu_s=client_cpu_s,
    )


def _percentile_ms(values_s: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values_s) * 1000, q)) if values_s else float("nan")
