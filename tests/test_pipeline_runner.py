"""The pipeline runner end to end on a small simulated platform, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from vigil.alert import MemoryChannel, NotificationKey, Outbox
from vigil.incidents import IncidentState
from vigil.lab.evaluation import score_demo
from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline import workers
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.pipeline.schedule import due_windows
from vigil.store import MemoryStore, SqlStore, Store

START = datetime(2026, 11, 2, tzinfo=UTC)
CONFIG = parse_config(
    {
        "channels": [{"type": "webhook", "name": "memory", "url": "http://127.0.0.1:9/unused"}],
        "routes": [{"owner": "ml", "models": "*", "channel": "memory"}],
    }
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("logs")
    # The first two models are ranker (schema change, day 9) and fraud-scorer (constant
    # feature, day 8); 10 days cover both incidents after the clean first week.
    platform = simulate_platform(root, start=START, days=10, models=2, rate_scale=0.3, seed=3)
    return root, platform


@pytest.mark.slow
def test_cycle_finds_injected_incidents_and_reruns_change_nothing(
    logs: tuple[Path, object], store_url: str, tmp_path: Path
) -> None:
    root, platform = logs
    end = START + timedelta(days=10)
    channel = MemoryChannel(name="memory")
    store = SqlStore(store_url)
    try:
        first = run_cycle(
            config=CONFIG,
            store=store,
            now=end,
            channels={"memory": channel},
            sources=[str(root)],
            reports_out=tmp_path / "reports",
        )
        assert len(first.windows) == 10 * 24
        assert first.profiling is not None
        assert first.profiling.rows_read == platform.rows  # type: ignore[attr-defined]
        assert first.profiling.rows_quarantined == 0
        score = score_demo(
            platform.injected,
            first.incidents,  # type: ignore[attr-defined]
            evaluated_from=START + timedelta(days=7),
        )
        assert score.injected == 2, score
        assert score.recall == 1.0
        index = (tmp_path / "reports" / "index.html").read_text()
        for target in re.findall(r'href="([^"]+\.html)"', index):  # the digest leads on
            assert (tmp_path / "reports" / target).exists(), target
        assert index.count('.html"') == 2  # one link per model
        sent = len(channel.sent)
        assert sent == len(first.incidents)

        assert due_windows(store, window=timedelta(hours=1), now=end) == []
        again = run_cycle(
            config=CONFIG, store=store, now=end, channels={"memory": channel}, sources=[str(root)]
        )
        assert again.windows == ()

        # A crash before the windows were marked done: the cycle runs again from scratch and
        # ends in the same state, without sending anything twice.
        before = _snapshot(store_url)
        engine = sa.create_engine(store_url)
        with engine.begin() as connection:
            connection.execute(sa.text("delete from runs"))
        engine.dispose()
        redo = run_cycle(
            config=CONFIG, store=store, now=end, channels={"memory": channel}, sources=[str(root)]
        )
        assert len(redo.windows) == len(first.windows)
        assert [i.id for i in redo.incidents] == [i.id for i in first.incidents]
        assert _snapshot(store_url) == before
        assert len(channel.sent) == sent
    finally:
        store.close()


def _snapshot(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {
            table: int(connection.execute(sa.text(f"select count(*) from {table}")).scalar_one())
            for table in ("profiles", "series_points", "anomalies", "incidents", "notifications")
        }
        counts["incident_rows"] = len(
            connection.execute(sa.text("select id, state, anomalies from incidents")).all()
        )
    engine.dispose()
    return counts


class HangingWebhook:
    """A webhook receiver that holds every request until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held: list[str] = []  # incident ids of requests received, answered or not
        self.answered = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.held.append(body["incident_id"])
                hook.release.wait(120)
                hook.answered += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output clean."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.mark.slow
def test_a_hanging_webhook_holds_no_cycle_and_alertmanager_gets_every_incident(
    logs: tuple[Path, object], tmp_path: Path, alertmanager: tuple[str, list[dict[str, object]]]
) -> None:
    """Was: a hanging webhook held the cycle for every attempt of every message (95 s)."""
    root, _ = logs
    am_url, _ = alertmanager
    hook = HangingWebhook()
    config = parse_config(
        {
            "channels": [{"type": "webhook", "name": "hook", "url": hook.url, "timeout": "2m"}],
            "routes": [{"owner": "ml", "models": "*", "channel": "hook"}],
            "alertmanager": {"urls": [am_url], "labels": {"team": "ml"}},
            "links": {"vigil": "http://vigil.example.org"},
        }
    )
    end = START + timedelta(days=10)
    outbox = Outbox(config.build_channels(), alertmanager=config.build_alertmanager())
    store = SqlStore(f"sqlite:///{tmp_path}/vigil.db")
    try:
        first = run_cycle(
            config=config, store=store, now=end, channels=config.build_channels(),
            sources=[str(root)], outbox=outbox,
        )  # fmt: skip
        # The cycle finished (every window done) while the webhook still holds its first message.
        assert hook.answered == 0 and len(hook.held) <= 1
        assert len(first.windows) == 10 * 24
        assert due_windows(store, window=timedelta(hours=1), now=end) == []
        incidents = {i.id: i for i in first.incidents}
        assert first.notifications_queued == len(incidents) >= 2
        assert first.notifications_sent == 0 and store.notifications.delivered() == set()
        keys = {
            NotificationKey(incident_id=i, state=incidents[i].state, channel="hook")
            for i in incidents
        }
        assert outbox.pending() == keys

        # Alertmanager has every open incident of the cycle as an active alert, labelled from the
        # incident itself (a resolved one arrived resolved: not active).
        assert outbox.wait(timeout_s=0.0) is False  # the hook's queue, not Alertmanager's
        open_ids = {i.id for i in incidents.values() if i.state is not IncidentState.RESOLVED}
        assert open_ids
        alerts = _eventually_alerts(am_url, len(open_ids))
        assert {alert["labels"]["incident"] for alert in alerts} == open_ids
        for alert in alerts:
            incident = incidents[alert["labels"]["incident"]]
            assert alert["labels"]["model"] == incident.model
            assert alert["labels"]["version"] == incident.version
            assert alert["labels"]["team"] == "ml"
            assert alert["annotations"]["summary"] == incident.summary
            assert alert["generatorURL"] == f"http://vigil.example.org/incidents/{incident.id}"

        hook.release.set()
        assert outbox.wait(timeout_s=60)
        again = run_cycle(
            config=config, store=store, now=end, channels=config.build_channels(), outbox=outbox
        )  # nothing due: it records what the outbox finished, and sends nothing twice
        assert again.windows == () and again.notifications_sent == len(incidents)
        assert {k.incident_id for k in store.notifications.delivered()} == set(incidents)
        assert sorted(hook.held) == sorted(incidents)
    finally:
        hook.release.set()
        hook.server.shutdown()
        hook.server.server_close()
        store.close()


def _eventually_alerts(url: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        alerts: list[dict[str, Any]] = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
        if len(alerts) >= count or time.monotonic() > deadline:
            assert len(alerts) == count, alerts
            return alerts
        time.sleep(0.1)


class _InProcessPools:
    """Stands in for ``ProcessPoolExecutor``: records each pool's size, runs the work here."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, max_workers: int, **_options: object) -> _InProcessPools:
        self.sizes.append(max_workers)
        return self

    def __enter__(self) -> _InProcessPools:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, work: Callable[..., Any], *arguments: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(work(*arguments))
        return done


def _two_model_folders(root: Path) -> Path:
    """Three hours of rows of two models, one Hive folder each."""
    for model in ("a", "b"):
        folder = root / f"model={model}"
        folder.mkdir(parents=True)
        lines = [
            json.dumps(
                {
                    "model": model,
                    "timestamp": (START + timedelta(minutes=10 * i)).isoformat(),
                    "features": {"x": i},
                }
            )
            for i in range(18)
        ]
        (folder / "part.jsonl").write_text("\n".join(lines) + "\n")
    return root


@pytest.mark.parametrize(
    ("opened", "pools"),
    [("memory", []), ("sql-1", []), ("sql-2", [2, 2]), ("sql-3", [3, 3])],
)
def test_the_store_s_workers_setting_sizes_the_runner_s_process_pools(
    opened: str, pools: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallelism is a setting of the store (``[store] workers``) and a capability (a store
    other processes can open), not a type test: one pool to profile, one for the series."""
    recorder = _InProcessPools()
    monkeypatch.setattr(workers, "ProcessPoolExecutor", recorder)
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    store: Store = MemoryStore() if opened == "memory" else SqlStore(url, workers=int(opened[-1]))
    try:
        summary = run_cycle(
            config=parse_config({}),
            store=store,
            now=START + timedelta(hours=3),
            channels={},
            sources=[str(_two_model_folders(tmp_path / "logs"))],
        )
    finally:
        store.close()
    assert recorder.sizes == pools
    assert len(summary.windows) == 3
    assert summary.profiling is not None and summary.profiling.rows_profiled == 36
