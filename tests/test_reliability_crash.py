"""A ``run_cycle`` process killed with SIGKILL mid-cycle, then run again, leaves the store exactly
as one uninterrupted cycle does (every table but wall-clock columns, drift statistics included),
on SQLite and on PostgreSQL, and the webhooks it notifies receive each (incident, state,
channel) once; the killed runner's lease only delays the re-run by its ttl.

Kill points: the victim killing itself right after a given store call returns (profiling
clearing the 4th day file's quarantine, the statistics' read of the profiles, anomalies,
incidents, the n-th notification record), and the webhook receiver killing the victim while it
waits for the answer to the n-th notification: sent but not recorded, the one case where the
re-run sends a message again (delivery is at-least-once, by at most the message in flight). A
seeded delay after a stage's progress line is supported too; no kill uses it since stages that
got faster outran their delays.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.runner import LEASE
from vigil.store import SqlStore

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 10
NOW = START + timedelta(days=DAYS)
WINDOWS = DAYS * 24
HOOKS = "abcde"
LEASE_TTL_S = 3.0

CYCLE = textwrap.dedent(
    """
    import json, os, signal, sys
    from datetime import datetime, timedelta
    from vigil.pipeline.config import parse_config
    from vigil.pipeline.runner import run_cycle
    from vigil.store import SqlStore

    url, root, now, ttl = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3]), sys.argv[4]
    config, kill = parse_config(json.loads(sys.argv[5])), json.loads(sys.argv[6])
    store = SqlStore(url)
    if kill:  # SIGKILL the runner right after the n-th call of one store method returns
        # (its process group: the runner and the pool workers that profile and compute models;
        # a hook met in a worker kills the runner too, as the runner's death would)
        part_name, method_name = kill["after"].split(".")
        part = type(getattr(store, part_name))
        method, calls = getattr(part, method_name), [0]
        def killing(self, *args, **kwargs):
            result = method(self, *args, **kwargs)
            calls[0] += 1
            if calls[0] == kill["calls"]:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            return result
        setattr(part, method_name, killing)
    try:
        summary = run_cycle(
            config=config, store=store, now=now, channels=config.build_channels(),
            sources=[root], lease_ttl=timedelta(seconds=float(ttl)),
            progress=lambda step: print("step", step, flush=True),
        )
    finally:
        store.close()
    print(json.dumps({"windows": len(summary.windows), "skipped": summary.skipped_locked}))
    """
)

# Each table's rows without wall-clock columns (``updated_at_us``, ``ingested_at_us``).
_SNAPSHOT = {
    "profiles": "model, version, window_start_us, window_end_us, fingerprint, rows, blob",
    "series_points": "model, version, family, column_name, statistic, timestamp_us, value, support",
    "anomalies": "*",
    "incidents": "*",
    "notifications": "incident_id, state, channel, delivered, attempts, error, at_us",
    "runs": "stage, model, window_start_us, window_end_us, status",
}
Delivery = tuple[str, str, str]
"""(incident id, state, channel) as a webhook receiver saw it."""


def _config(base: str, run: str) -> str:
    """Loose filters, the platform's two injected incidents (and whatever else is raised), each
    routed to five webhooks: enough notifications to kill the runner among them."""
    channels = [
        {"type": "webhook", "name": f"hook-{c}", "url": f"{base}/{run}/hook-{c}"} for c in HOOKS
    ]
    return json.dumps(
        {
            "detect": {"detector": "same-hour"},
            "filters": {"min_severity": 0.5, "duration": "1/1", "min_traffic_share": 0.0},
            "grouping": {"gap": "1h", "resolve_after": "2h"},
            "channels": channels,
            "routes": [{"owner": f"team-{c}", "channel": f"hook-{c}"} for c in HOOKS],
        }
    )


def _sigkill(pid: int) -> None:
    """SIGKILL ``pid`` and return once it is dead (a zombie: its parent reaps it)."""
    os.kill(pid, signal.SIGKILL)
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 30
    while stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z":
        assert time.monotonic() < deadline, f"process {pid} survived SIGKILL"
        time.sleep(0.01)


class Receiver:
    """Webhook endpoint in the test process: records every POST by run; on the n-th POST of
    one run it can SIGKILL that run's process before answering (sent, never acknowledged)."""

    def __init__(self) -> None:
        self.deliveries: dict[str, list[Delivery]] = {}
        self.keys: dict[str, list[str]] = {}
        """run -> the ``Idempotency-Key`` header of each POST, in order."""
        self.kill: dict[str, tuple[int, subprocess.Popen[str]]] = {}
        """run -> (n, process): kill the process on that run's n-th POST."""
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                _, run, channel = self.path.split("/")
                with receiver.lock:
                    seen = receiver.deliveries.setdefault(run, [])
                    seen.append((body["incident_id"], body["state"], channel))
                    keys = receiver.keys.setdefault(run, [])
                    keys.append(self.headers["Idempotency-Key"])
                    victim = receiver.kill.get(run)
                    if victim is not None and victim[0] == len(seen):
                        _sigkill(victim[1].pid)
                        self.close_connection = True
                        return
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def counts(self, run: str) -> Counter[Delivery]:
        with self.lock:
            return Counter(self.deliveries.get(run, []))


@dataclass(frozen=True, slots=True, kw_only=True)
class Kill:
    """Where to kill: ``step`` + a seeded delay, or right after the n-th ``after`` store call
    (``"part.method"``, e.g. ``"anomalies.replace"``),
    or (``in_flight``) on the receiver's n-th POST."""

    name: str
    step: str = ""
    delay_s: tuple[float, float] = (0.0, 0.0)
    next_step: str = ""
    after: str = ""
    calls: int = 0
    in_flight: int = 0


KILLS = {
    k.name: k
    for k in (
        # right after profiling began its 4th of the 8 day files: inside the stage, whatever
        # its speed (a delay after its progress line outlived the stage once it got faster)
        Kill(
            name="profiling",
            after="quarantine.delete",
            calls=4,
            next_step="health statistics",
        ),
        # right after statistics read the profiles: inside the stage, whatever its speed
        Kill(name="stats", after="profiles.get", calls=1),
        Kill(name="detection", after="anomalies.replace", calls=1),
        Kill(name="incidents", after="incidents.put", calls=1),
        Kill(name="notifications", after="notifications.put", calls=5),
        # mid-delivery: the platform's uninterrupted run sends 8 notifications since drift is
        # decided by tested bands (it sent more with absolute KS levels); the 4th is half-way
        Kill(name="notification-in-flight", in_flight=4),
    )
}
CASES = [
    *(("sqlite", name) for name in KILLS),
    *(pytest.param("postgres", name, marks=pytest.mark.postgres) for name in ("stats",)),
    pytest.param("postgres", "notification-in-flight", marks=pytest.mark.postgres),
]


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = {
                table: [
                    tuple(r) for r in connection.execute(sa.text(f"select {cols} from {table}"))
                ]
                for table, cols in _SNAPSHOT.items()
            }
    finally:
        engine.dispose()
    tables["profiles"] = [(*p[:-1], bytes(p[-1])) for p in tables["profiles"]]  # psycopg
    return {table: sorted(rows, key=repr) for table, rows in tables.items()}


_US = timedelta(microseconds=1)


def _lease_expiry(url: str) -> datetime:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.text("select expires_at_us from leases where name = :name")
            expires_us = connection.execute(query, {"name": LEASE}).scalar_one()
    finally:
        engine.dispose()
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(expires_us))


def _start(
    script: Path, url: str, root: Path, config: str, kill: Kill | None = None
) -> subprocess.Popen[str]:
    hook = {"after": kill.after, "calls": kill.calls} if kill is not None and kill.after else {}
    args = [url, str(root), NOW.isoformat(), str(LEASE_TTL_S), config, json.dumps(hook)]
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which holds its worker processes
    )


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The simulated logs (2 models, 10 days, 240 hourly windows: a schema change and a constant
    feature) and the cycle script."""
    folder = tmp_path_factory.mktemp("crash")
    simulate_platform(folder / "logs", start=START, days=DAYS, models=2, rate_scale=0.2, seed=3)
    (folder / "cycle.py").write_text(CYCLE)
    return folder / "logs", folder / "cycle.py"


_references: dict[str, tuple[dict[str, list[tuple[Any, ...]]], Counter[Delivery]]] = {}


def _fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> str:
    """A new empty store: a SQLite file, or a new database on the test PostgreSQL server."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/{name}.db"
    else:
        server: str = request.getfixturevalue("postgres_url")
        database = f"crash_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(f"create database {database}"))
        finally:
            engine.dispose()
        url = server.rsplit("/", 1)[0] + f"/{database}"
    SqlStore(url).close()  # the schema, before any runner starts
    return url


def _reference(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    receiver: Receiver,
    platform: tuple[Path, Path],
) -> tuple[dict[str, list[tuple[Any, ...]]], Counter[Delivery]]:
    """One uninterrupted cycle per backend, shared by that backend's cases."""
    if backend not in _references:
        url = _fresh_url(backend, request, tmp_path, "reference")
        run = f"reference-{backend}"
        root, script = platform
        whole = _finish(_start(script, url, root, _config(receiver.base, run)))
        assert whole == {"windows": WINDOWS, "skipped": False}
        _references[backend] = (_snapshot(url), receiver.counts(run))
    return _references[backend]


def _kill(victim: subprocess.Popen[str], kill: Kill, seed: str) -> None:
    """Kill the victim as ``kill`` says (or let its hook or the receiver do it)."""
    assert victim.stdout is not None
    if kill.step:
        for line in victim.stdout:
            if line.startswith(f"step {kill.step}"):
                break
        else:  # pragma: no cover - the script died before reaching the stage
            pytest.fail(f"the cycle never reached {kill.step!r}: {victim.communicate()}")
        time.sleep(random.Random(seed).uniform(*kill.delay_s))
        # As a supervisor stops a unit: the runner and the worker processes of its pool (two
        # models are profiled and computed in parallel), which would otherwise live on.
        os.killpg(victim.pid, signal.SIGKILL)
    rest, err = victim.communicate(timeout=180)
    assert victim.returncode == -signal.SIGKILL, err
    if kill.next_step:  # it died inside the stage, not after it
        assert f"step {kill.next_step}" not in rest


def _check_crash_point(
    kill: Kill,
    partial: dict[str, list[tuple[Any, ...]]],
    expected: dict[str, list[tuple[Any, ...]]],
    sent: int,
) -> None:
    """The dead cycle left what its kill point implies: no window marked done, and the writes
    up to the kill (so the re-run really has half-written state to replace)."""
    assert partial["runs"] == []
    if kill.after == "anomalies.replace":
        assert partial["anomalies"] == expected["anomalies"] and partial["incidents"] == []
    if kill.after == "incidents.put":
        assert partial["incidents"] == expected["incidents"]
        assert partial["notifications"] == [] and sent == 0
    if kill.after == "notifications.put":
        assert len(partial["notifications"]) == sent == kill.calls
    if kill.in_flight:
        assert len(partial["notifications"]) == kill.in_flight - 1 and sent == kill.in_flight


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "kill_point"), CASES)
def test_a_cycle_killed_mid_way_and_rerun_equals_an_uninterrupted_one(
    backend: str,
    kill_point: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    receiver: Receiver,
    platform: tuple[Path, Path],
) -> None:
    kill = KILLS[kill_point]
    root, script = platform
    expected, expected_sent = _reference(backend, request, tmp_path, receiver, platform)
    assert len(expected["notifications"]) > kill.in_flight
    assert len(expected["notifications"]) > kill.calls

    crashed = _fresh_url(backend, request, tmp_path, kill.name)
    run = f"crashed-{backend}-{kill.name}"
    config = _config(receiver.base, run)
    victim = _start(script, crashed, root, config, kill)
    if kill.in_flight:
        receiver.kill[run] = (kill.in_flight, victim)
    _kill(victim, kill, f"{backend}-{kill.name}")
    sent_before = receiver.counts(run)
    _check_crash_point(kill, _snapshot(crashed), expected, sum(sent_before.values()))

    # The dead runner could not release its lease (renewed when its last stage began): it
    # refuses any other runner until it expires, and then the re-run goes ahead.
    expires_at = _lease_expiry(crashed)
    store = SqlStore(crashed)
    try:
        probe_ttl = timedelta(seconds=LEASE_TTL_S)
        assert not store.leases.acquire(LEASE, "probe", now=expires_at - _US, ttl=probe_ttl)
    finally:
        store.close()
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
    assert _finish(_start(script, crashed, root, config)) == {"windows": WINDOWS, "skipped": False}

    after = _snapshot(crashed)
    # One profile per model and window.
    assert len(after["profiles"]) == 2 * WINDOWS and len(after["series_points"]) > 0
    assert after == expected
    sent = receiver.counts(run)
    assert set(sent) == set(expected_sent) and max(expected_sent.values()) == 1
    duplicates = sent - expected_sent
    if kill.in_flight:
        # The message in flight reached the receiver but its success was never recorded: the
        # re-run sends it again. Exactly that one, and nothing recorded twice in the store.
        in_flight = receiver.deliveries[run][kill.in_flight - 1]
        assert duplicates == Counter({in_flight: 1})
    else:
        assert duplicates == Counter()
    # Every repeat carries the first attempt's Idempotency-Key: a receiver that drops repeated
    # keys sees each (incident, state, channel) exactly once, in-flight crash included.
    keys = receiver.keys[run]
    assert len(set(keys)) == len(expected_sent) == len(keys) - sum(duplicates.values())
    first_key = dict(zip(reversed(receiver.deliveries[run]), reversed(keys), strict=True))
    assert all(first_key[d] == k for d, k in zip(receiver.deliveries[run], keys, strict=True))


HANGING_CYCLE = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from vigil.pipeline.config import parse_config
    from vigil.pipeline.runner import run_cycle
    from vigil.store import SqlStore

    store = SqlStore(sys.argv[1])  # two workers by default
    run_cycle(
        config=parse_config({}), store=store, now=datetime.now(UTC), channels={},
        sources=[sys.argv[2]],
    )
    """
)


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie has died already (its new parent reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_worker_processes_die_with_a_runner_killed_by_sigkill(tmp_path: Path) -> None:
    """``kill -9`` of ``vigil run`` while its workers profile: they used to stay, holding
    their memory. Each model folder holds a FIFO nobody writes, so each worker blocks on it
    for ever unless it dies with its parent."""
    logs = tmp_path / "logs"
    for model in ("a", "b", "c"):
        (logs / f"model={model}").mkdir(parents=True)
        os.mkfifo(logs / f"model={model}" / "part.jsonl")
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    SqlStore(url).close()
    runner = subprocess.Popen([sys.executable, "-c", HANGING_CYCLE, url, str(logs)])
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2:
            assert runner.poll() is None, "the runner ended before its workers started"
            assert time.monotonic() < deadline, "the runner started no workers"
            workers = _children(runner.pid)
            time.sleep(0.05)
        _sigkill(runner.pid)
        runner.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their runner"
    finally:
        runner.kill()
        for pid in workers:  # leave nothing behind, whatever the outcome
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
