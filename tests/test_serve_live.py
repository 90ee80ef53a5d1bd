"""``vigil serve --run``: rows sent to the server are processed by the server itself, and until
their window closes the dashboard says how many are waiting and when they will be processed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from vigil.cli.app import app as cli
from vigil.core import Window
from vigil.pipeline.config import VigilConfig
from vigil.server import LivePipeline, ServerSettings, create_app, serve_in_background
from vigil.store import SqlStore

TOKEN = "live-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _rows(model: str, start: datetime, count: int) -> bytes:
    lines = [
        {
            "model": model,
            "version": "v1",
            "timestamp": (start + timedelta(seconds=20 * i)).isoformat(),
            "features": {"age": 30.0 + i % 7},
            "outputs": {"score": (i % 10) / 10},
        }
        for i in range(count)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@contextmanager
def _server(
    tmp_path: Path, clock: Callable[[], datetime], *, run: bool
) -> Iterator[tuple[httpx.Client, LivePipeline | None, str]]:
    """A real server in a thread; with ``run``, its lifespan starts the pipeline thread."""
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    spool = tmp_path / "spool"
    settings = ServerSettings(
        store_url=url, spool_dir=spool, token=TOKEN, clock=clock, realtime=False
    )
    live = None
    if run:
        config = VigilConfig.model_validate(
            {"store": {"url": url}, "report": {"out": str(tmp_path / "reports")}}
        )
        live = LivePipeline(config=config, spool_dir=spool, clock=clock, grace=timedelta(0))
    application = create_app(settings, live=live)
    with serve_in_background(application) as base, httpx.Client(base_url=base) as client:
        yield client, live, url


def test_rows_wait_until_their_window_closes_then_the_server_processes_them(
    tmp_path: Path,
) -> None:
    # A fixed clock half an hour before the window closes: the pipeline thread waits (in real
    # time) that long, so only the test runs cycles here.
    clock = Clock(datetime(2026, 11, 20, 10, 30, tzinfo=UTC))
    with _server(tmp_path, clock, run=True) as (client, live, url):
        assert live is not None
        _wait_for_cycle(live, after=clock.now)  # the one at start: nothing is due yet
        _wait_then_process(client, live, url, clock)


def _wait_for_cycle(live: LivePipeline, *, after: datetime) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        last = live.status().last_cycle_at
        if last is not None and last >= after:
            return
        time.sleep(0.2)
    raise AssertionError(f"no pipeline cycle at or after {after}: {live.status()}")


def _wait_then_process(client: httpx.Client, live: LivePipeline, url: str, clock: Clock) -> None:
    sent = client.post(
        "/v1/ingest", content=_rows("ranker", clock.now - timedelta(minutes=25), 60), headers=AUTH
    )
    assert sent.json()["accepted"] == 60
    page = client.get("/").text
    assert (
        "Received 60 rows since the last pipeline cycle; the next window closes at "
        "2026-11-20 11:00 UTC" in page
    )
    clock.now = datetime(2026, 11, 20, 11, 0, 5, tzinfo=UTC)
    summary = live.run_once()
    assert (
        Window(
            start=datetime(2026, 11, 20, 10, tzinfo=UTC), end=datetime(2026, 11, 20, 11, tzinfo=UTC)
        )
        in summary.windows
    )
    store = SqlStore(url)
    try:
        assert store.profiles.models() == ["ranker"]
        assert sum(r.rows for r in store.profiles.records(model="ranker")) == 60
    finally:
        store.close()
    page = client.get("/").text
    assert "Received" not in page
    assert 'data-model="ranker"' in page
    assert live.status().rows_waiting == 0 and live.status().last_cycle_windows >= 1


def test_without_run_the_dashboard_says_the_rows_wait_for_vigil_run(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 11, 20, 10, 59, tzinfo=UTC))
    with _server(tmp_path, clock, run=False) as (client, _, _):
        client.post("/v1/ingest", content=_rows("ranker", clock.now, 5), headers=AUTH)
        page = client.get("/").text
    assert "Received 5 rows; they wait in the spool until <code>vigil run</code>" in page


def test_the_server_runs_a_cycle_by_itself_when_a_window_closes(tmp_path: Path) -> None:
    """Real time, shifted so that an hour closes 15 seconds after the test starts."""
    wall = datetime.now(UTC)
    closes = Window.containing(wall, timedelta(hours=1)).end
    offset = closes - wall - timedelta(seconds=15)

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    with _server(tmp_path, clock, run=True) as (client, live, url):
        assert live is not None
        rows = _rows("eta", closes - timedelta(minutes=5), 10)
        assert client.post("/v1/ingest", content=rows, headers=AUTH).json()["accepted"] == 10
        assert clock() < closes, "the machine took over 15 s to start a server"
        _wait_for_cycle(live, after=closes)
        status = live.status()
    assert status.last_error is None and status.last_cycle_windows >= 1
    assert status.rows_waiting == 0
    store = SqlStore(url)
    try:
        assert store.profiles.models() == ["eta"]
    finally:
        store.close()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    calls: list[Any] = []

    def run(application: Any, **options: Any) -> None:
        application.state.uvicorn_options = options
        calls.append(application)

    monkeypatch.setattr(uvicorn, "run", run)
    yield calls


def test_serve_run_builds_the_pipeline_from_vigil_config(tmp_path: Path, served: list[Any]) -> None:
    config = tmp_path / "vigil.toml"
    config.write_text('[profile]\nwindow = "30m"\n')
    db = f"sqlite:///{tmp_path / 'vigil.db'}"
    base = ["serve", "--db", db, "--spool", str(tmp_path / "spool"), "--no-realtime"]
    env = {"VIGIL_TOKEN": "t", "VIGIL_CONFIG": str(config)}
    result = CliRunner().invoke(cli, [*base, "--run"], env=env)
    assert result.exit_code == 0, result.output
    assert "running the pipeline on the spool: next window closes at" in result.stdout
    live = served[0].state.live
    assert isinstance(live, LivePipeline)
    assert live.config.window == timedelta(minutes=30)
    assert live.config.store.url == db
    assert str(tmp_path / "spool") in live.sources
    plain = CliRunner().invoke(cli, base, env=env)
    assert plain.exit_code == 0 and served[1].state.live is None


def test_serve_takes_its_bounds_and_row_limits_from_vigil_config(
    tmp_path: Path, served: list[Any]
) -> None:
    """The [server] bounds and [ingest] limits of vigil.toml reach the server, and uvicorn
    runs with the protocol that closes connections whose request does not arrive in time."""
    from vigil.server.connections import deadline_protocol

    config = tmp_path / "vigil.toml"
    config.write_text(
        '[server]\nheader_timeout = "3s"\nbody_timeout = "20s"\nmax_uploads_per_client = 2\n'
        'max_models_per_request = 7\n[ingest]\nearliest = "2026-01-01"\nmax_features = 50\n'
    )
    db = f"sqlite:///{tmp_path / 'vigil.db'}"
    args = ["serve", "--db", db, "--spool", str(tmp_path / "spool"), "--no-realtime"]
    result = CliRunner().invoke(cli, args, env={"VIGIL_TOKEN": "t", "VIGIL_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    (app,) = served
    settings = app.state.settings
    assert (settings.header_timeout_s, settings.body_timeout_s) == (3.0, 20.0)
    assert (settings.max_uploads_per_client, settings.max_models_per_request) == (2, 7)
    assert settings.limits.earliest.year == 2026 and settings.limits.max_features == 50
    protocol = app.state.uvicorn_options["http"]
    assert protocol is app.state.http_protocol
    assert (
        protocol.__qualname__
        == deadline_protocol(header_timeout_s=1, body_timeout_s=1).__qualname__
    )
    bad = config.read_text().replace('"3s"', '"soon"')
    config.write_text(bad)
    refused = CliRunner().invoke(cli, args, env={"VIGIL_TOKEN": "t", "VIGIL_CONFIG": str(config)})
    assert refused.exit_code == 1 and "server.header_timeout" in refused.output
