"""The store's pipeline lease: one holder at a time on SQLite and PostgreSQL, expiry, release,
and two ``run_cycle`` processes racing on one store (exactly one processes the windows)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.core import ConfigError
from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import LEASE, run_cycle
from vigil.store import MemoryStore, SqlStore, Store

T0 = datetime(2026, 11, 2, tzinfo=UTC)
TTL = timedelta(minutes=5)

CYCLE = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime, timedelta
    from vigil.pipeline.config import parse_config
    from vigil.pipeline.runner import run_cycle
    from vigil.store import SqlStore

    url, root, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    store = SqlStore(url)
    try:
        summary = run_cycle(
            config=parse_config({}), store=store, now=now, channels={}, sources=[root],
            lease_ttl=timedelta(minutes=5),
        )
    finally:
        store.close()
    print(json.dumps({"windows": len(summary.windows), "skipped": summary.skipped_locked}))
    """
)


def _check_lease(store: Store) -> None:
    assert store.leases.expiry(LEASE) is None
    assert store.leases.acquire(LEASE, "a", now=T0, ttl=TTL)
    assert store.leases.expiry(LEASE) == T0 + TTL
    # Another holder is refused until the lease expires; the holder itself may renew.
    assert not store.leases.acquire(LEASE, "b", now=T0 + TTL - timedelta(seconds=1), ttl=TTL)
    assert store.leases.acquire(LEASE, "a", now=T0 + timedelta(minutes=1), ttl=TTL)
    renewed_until = T0 + timedelta(minutes=1) + TTL
    assert store.leases.expiry(LEASE) == renewed_until
    assert not store.leases.acquire(LEASE, "b", now=T0 + TTL + timedelta(seconds=30), ttl=TTL)
    assert store.leases.acquire(LEASE, "b", now=renewed_until, ttl=TTL)
    # "a" lost it: it can neither take it back nor release it.
    assert not store.leases.acquire(LEASE, "a", now=renewed_until, ttl=TTL)
    assert not store.leases.release(LEASE, "a")
    assert store.leases.release(LEASE, "b")
    assert not store.leases.release(LEASE, "b")
    assert store.leases.expiry(LEASE) is None
    # Released: free at once for anyone; other names are independent.
    assert store.leases.acquire(LEASE, "c", now=renewed_until, ttl=TTL)
    assert store.leases.acquire("other", "a", now=renewed_until, ttl=TTL)
    with pytest.raises(ConfigError, match="0:00:00"):
        store.leases.acquire("other", "a", now=T0, ttl=timedelta(0))


def test_lease_on_sql_stores(store_url: str) -> None:
    store = SqlStore(store_url)
    try:
        _check_lease(store)
    finally:
        store.close()


def test_lease_on_memory_store() -> None:
    _check_lease(MemoryStore())


def test_a_cycle_skips_while_another_holds_the_lease_and_releases_its_own() -> None:
    store = MemoryStore()
    assert store.leases.acquire(LEASE, "someone", now=datetime.now(UTC), ttl=TTL)
    skipped = run_cycle(config=parse_config({}), store=store, now=T0, channels={})
    assert skipped.windows == () and skipped.skipped_locked
    assert store.leases.release(LEASE, "someone")
    ran = run_cycle(config=parse_config({}), store=store, now=T0, channels={})
    assert not ran.skipped_locked
    # The cycle released its lease at the end: a new holder gets it at once.
    assert store.leases.acquire(LEASE, "next", now=datetime.now(UTC), ttl=TTL)


def test_vigil_run_once_says_it_skipped_while_another_runner_holds_the_lease(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/vigil.db"
    store = SqlStore(url)
    taken = datetime.now(UTC).replace(microsecond=0)
    try:
        assert store.leases.acquire(LEASE, "other-runner", now=taken, ttl=TTL)
    finally:
        store.close()
    args = ["run", "--once", "--db", url, "--reports", str(tmp_path / "reports")]
    locked = CliRunner().invoke(app, args)
    assert locked.exit_code == 0, locked.output
    said = " ".join(locked.output.split())  # whatever the console's line wrapping
    assert "another runner holds the pipeline lease" in said
    assert "skipped this cycle (1 of 1 cycles skipped so far)" in said
    assert f"until {taken + TTL:%Y-%m-%d %H:%M:%S} UTC unless it renews it" in said
    assert "nothing due" not in said
    # The other runner's lease was left alone; once it is released the next cycle runs.
    store = SqlStore(url)
    try:
        assert store.leases.release(LEASE, "other-runner")
    finally:
        store.close()
    free = CliRunner().invoke(app, args)
    assert free.exit_code == 0, free.output
    assert "nothing due" in free.output and "another runner" not in free.output


@pytest.mark.slow
def test_two_concurrent_cycles_process_each_window_once(store_url: str, tmp_path: Path) -> None:
    root = tmp_path / "logs"
    simulate_platform(root, start=T0, days=8, models=1, rate_scale=0.2, seed=3)
    SqlStore(store_url).close()  # create the schema once, before the race
    script = tmp_path / "cycle.py"
    script.write_text(CYCLE)
    now = (T0 + timedelta(days=8)).isoformat()
    runners = [
        subprocess.Popen(
            [sys.executable, str(script), store_url, str(root), now],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for runner in runners:
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    # One processed all 8 days of hourly windows; the other was locked out (or, had it started
    # after the first finished, found nothing due): no window was processed twice.
    assert sorted(r["windows"] for r in results) == [0, 8 * 24], results
    store = SqlStore(store_url)
    try:
        done = store.runs.get(stage="pipeline")
        assert len(done) == 8 * 24
        assert len({r.window for r in done}) == len(done)
    finally:
        store.close()
