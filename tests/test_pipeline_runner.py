"""The pipeline runner end to end on a small simulated platform, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from vigil.alert import MemoryChannel
from vigil.lab.evaluation import score_demo
from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import due_windows, run_cycle
from vigil.store import SqlStore

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
