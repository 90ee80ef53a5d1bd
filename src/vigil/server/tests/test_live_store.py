"""``vigil serve --run`` profiles in its own process: no worker pool forked from the server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from vigil.pipeline.config import parse_config
from vigil.server.live import LivePipeline
from vigil.store import SqlStore


def test_the_live_pipeline_opens_its_store_without_worker_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/vigil.db"
    default = SqlStore(url)
    try:
        assert default.workers > 1  # what vigil run gets by default
    finally:
        default.close()
    live = LivePipeline(
        config=parse_config({"store": {"url": url}}),
        spool_dir=tmp_path / "spool",
        clock=lambda: datetime(2026, 11, 20, tzinfo=UTC),
    )
    store = live.open_store(url)
    try:
        assert store.workers == 1
    finally:
        store.close()
